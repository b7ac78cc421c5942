package switching

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestAnswerMethods: Answer makes a ringing SIPp phone go off-hook by each
// answer method; the SIPp scenario checks the request it gets.
func TestAnswerMethods(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method   AnswerMethod
		scenario string
		calls    int
	}{
		{AnswerTalkEvent, "station_talk.xml", 1},
		{AnswerUACSTA, "station_uacsta.xml", 1},
		{AnswerAutoAnswerReoffer, "station_reoffer.xml", 2},
	} {
		t.Run(tc.method.String(), func(t *testing.T) {
			t.Parallel()
			port := phonetest.FreePort(t)
			cfg := twoStations()
			cfg.Stations = append(cfg.Stations, Station{
				Extension: "1040", AnswerMethod: tc.method, StaticContact: fmt.Sprintf("sip:1040@127.0.0.1:%d", port),
			})
			sw := startSwitch(t, cfg)
			s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + tc.scenario, Port: port, Calls: tc.calls})
			a := phone(t, sw, "1010", "secret10", "auto")
			ea := subscribe(t, sw, "1010")
			ref, err := sw.MakeCall(t.Context(), "1010", "1040")
			if err != nil {
				t.Fatal(err)
			}
			next(t, ea, EventDelivered, inCall(ref.CallID), about("1040"))
			if err := sw.Answer(t.Context(), "1040", ref.CallID); err != nil {
				t.Fatalf("Answer: %v", err)
			}
			next(t, ea, EventEstablished, inCall(ref.CallID), about("1040"))
			a.Hangup()
			next(t, ea, EventCleared, inCall(ref.CallID), about("1010"))
			sippWait(t, s)
		})
	}
}

// TestAnswerNone: a station that cannot be answered remotely gets
// ErrAnswerNotSupported; answering at the handset still works.
func TestAnswerNone(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	eb := subscribe(t, sw, "1020")
	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	b.WaitEvent("CALL_INCOMING")
	next(t, eb, EventDelivered, inCall(ref.CallID))
	if err := sw.Answer(t.Context(), "1020", ref.CallID); !errors.Is(err, ErrAnswerNotSupported) {
		t.Fatalf("Answer = %v, want ErrAnswerNotSupported", err)
	}
	if err := sw.Answer(t.Context(), "1020", "nope"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("Answer(unknown call) = %v", err)
	}
	if err := sw.Answer(t.Context(), "9999", ref.CallID); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("Answer(unknown device) = %v", err)
	}
	b.Accept()
	next(t, eb, EventEstablished, inCall(ref.CallID), about("1020"))
	a.WaitEvent("CALL_ESTABLISHED")
	if err := sw.Answer(t.Context(), "1020", ref.CallID); !errors.Is(err, ErrInvalidState) {
		t.Errorf("Answer(connected) = %v, want ErrInvalidState", err)
	}
	b.Hangup()
	a.WaitEvent("CALL_CLOSED")
}
