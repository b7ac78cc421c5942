package rccserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// burstHandler answers MakeCall after queueing n DigitsGenerated events
// (any event will do) with digits "0".."n-1", and MonitorStop after a
// pause, so that a BYE sent right behind it would overtake it if requests
// of a dialog were not handled in order.
type burstHandler struct{ n int }

func (b burstHandler) HandleCSTA(ctx context.Context, s *rccserver.Session, req csta.Message) (csta.Message, error) {
	switch m := req.(type) {
	case *csta.MakeCall:
		conn := csta.ConnectionID{CallID: "c1", DeviceID: m.CallingDevice}
		for i := range b.n {
			if err := s.Send(&csta.DigitsGeneratedEvent{MonitorCrossRefID: "x1", Connection: conn, DigitGeneratedList: fmt.Sprint(i)}); err != nil {
				return nil, err
			}
		}
		return &csta.MakeCallResponse{CallingDevice: conn}, nil
	case *csta.MonitorStop:
		time.Sleep(30 * time.Millisecond)
		return &csta.MonitorStopResponse{}, nil
	}
	return nil, csta.OperationError(csta.OpServiceNotSupported)
}

func makeCall(t *testing.T, c *lynctest.Client) {
	t.Helper()
	if _, _, err := c.Request(ctxT(t, 5*time.Second), &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:1"}); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedEvents: a client that answers none of our INFOs gets every
// event at once, in CSeq order, instead of one per request timeout.
func TestPipelinedEvents(t *testing.T) {
	h := start(t, harnessOpts{handler: burstHandler{n: 5}, cfg: func(c *rccserver.Config) { c.RequestTimeout = 3 * time.Second }})
	c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 0 }})
	begin := time.Now()
	makeCall(t, c)
	var last uint32
	for i := range 5 {
		ev, err := c.NextEvent(ctxT(t, time.Second))
		if err != nil {
			t.Fatalf("event %d: %v after %v", i, err, time.Since(begin))
		}
		if d := ev.Msg.(*csta.DigitsGeneratedEvent).DigitGeneratedList; d != fmt.Sprint(i) {
			t.Fatalf("event %d carries %q", i, d)
		}
		if seq := ev.Req.CSeq().SeqNo; seq <= last {
			t.Fatalf("CSeq %d after %d", seq, last)
		} else {
			last = seq
		}
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("5 unanswered events took %v", d)
	}
	// The request timeout passes: counted, and the session stays.
	deadline := time.Now().Add(6 * time.Second)
	for h.srv.Stats().Unanswered < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.Unanswered != 5 || st.EventsFailed != 5 || st.WindowFull != 0 {
		t.Fatalf("unanswered %d, failed %d, window full %d", st.Unanswered, st.EventsFailed, st.WindowFull)
	}
	if len(h.srv.Sessions()) != 1 {
		t.Fatal("session ended over unanswered events")
	}
}

