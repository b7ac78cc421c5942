package sipedge

import (
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// lowatOf reads the socket's SO_RCVLOWAT.
func lowatOf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT) }); err != nil || gerr != nil {
		t.Fatalf("getsockopt: %v %v", err, gerr)
	}
	return v
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
	}
}

// TestCoalesceLowat: over TCP, while answers are due the edge raises the
// socket's low-water mark to their bytes and lowers it back to 1 once
// they are in; a request that comes meanwhile, smaller than the mark, is
// still read after at most the coalescing wait, not when the answers'
// window ends (an hour here).
func TestCoalesceLowat(t *testing.T) {
	var due, taken atomic.Int64
	e := New(Options{Answers: &Answers{Branch: ansPrefix,
		Take: func(*Answer) bool { taken.Add(1); due.Add(-int64(len(ourAnswer))); return true },
		Due:  func(string) (int, time.Duration) { return int(due.Load()), time.Hour },
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := e.Conn(sc)
	defer c.Close()
	got := make(chan string, 4)
	go func() { // the reader, as sipgo's
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()

	// Idle, nothing due: the kernel's default mark (0 or 1: one byte).
	if v := lowatOf(t, sc.(*net.TCPConn)); v > 1 {
		t.Fatalf("SO_RCVLOWAT %d with nothing due", v)
	}
	// Three answers due: the reader's next wait sets the mark to them.
	due.Store(3 * int64(len(ourAnswer)))
	if _, err := client.Write([]byte(req("INFO", good, ""))); err != nil {
		t.Fatal(err)
	}
	if m := <-got; !strings.HasPrefix(m, "INFO ") {
		t.Fatalf("read %q", m)
	}
	eventually(t, "mark at the answers' bytes", func() bool { return lowatOf(t, sc.(*net.TCPConn)) == 3*len(ourAnswer) })

	// A request smaller than the mark is read after the wait.
	start := time.Now()
	if _, err := client.Write([]byte(req("INFO", good, ""))); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if !strings.HasPrefix(m, "INFO ") {
			t.Fatalf("read %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request below the mark not read")
	}
	t.Logf("request read after %v (wait %v)", time.Since(start), CoalesceWait)

	// The answers come one by one: all taken, the mark back at 1.
	for range 3 {
		if _, err := client.Write([]byte(ourAnswer)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three answers taken", func() bool { return taken.Load() == 3 })
	eventually(t, "mark back at 1", func() bool { return lowatOf(t, sc.(*net.TCPConn)) == 1 })
	select {
	case m := <-got:
		t.Fatalf("an answer reached the reader: %q", m)
	default:
	}
}

// TestCoalesceNotOnPipe: a connection without a socket (here a pipe; TLS
// likewise) is read as before.
func TestCoalesceNotOnPipe(t *testing.T) {
	e := New(Options{Answers: &Answers{Branch: ansPrefix, Take: func(*Answer) bool { return true },
		Due: func(string) (int, time.Duration) { return 1 << 20, time.Hour }}})
	a, b := net.Pipe()
	defer a.Close()
	c := e.Conn(b).(*conn)
	defer c.Close()
	if c.raw != nil {
		t.Fatal("a pipe got a socket")
	}
	go func() { _, _ = a.Write([]byte(req("INFO", good, ""))) }()
	buf := make([]byte, 4096)
	if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "INFO ") {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}
