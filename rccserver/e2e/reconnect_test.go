package e2e_test

import (
	"testing"

	"github.com/rccserver/rccserver/csta"
)

// TestReconnectAndTwoEndpoints: a user signed in from two endpoints gets
// every event on both; after the client's dialog dies, a new sign-in's
// SnapshotDevice shows the call really in progress, and once the call has
// ended while nobody was signed in, no ghost of it remains.
func TestReconnectAndTwoEndpoints(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	a := s.phone("1010", "auto")
	b := s.phone("1020", "manual")

	first, st, _ := s.lync("sip:alice@example.com", aliceLine)
	second, st2, _ := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 || st2 != 200 {
		t.Fatalf("two endpoints: %d %d", st, st2)
	}
	x1 := request(t, first, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	x2 := request(t, second, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	if x1 == x2 {
		t.Fatalf("both monitors got cross-ref %q", x1)
	}
	id := request(t, first, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse).CallingDevice.CallID
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	for name, cl := range map[string]string{x1: "first", x2: "second"} {
		client := first
		if cl == "second" {
			client = second
		}
		es := until(t, client, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })
		if es.MonitorCrossRefID != name {
			t.Fatalf("%s endpoint: event for monitor %q, want %q", cl, es.MonitorCrossRefID, name)
		}
	}

	// Both dialogs die (the client's connections drop); the call goes on.
	_ = first.Close()
	_ = second.Close()
	again, st, _ := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("sign-in after the drop: %d", st)
	}
	snap := request(t, again, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
	if len(snap.SnapshotData.Items) != 1 || snap.SnapshotData.Items[0].ConnectionIdentifier.CallID != id {
		t.Fatalf("snapshot after reconnect: %+v, want call %s", snap.SnapshotData.Items, id)
	}

	// The call ends while the client is gone again.
	_ = again.Close()
	b.Hangup()
	a.WaitEvent("CALL_CLOSED")
	last, st, _ := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("final sign-in: %d", st)
	}
	snap = request(t, last, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
	if len(snap.SnapshotData.Items) != 0 {
		t.Fatalf("ghost call after it ended: %+v", snap.SnapshotData.Items)
	}
}
