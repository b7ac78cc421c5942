package switching

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestHoldRollsBack: the held station refuses its re-INVITE (488): Hold
// fails with that status, the other party (a real baresip phone) is
// re-INVITEd back to sendrecv, and no EventHeld is published: the model
// and both phones stay in the call as it was.
func TestHoldRollsBack(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	cfg := twoStations()
	cfg.Stations = append(cfg.Stations, Station{
		Extension: "1040", AnswerMethod: AnswerNone, StaticContact: fmt.Sprintf("sip:1040@127.0.0.1:%d", port),
	})
	sw := startSwitch(t, cfg)
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "station_refuse_hold.xml", Port: port})
	a := phone(t, sw, "1010", "secret10", "auto")
	ea := subscribe(t, sw, "1010")
	ref, err := sw.MakeCall(t.Context(), "1010", "1040")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1040"))
	a.WaitEvent("CALL_ESTABLISHED")
	a.Settle(200 * time.Millisecond)

	err = sw.Hold(t.Context(), "1040", ref.CallID)
	if code, ok := SIPStatus(err); !ok || code != 488 || !errors.Is(err, ErrSIP) {
		t.Fatalf("Hold = %v, want the station's 488", err)
	}
	if errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("rollback failed: %v", err)
	}
	a.WaitEvent("CALL_REMOTE_SDP") // held: sendonly
	a.WaitEvent("CALL_REMOTE_SDP") // rolled back: sendrecv
	if st := stateOf(sw, "1040", ref.CallID); st != ConnConnected {
		t.Fatalf("1040 is %s after the failed hold, want connected", st)
	}
	if ev, err := nextErr(ea, EventHeld, 300*time.Millisecond); err == nil {
		t.Fatalf("EventHeld published for a hold that failed: %+v", ev)
	}
	a.Hangup()
	next(t, ea, EventCleared, inCall(ref.CallID), about("1010"))
	sippWait(t, s)
}

// TestRetrieveRollsBack: the station accepts the hold but refuses the
// retrieve re-INVITE (488): Retrieve fails with that status, the other
// party (baresip) is put back on hold, and the connection stays held with
// no EventRetrieved.
func TestRetrieveRollsBack(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	cfg := twoStations()
	cfg.Stations = append(cfg.Stations, Station{
		Extension: "1040", AnswerMethod: AnswerNone, StaticContact: fmt.Sprintf("sip:1040@127.0.0.1:%d", port),
	})
	sw := startSwitch(t, cfg)
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "station_refuse_retrieve.xml", Port: port})
	a := phone(t, sw, "1010", "secret10", "auto")
	ea := subscribe(t, sw, "1010")
	ref, err := sw.MakeCall(t.Context(), "1010", "1040")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1040"))
	a.WaitEvent("CALL_ESTABLISHED")
	if err := sw.Hold(t.Context(), "1040", ref.CallID); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	next(t, ea, EventHeld, inCall(ref.CallID), about("1040"))
	a.Settle(200 * time.Millisecond)

	err = sw.Retrieve(t.Context(), "1040", ref.CallID)
	if code, ok := SIPStatus(err); !ok || code != 488 || errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("Retrieve = %v, want the station's 488 and a rollback", err)
	}
	a.WaitEvent("CALL_REMOTE_SDP") // retrieve: sendrecv
	a.WaitEvent("CALL_REMOTE_SDP") // rolled back: on hold again
	if st := stateOf(sw, "1040", ref.CallID); st != ConnHeld {
		t.Fatalf("1040 is %s after the failed retrieve, want held", st)
	}
	if ev, err := nextErr(ea, EventRetrieved, 300*time.Millisecond); err == nil {
		t.Fatalf("EventRetrieved published for a retrieve that failed: %+v", ev)
	}
	a.Hangup()
	next(t, ea, EventCleared, inCall(ref.CallID), about("1010"))
	sippWait(t, s)
}
