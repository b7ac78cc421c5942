package switching

import (
	"testing"
)

func twoStations() Config {
	return Config{Stations: []Station{
		{Extension: "1010", Password: "secret10"},
		{Extension: "1020", Password: "secret20"},
		{Extension: "1030", Password: "secret30"},
	}}
}

// TestMakeCallStationToStation: MakeCall 1010 -> 1020 with two baresip
// phones; both report an established call, the switch reports the events
// with one call ID, and hanging up clears both.
func TestMakeCallStationToStation(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea, eb := subscribe(t, sw, "1010"), subscribe(t, sw, "1020")

	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	id := ref.CallID
	next(t, ea, EventInitiated, inCall(id))
	a.WaitEvent("CALL_ESTABLISHED")
	next(t, ea, EventOriginated, inCall(id))
	b.WaitEvent("CALL_INCOMING")
	next(t, ea, EventDelivered, inCall(id), about("1020"))
	next(t, eb, EventDelivered, inCall(id), func(e Event) bool { return e.State == ConnAlerting })
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	next(t, ea, EventEstablished, inCall(id), about("1020"))
	next(t, eb, EventEstablished, inCall(id), func(e Event) bool { return e.State == ConnConnected })

	snap, err := sw.Snapshot("1010")
	if err != nil || len(snap) != 1 || snap[0].CallID != id || snap[0].State != ConnConnected {
		t.Fatalf("Snapshot(1010) = %+v, %v", snap, err)
	}

	a.Hangup()
	b.WaitEvent("CALL_CLOSED")
	next(t, eb, EventCleared, inCall(id), about("1010"))
	next(t, eb, EventCleared, inCall(id), about("1020"), func(e Event) bool { return e.State == ConnNull })
	waitFor(t, "no calls", func() bool { s, _ := sw.Snapshot("1020"); return len(s) == 0 })
}
