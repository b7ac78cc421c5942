package rccserver_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
)

// BenchmarkEventINFO: the server's cost per event INFO, from Session.Send
// (CSTA encode, queue) to the INFO written and its 200 matched, for one
// session held by SIPp over loopback TCP, which answers every INFO (-aa;
// examples/sipp/keepalive/rcc_hold.xml). SIPp runs in its own process, so
// allocs/op are the server's alone (the Go runtime counts every goroutine
// of this process): the encode, the writer, the answer's parse by sipgo
// and its match (docs/performance.md, "Event latency"). Events go out in
// bursts of 8, the initial window, each burst answered before the next.
func BenchmarkEventINFO(b *testing.B) {
	h := start(b, harnessOpts{cfg: func(c *rccserver.Config) { c.ShutdownTimeout = 100 * time.Millisecond }})
	holdWithSIPp(b, h, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // the ACK: events may leave
	s := h.srv.Sessions()[0]
	ev := &csta.DeliveredEvent{MonitorCrossRefID: "7f3a2c19", Connection: csta.ConnectionID{CallID: "c0a80101-2b", DeviceID: "tel:+13175551020"},
		AlertingDevice: csta.Device("tel:+13175551020"), CallingDevice: csta.Device("tel:+13175551010"), CalledDevice: csta.Device("tel:+13175551020"),
		LastRedirectionDevice: csta.NotRequired(), LocalConnectionInfo: csta.LCSConnected, Cause: csta.CauseNewCall}
	const burst = 8
	sent0 := h.srv.EventsSentCount()
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	for i := range b.N {
		if err := s.Send(ev); err != nil {
			b.Fatal(err)
		}
		if (i+1)%burst == 0 || i == b.N-1 {
			want := sent0 + int64(i+1)
			for h.srv.EventsSentCount() < want {
				if time.Since(began) > time.Minute {
					b.Fatalf("%d of %d events answered", h.srv.EventsSentCount()-sent0, i+1)
				}
				runtime.Gosched()
			}
		}
	}
	b.StopTimer()
	if st := h.srv.Stats(); st.EventsFailed != 0 || st.Unanswered != 0 {
		b.Fatalf("failed %d, unanswered %d", st.EventsFailed, st.Unanswered)
	}
}
