package switching

import (
	"errors"
	"testing"
)

// TestAddRemoveStation: stations added at run time are devices like any
// other; a duplicate is refused, and removal is refused while in a call.
func TestAddRemoveStation(t *testing.T) {
	sw := startSwitch(t, twoStations())
	remote := Station{Extension: "remote-14155550100", StaticContact: "sip:14155550100@127.0.0.1:9;transport=udp", AnswerMethod: AnswerNone}
	if err := sw.AddStation(remote); err != nil {
		t.Fatal(err)
	}
	if err := sw.AddStation(remote); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := sw.AddStation(Station{Extension: "1010"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("existing configured station: %v", err)
	}
	if err := sw.AddStation(Station{Extension: "x", StaticContact: "not a uri"}); err == nil {
		t.Fatal("bad static contact accepted")
	}
	sub, err := sw.Subscribe(remote.Extension)
	if err != nil {
		t.Fatalf("Subscribe to an added station: %v", err)
	}
	sub.Close()
	if err := sw.SetDND(remote.Extension, true); err != nil {
		t.Fatalf("SetDND on an added station: %v", err)
	}
	if calls, err := sw.Snapshot(remote.Extension); err != nil || len(calls) != 0 {
		t.Fatalf("Snapshot: %v %v", calls, err)
	}
	if err := sw.RemoveStation(remote.Extension); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Subscribe(remote.Extension); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("Subscribe after removal: %v", err)
	}
	if err := sw.RemoveStation(remote.Extension); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("second removal: %v", err)
	}
}

// TestUpdateStation: a changed answer method keeps the phone's
// registration; changed credentials drop it until the phone registers
// again; removing a station drops its registration too.
func TestUpdateStation(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	phone(t, sw, "1020", "secret20", "manual")
	if err := sw.UpdateStation(Station{Extension: "1020", Password: "secret20", AnswerMethod: AnswerUACSTA}); err != nil {
		t.Fatal(err)
	}
	if st, _ := sw.station("1020"); st.AnswerMethod != AnswerUACSTA || !sw.Registered("1020") {
		t.Fatalf("after an answer-method change: %s, registered %v", st.AnswerMethod, sw.Registered("1020"))
	}
	if err := sw.UpdateStation(Station{Extension: "1020", Password: "changed", AnswerMethod: AnswerUACSTA}); err != nil {
		t.Fatal(err)
	}
	if sw.Registered("1020") {
		t.Fatal("registration kept after a password change")
	}
	if err := sw.UpdateStation(Station{Extension: "1099", Password: "x"}); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("unknown station: %v", err)
	}
	if err := sw.UpdateStation(Station{Extension: "1020", Username: "1010", Password: "x"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("another station's username: %v", err)
	}
	phone(t, sw, "1010", "secret10", "manual")
	if err := sw.RemoveStation("1010"); err != nil {
		t.Fatal(err)
	}
	if sw.Registered("1010") {
		t.Fatal("registration kept after removal")
	}
}
