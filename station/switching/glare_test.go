package switching

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// TestGlareWait: the 491 retry waits RFC 3261 §14.1's ranges in 10 ms units.
func TestGlareWait(t *testing.T) {
	for _, tc := range []struct {
		owner    bool
		min, max time.Duration
	}{
		{true, 2100 * time.Millisecond, 4 * time.Second},
		{false, 0, 2 * time.Second},
	} {
		for range 1000 {
			d := glareWait(tc.owner)
			if d < tc.min || d > tc.max || d%(10*time.Millisecond) != 0 {
				t.Fatalf("owner=%v: %v outside [%v, %v] in 10 ms units", tc.owner, d, tc.min, tc.max)
			}
		}
	}
}

const glareSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

// glarePhone is a device that answers every re-INVITE 491 until told
// otherwise, then 200 with SDP; it counts the INVITE transactions and ACKs
// it got. It is a bare UDP socket: no sipgo user agent whose shutdown races
// with the switch's retransmissions.
type glarePhone struct {
	addr    string
	invites atomic.Int32
	acks    atomic.Int32
	accept  atomic.Bool
}

func startGlarePhone(t *testing.T) *glarePhone {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &glarePhone{addr: pc.LocalAddr().String()}
	host, port, _ := sip.ParseAddr(p.addr)
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "1020", Host: host, Port: port}}
	served := make(chan struct{})
	go func() {
		defer close(served)
		answered := map[string][]byte{} // by Via branch: retransmissions get the same answer
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg, err := sip.ParseMessage(buf[:n])
			req, ok := msg.(*sip.Request)
			if err != nil || !ok {
				continue
			}
			switch req.Method {
			case sip.ACK:
				p.acks.Add(1)
				continue
			case sip.INVITE:
			default:
				continue
			}
			branch, _ := req.Via().Params.Get("branch")
			out, seen := answered[branch]
			if !seen {
				p.invites.Add(1)
				res := sip.NewResponseFromRequest(req, sip.StatusRequestPending, "Request Pending", nil)
				if p.accept.Load() {
					res = sip.NewResponseFromRequest(req, sip.StatusOK, "OK", []byte(glareSDP))
					ct := sip.ContentTypeHeader("application/sdp")
					res.AppendHeader(&ct)
					res.AppendHeader(contact)
				}
				out = []byte(res.String())
				answered[branch] = out
			}
			_, _ = pc.WriteTo(out, from)
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-served
	})
	return p
}

// glareLeg is a confirmed UAC leg of sw to the phone, as after MakeCall.
func glareLeg(sw *Switch, p *glarePhone) *leg {
	host, port, _ := sip.ParseAddr(p.addr)
	target := sip.Uri{Scheme: "sip", User: "1020", Host: host, Port: port}
	l := sw.newUACLeg("1020", target, sw.sipURI("1010"), sw.sipURI("1020"), "UDP", p.addr)
	l.remoteTag, l.confirmed = "phone", true
	return l
}

// serving waits until the switch's UDP listener answers an OPTIONS: the
// switch's own requests go out from it, which sipgo allows only once it
// serves.
func serving(t *testing.T, sw *Switch) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	me := pc.LocalAddr().String()
	ping := "OPTIONS sip:switch@" + udpAddr(sw) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + me + ";branch=z9hG4bK-ping\r\n" +
		"From: <sip:test@127.0.0.1>;tag=ping\r\nTo: <sip:switch@127.0.0.1>\r\n" +
		"Call-ID: ping-" + me + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := pc.WriteTo([]byte(ping), sw.Addr("udp")); err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 4096)
	if _, _, err := pc.ReadFrom(buf); err != nil {
		t.Fatalf("no answer to OPTIONS: %v", err)
	}
}

// waitRetry waits until the re-INVITE running into done armed its retry.
func waitRetry(t *testing.T, ctx context.Context, clk *clock.Fake, done <-chan error) {
	t.Helper()
	armed := make(chan bool, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { armed <- clk.WaitTimers(wctx, 1) }()
	select {
	case ok := <-armed:
		if !ok {
			t.Fatal("no retry armed after the 491")
		}
	case err := <-done:
		t.Fatalf("re-INVITE ended before its retry: %v", err)
	}
}

// TestReInviteGlare: a re-INVITE answered 491 is retried once after the
// wait of RFC 3261 §14.1 for the Call-ID's owner, measured on the switch's
// clock (a fake: the test never waits for real time), and the wait ends
// with the caller's context.
func TestReInviteGlare(t *testing.T) {
	t.Parallel()
	p, p2 := startGlarePhone(t), startGlarePhone(t)
	clk := newFakeClock()
	cfg := twoStations()
	cfg.Clock = clk
	sw := startSwitch(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	serving(t, sw)

	l := glareLeg(sw, p)
	done := make(chan error, 1)
	go func() {
		_, err := l.reInvite(ctx, []byte(glareSDP))
		done <- err
	}()
	waitRetry(t, ctx, clk, done)
	armed := clk.Armed()
	if len(armed) != 1 || armed[0] < 2100*time.Millisecond || armed[0] > 4*time.Second {
		t.Fatalf("retry armed %v, want one wait of 2.1-4 s (we chose the Call-ID)", armed)
	}
	if n := p.invites.Load(); n != 1 {
		t.Fatalf("%d INVITEs before the wait ended, want 1", n)
	}
	p.accept.Store(true)
	clk.Advance(4 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("re-INVITE after the retry: %v", err)
	}
	if n := p.invites.Load(); n != 2 {
		t.Fatalf("%d INVITEs, want 2", n)
	}

	// The caller gives up during the wait: no second INVITE.
	l2 := glareLeg(sw, p2)
	ctx2, cancel2 := context.WithCancel(ctx)
	go func() {
		_, err := l2.reInvite(ctx2, []byte(glareSDP))
		done <- err
	}()
	waitRetry(t, ctx, clk, done)
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrSIP) {
		t.Fatalf("re-INVITE cancelled during the wait: %v, want ErrSIP wrapping context.Canceled", err)
	}
	if n := p2.invites.Load(); n != 1 {
		t.Fatalf("%d INVITEs after the cancel, want 1", n)
	}
}
