package switching

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/sipedge"
	"github.com/rccserver/rccserver/rccserver/sipedge/sipedgetest"
)

// FuzzPhoneHandlers drives arbitrary bytes through the edge's checks and
// sipgo's parser into the phones' request handlers, in-process: no input
// may panic (caught at the boundary as Cs_InternalError, which fails the
// target), hang a handler, or go unanswered.
func FuzzPhoneHandlers(f *testing.F) {
	// Not startSwitch: its test-writer logger may not be used inside a fuzz target.
	sw, err := New(Config{Domain: "switch.test", SetupTimeout: time.Second,
		Listen:   []Listener{{Network: "udp", Addr: "127.0.0.1:0"}},
		Stations: []Station{{Extension: "1010", Password: "demo-1010"}, {Extension: "1020", Password: "demo-1020"}}}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sw.Serve(context.Background()) }()
	f.Cleanup(func() { _ = sw.Close(); <-done })
	req := func(method, extra, body string) []byte {
		return []byte(method + " sip:1020@switch.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5998;branch=z9hG4bK" + method +
			"\r\nFrom: <sip:1010@switch.test>;tag=ph\r\nTo: <sip:1020@switch.test>\r\nCall-ID: ph-" + method + "\r\nCSeq: 1 " + method +
			"\r\nContact: <sip:1010@127.0.0.1:5998>\r\nMax-Forwards: 70\r\n" + extra + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	f.Add(req("REGISTER", "Expires: 60\r\n", ""))
	f.Add(req("REGISTER", `Authorization: Digest username="1010", realm="switch.test", nonce="x", uri="sip:switch.test", response="00"`+"\r\n", ""))
	f.Add(req("INVITE", "Content-Type: application/sdp\r\n", sdp))
	f.Add(req("BYE", "", ""))
	f.Add(req("INFO", "Content-Type: application/dtmf-relay\r\n", "Signal=1\r\nDuration=100\r\n"))
	f.Add(req("NOTIFY", "Event: talk\r\n", ""))
	f.Add(req("OPTIONS", "", ""))
	f.Add(req("CANCEL", "", ""))
	f.Add(req("ACK", "", ""))
	f.Fuzz(func(t *testing.T, data []byte) {
		if code, _ := sw.edge.Check(data, false); code != "" {
			return // refused and answered by the edge
		}
		m, err := sw.edge.Parser().ParseSIP(data)
		if err != nil {
			t.Fatalf("the edge passed what sipgo cannot parse: %v", err)
		}
		r, ok := m.(*sip.Request)
		if !ok {
			return
		}
		r.SetSource("127.0.0.1:5998")
		r.SetTransport("UDP")
		h := sw.handlers[r.Method]
		if h == nil {
			return
		}
		tx := sipedgetest.NewTx()
		before := sw.refusals.get(codeInternal)
		done := make(chan struct{})
		go func() { h(r, tx); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("handler for %s did not return", r.Method)
		}
		if sw.refusals.get(codeInternal) != before {
			t.Fatalf("a handler panicked on %s", sipedge.Excerpt(data))
		}
		if r.Method != sip.ACK && len(tx.Responses()) == 0 {
			t.Fatalf("%s left unanswered: %s", r.Method, sipedge.Excerpt(data))
		}
	})
}
