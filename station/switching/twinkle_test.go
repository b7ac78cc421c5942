package switching

import (
	"strings"
	"testing"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestAnswerTwinkle: a real twinkle-console phone rings; Answer with
// autoAnswerReoffer cancels the ringing INVITE and, once the phone has
// answered it 487, offers the call again with Call-Info answer-after=0,
// which twinkle's incoming-call script answers at once. The call is
// established with twinkle's own SDP answer.
func TestAnswerTwinkle(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.Stations = append(cfg.Stations, Station{Extension: "1040", Password: "secret40", AnswerMethod: AnswerAutoAnswerReoffer})
	sw := startSwitch(t, cfg)
	tw := phonetest.StartTwinkle(t, phonetest.TwinkleOptions{User: "1040", Password: "secret40", Registrar: udpAddr(sw)})
	waitFor(t, "registration of 1040", func() bool { return sw.Registered("1040") })
	a := phone(t, sw, "1010", "secret10", "auto")
	ea, ew := subscribe(t, sw, "1010"), subscribe(t, sw, "1040")
	ref, err := sw.MakeCall(t.Context(), "1010", "1040")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ew, EventDelivered, inCall(ref.CallID), func(e Event) bool { return e.State == ConnAlerting })
	tw.WaitOutput("Line 1: incoming call")
	if err := sw.Answer(t.Context(), "1040", ref.CallID); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1040"))
	next(t, ew, EventEstablished, inCall(ref.CallID), func(e Event) bool { return e.State == ConnConnected })
	a.WaitEvent("CALL_ESTABLISHED")

	// Twinkle got the re-offer with the hint and answered it 200 with SDP
	// (its log is written a little later).
	waitFor(t, "twinkle's log of the answered re-offer", func() bool {
		var reoffer, answered bool
		for _, m := range tw.SIPMessages(false) {
			if strings.HasPrefix(m, "INVITE ") && strings.Contains(m, "answer-after=0") {
				reoffer = true
			}
		}
		for _, m := range tw.SIPMessages(true) {
			if strings.HasPrefix(m, "SIP/2.0 200 OK") && strings.Contains(m, " INVITE\n") &&
				strings.Contains(m, "application/sdp") && strings.Contains(m, "m=audio ") {
				answered = true
			}
		}
		return reoffer && answered
	})

	a.Hangup()
	next(t, ew, EventCleared, inCall(ref.CallID))
	tw.WaitOutput("far end ended call")
}
