package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory/ldaptest"
)

// TestReloadStationsLive: while alice talks to bob, a reload adds a
// station (1050) with a new phone and a user (erin) for it, and removes
// station 1030 with its user dave, who is signed in. Without a restart:
// the new phone registers, erin signs in and places a call; dave's session
// is ended with a reason; alice's call and session are untouched.
func TestReloadStationsLive(t *testing.T) {
	ad := func(sam, line string) ldaptest.User {
		return ldaptest.User{SAMAccountName: sam, UPN: sam + "@example.com", SIPAddress: "sip:" + sam + "@example.com",
			Line: line, LineServer: "sip:rcc@rcc.example.com", DisplayName: sam, OptionFlags: 16}
	}
	const erinLine, daveLine = "tel:+13175551050", "tel:+13175551030"
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", adUsers: []ldaptest.User{ad("erin", erinLine), ad("dave", daveLine)}})
	a := s.phone("1010", "auto")
	b := s.phone("1020", "manual")
	d := s.phone("1040", "manual")

	alice, st, _ := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice: %d", st)
	}
	request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine})
	dave, st, _ := s.lync("sip:dave@example.com", daveLine)
	if st != 200 {
		t.Fatalf("dave: %d", st)
	}
	if _, st, r := s.lync("sip:erin@example.com", erinLine); st != 403 {
		t.Fatalf("erin before the reload: %d %s, want 403", st, r)
	}

	// alice's call is up before the reload.
	id := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse).CallingDevice.CallID
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })

	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(cfg), "\n") {
		if strings.Contains(line, "id: dave,") || strings.Contains(line, `name: "1030"`) {
			continue // dave and his station go
		}
		out = append(out, line)
		switch line {
		case "users:":
			out = append(out, `  - {id: erin, display_name: erin, domain_account: 'EXAMPLE\erin', extension: "1050", client_license: true, user_type: RemoteCallControl}`)
		case "stations:":
			out = append(out, `  - {name: "1050", extension: "1050", identification_address: "tel:+13175551050", connection: {kind: registered, username: "1050", password: demo-1050}, answer_method: talkEvent, active: true}`)
		}
	}
	if err := os.WriteFile(s.config, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := exec.Command(binary(t), "-reload", "-config", s.config).CombinedOutput()
	if err != nil {
		t.Fatalf("rccserver -reload: %v\n%s", err, rep)
	}
	for _, want := range []string{"station 1030 removed", "station 1050 added", "login ended: dave on 1030"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("-reload output lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(string(rep), "needs a restart") {
		t.Errorf("-reload wants a restart for a station change:\n%s", rep)
	}

	// dave's session was ended by the server, with the login's reason in the log.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dave.WaitBye(ctx); err != nil {
		t.Fatalf("dave's session not ended after his station was removed: %v", err)
	}

	// The new phone registers and the new user places a call, no restart.
	e := s.phone("1050", "auto")
	erin, st, r := s.lync("sip:erin@example.com", erinLine)
	if st != 200 || r != "normal" {
		t.Fatalf("erin after the reload: %d %s", st, r)
	}
	request(t, erin, &csta.MonitorStart{MonitorObject: erinLine})
	resp := request(t, erin, &csta.MakeCall{CallingDevice: erinLine, CalledDirectoryNumber: "tel:+13175551040"})
	eid, ok := resp.(*csta.MakeCallResponse)
	if !ok {
		t.Fatalf("erin's MakeCall: %v", resp)
	}
	e.WaitEvent("CALL_ESTABLISHED")
	d.WaitEvent("CALL_INCOMING")
	d.Accept()
	d.WaitEvent("CALL_ESTABLISHED")
	until(t, erin, func(ev *csta.EstablishedEvent) bool {
		return ev.EstablishedConnection.CallID == eid.CallingDevice.CallID
	})

	// alice's call went on through all this: neither phone closed it, the
	// switch still has it connected, and her session still answers.
	quiet(t, a, "CALL_CLOSED", 300*time.Millisecond)
	quiet(t, b, "CALL_CLOSED", 10*time.Millisecond)
	snap := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
	if len(snap.SnapshotData.Items) != 1 || snap.SnapshotData.Items[0].ConnectionIdentifier.CallID != id ||
		snap.SnapshotData.Items[0].LocalCallState.Compound[0] != csta.LCSConnected {
		t.Fatalf("alice's call after the reload: %+v", snap.SnapshotData.Items)
	}
	request(t, alice, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: aliceLine}})
	b.WaitEvent("CALL_CLOSED")
	e.Hangup()
	d.WaitEvent("CALL_CLOSED")
}
