package switching

import (
	"fmt"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestDeliveredWithout180: the called station answers 200 at once, with no
// provisional response; monitors of the calling line still see Delivered,
// then Established, in the same call (ECMA-269 §17.2).
func TestDeliveredWithout180(t *testing.T) {
	t.Parallel()
	caller, callee := phonetest.FreePort(t), phonetest.FreePort(t)
	sw := startSwitch(t, Config{Stations: []Station{
		{Extension: "1050", StaticContact: fmt.Sprintf("sip:1050@127.0.0.1:%d", caller)},
		{Extension: "1060", StaticContact: fmt.Sprintf("sip:1060@127.0.0.1:%d", callee)},
	}})
	a := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "station_autoanswer.xml", Port: caller, Calls: 1})
	b := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "station_autoanswer.xml", Port: callee, Calls: 1})
	ev := subscribe(t, sw, "1050")
	ref, err := sw.MakeCall(t.Context(), "1050", "1060")
	if err != nil {
		t.Fatal(err)
	}
	var seen []EventType
	deadline := time.After(waitTimeout)
	for len(seen) == 0 || seen[len(seen)-1] != EventEstablished {
		select {
		case e := <-ev.Events():
			if e.CallID != ref.CallID {
				t.Fatalf("event %s in call %q, want %q", e.Type, e.CallID, ref.CallID)
			}
			seen = append(seen, e.Type)
			if e.Type == EventDelivered && (e.Called != "1060" || e.State != ConnConnected) {
				t.Errorf("Delivered: called %q, 1050's state %s", e.Called, e.State)
			}
		case <-deadline:
			t.Fatalf("no Established; saw %v", seen)
		}
	}
	want := []EventType{EventInitiated, EventOriginated, EventDelivered, EventEstablished}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", seen, want)
	}
	if err := sw.Clear(t.Context(), "1050", ref.CallID); err != nil {
		t.Fatal(err)
	}
	// The called station's scenario (INVITE, 200, ACK, BYE) must complete;
	// the calling one also gets the switch's re-INVITE, which its load-test
	// scenario does not expect, so it is only stopped.
	sippWait(t, b)
	_ = a
}