// TestEventWindowFull: with a window of 2, the third unanswered INFO makes
// the server stop waiting for the first; every event still leaves at once.
func TestEventWindowFull(t *testing.T) {
	h := start(t, harnessOpts{handler: burstHandler{n: 5}, cfg: func(c *rccserver.Config) { c.EventWindow = 2 }})
	c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 0 }})
	makeCall(t, c)
	for i := range 5 {
		if _, err := c.NextEvent(ctxT(t, time.Second)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.srv.Stats().WindowFull < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.WindowFull != 3 {
		t.Fatalf("window full %d, want 3", st.WindowFull)
	}
}

// TestAnsweredEventsUnchanged: a client that answers gets the same events
// in the same order, each counted as sent (a burst within the window).
func TestAnsweredEventsUnchanged(t *testing.T) {
	const n = 30 // under the default window of 32
	h := start(t, harnessOpts{handler: burstHandler{n: n}})
	c := h.client(lynctest.Options{})
	makeCall(t, c)
	for i := range n {
		ev, err := c.NextEvent(ctxT(t, 2*time.Second))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if d := ev.Msg.(*csta.DigitsGeneratedEvent).DigitGeneratedList; d != fmt.Sprint(i) {
			t.Fatalf("event %d carries %q", i, d)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.srv.Stats().EventsSent < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.EventsSent != n || st.EventsFailed != 0 || st.WindowFull != 0 {
		t.Fatalf("sent %d failed %d window full %d", st.EventsSent, st.EventsFailed, st.WindowFull)
	}
}

// TestUnansweredKeepAliveKeepsSession: keep-alives that get no answer or a
// 408 are counted but end nothing, and never delay the next keep-alive.
func TestUnansweredKeepAliveKeepsSession(t *testing.T) {
	for name, status := range map[string]int{"unanswered": 0, "408": 408} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
				c.KeepAlive = 30 * time.Second
				c.RequestTimeout = time.Second
			}})
			c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return status }})
			waitArmed(t, clock, 30*time.Second)
			for i := range 3 {
				clock.Advance(30 * time.Second)
				if _, err := c.NextEvent(ctxT(t, time.Second)); err != nil {
					t.Fatalf("keep-alive %d: %v", i, err) // not held back by the unanswered one before
				}
			}
			deadline := time.Now().Add(3 * time.Second)
			for h.srv.Stats().Unanswered < 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if st := h.srv.Stats(); st.Unanswered != 3 || st.KeepAliveFailures != 0 {
				t.Fatalf("unanswered %d, keep-alive failures %d", st.Unanswered, st.KeepAliveFailures)
			}
			if len(h.srv.Sessions()) != 1 {
				t.Fatal("session ended over unanswered keep-alives")
			}
		})
	}
}

// TestEvent481EndsSession: a 481 to an event says the client no longer
// knows the dialog: the session ends, without a BYE.
func TestEvent481EndsSession(t *testing.T) {
	h := start(t, harnessOpts{handler: burstHandler{n: 1}})
	c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 481 }})
	makeCall(t, c)
	h.waitEnded(rccserver.ErrDialogGone, 3*time.Second)
	h.waitSessions(0, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if bye, err := c.WaitBye(ctx); err == nil {
		t.Fatalf("BYE after a 481: %v", bye)
	}
}

// TestMonitorStopThenBye: MonitorStop and BYE written back to back are
// handled in that order: the MonitorStop is answered 200, not 481.
func TestMonitorStopThenBye(t *testing.T) {
	h := start(t, harnessOpts{handler: burstHandler{}})
	for i := range 10 {
		c := h.client(lynctest.Options{})
		stop, bye, err := c.SignOut(ctxT(t, 5*time.Second), "x1")
		if err != nil {
			t.Fatal(err)
		}
		if stop.StatusCode != 200 || bye.StatusCode != 200 {
			t.Fatalf("round %d: MonitorStop %d, BYE %d", i, stop.StatusCode, bye.StatusCode)
		}
		if m, err := csta.Decode(stop.Body()); err != nil || m.Root() != "MonitorStopResponse" {
			t.Fatalf("round %d: MonitorStop answered %v %v", i, m, err)
		}
	}
	if n := h.srv.Stats().Refusals[string(rccserver.CodeUnknownDialog)]; n != 0 {
		t.Fatalf("%d Cs_UnknownDialog refusals", n)
	}
	h.waitEnded(rccserver.ErrRemoteBye, time.Second)
}

// TestStrictKeepAlive: session.strict_keepalive restores the old rule.
func TestStrictKeepAlive(t *testing.T) {
	for name, status := range map[string]int{"408": 408, "unanswered": 0} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
				c.KeepAlive = 30 * time.Second
				c.RequestTimeout = time.Second
				c.StrictKeepAlive = true
			}})
			h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return status }})
			waitArmed(t, clock, 30*time.Second)
			clock.Advance(30 * time.Second)
			h.waitEnded(rccserver.ErrKeepAliveFailed, 5*time.Second)
			h.waitSessions(0, time.Second)
			if h.srv.Stats().KeepAliveFailures != 1 {
				t.Fatalf("keep-alive failures %d", h.srv.Stats().KeepAliveFailures)
			}
		})
	}
}

