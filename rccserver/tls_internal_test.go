package rccserver

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestTLSListenerHandshakeSlots: with every handshake slot taken by silent
// clients, a further connection is closed at once with its reason, and
// Close interrupts the pending handshakes.
func TestTLSListenerHandshakeSlots(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuilder{}
	g := newGuard(nil, zerolog.New(logs), &counters{})
	const slots = 4
	l := newTLSListener(raw, &tls.Config{}, time.Minute, slots, g, &boundListener{transport: "TLS"})
	defer l.Close()
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			_ = c.Close()
		}
	}()
	for range slots {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	extra, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection over the limit: %v, want EOF", err)
	}
	if g.handshakeFailures.Load() != 1 {
		t.Fatalf("TLSFailures %d", g.handshakeFailures.Load())
	}
	if out := logs.String(); !strings.Contains(out, `"reason":"too_many_handshakes"`) {
		t.Fatalf("log: %s", out)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing interrupted every pending handshake: the silent clients see EOF.
	_ = silent[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent[0].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("pending handshake after Close: %v", err)
	}
}

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