// TestMonitorStopAfterBye: a MonitorStop that reaches the server just after
// the BYE of the same sign-out (a client that reuses CSeqs, or a front end
// that passes the two on in either order) is answered, not 481: ending the
// session stopped the monitor. Other requests still get 481.
func TestMonitorStopAfterBye(t *testing.T) {
	h := start(t, harnessOpts{handler: burstHandler{}})
	c := h.client(lynctest.Options{})
	ctx := ctxT(t, 5*time.Second)
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitSessions(0, time.Second)
	body, _ := csta.Encode(&csta.MonitorStop{MonitorCrossRefID: "x1"})
	res, err := c.RequestRaw(ctx, csta.ContentType, body)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := csta.Decode(res.Body()); res.StatusCode != 200 || err != nil || m.Root() != "MonitorStopResponse" {
		t.Fatalf("MonitorStop after BYE: %d %q", res.StatusCode, res.Body())
	}
	if n := h.srv.Stats().Refusals[string(rccserver.CodeUnknownDialog)]; n != 0 {
		t.Fatalf("%d Cs_UnknownDialog refusals", n)
	}
}

// TestConnectionWindow: two sessions on one connection (as behind a front
// end) share its window of awaited INFOs; past it, the second session's
// INFOs still leave at once, unawaited, and are counted.
func TestConnectionWindow(t *testing.T) {
	ua, err := lynctest.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() }) // after the server's stop: its BYEs find the clients
	h := start(t, harnessOpts{handler: burstHandler{n: 5}, cfg: func(c *rccserver.Config) {
		c.ConnectionWindow = 3
		c.RequestTimeout = 5 * time.Second
	}})
	silent := func(csta.Message) int { return 0 }
	first := h.client(lynctest.Options{UA: ua, InfoStatus: silent})
	second := h.client(lynctest.Options{UA: ua, InfoStatus: silent, User: "sip:bob@example.com"})
	for _, c := range []*lynctest.Client{first, second} {
		makeCall(t, c)
		for i := range 5 {
			if _, err := c.NextEvent(ctxT(t, time.Second)); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	}
	// first: 3 awaited, then 2 that each give up its oldest; second: the
	// connection is full and it awaits nothing, so none of its 5 is awaited.
	deadline := time.Now().Add(2 * time.Second)
	for h.srv.Stats().WindowFull < 7 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.WindowFull != 7 {
		t.Fatalf("window full %d, want 7", st.WindowFull)
	}
}

// TestInitialWindow: by default a client that answers nothing gets a burst
// of 12 events at once. With session.initial_window 8, the ninth waits for
// the oldest's 200 ms, then the session is pipelined for good; with 1 (the
// old rule) the second event waits that hold.
func TestInitialWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
		n      int
		// at: the index of the first event that waits for the hold.
		at int
	}{
		{"none", 0, 12, 12},
		{"eight", 8, 12, 8},
		{"one at a time", 1, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, harnessOpts{handler: burstHandler{n: tc.n}, cfg: func(c *rccserver.Config) { c.InitialWindow = tc.window }})
			c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 0 }})
			makeCall(t, c)
			var first time.Time
			for i := range tc.n {
				if _, err := c.NextEvent(ctxT(t, 2*time.Second)); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if i == 0 {
					first = time.Now()
				}
				d := time.Since(first)
				switch {
				case i < tc.at && d > 150*time.Millisecond:
					t.Fatalf("event %d came %v after the first: it waited", i, d)
				case i == tc.at && d < 150*time.Millisecond:
					t.Fatalf("event %d came %v after the first: the window did not hold it", i, d)
				case d > time.Second:
					t.Fatalf("event %d came %v after the first", i, d)
				}
			}
		})
	}
}
