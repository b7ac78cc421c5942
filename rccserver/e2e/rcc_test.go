package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

const (
	aliceLine = "tel:+13175551010"
	bobLine   = "tel:+13175551020"
)

// until reads events, skipping others, until one of type T satisfies ok.
func until[T csta.Message](t *testing.T, c *lynctest.Client, ok func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var seen []string
	for {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			var zero T
			t.Fatalf("waiting for %T: %v (skipped %v)", zero, err, seen)
		}
		if m, is := ev.Msg.(T); is && (ok == nil || ok(m)) {
			return m
		}
		seen = append(seen, ev.Msg.Root())
	}
}

// TestRemoteCallControl drives real phones from a Lync-shaped session through
// the rccserver binary with an LDAP directory: the spine of the product.
func TestRemoteCallControl(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	a := s.phone("1010", "auto")   // alice's desk phone: goes off-hook on MakeCall
	b := s.phone("1020", "manual") // bob's phone
	c := s.phone("1030", "manual") // a third party for consultation and forwarding

	alice, status, reason := s.lync("sip:alice@example.com", aliceLine)
	if status != 200 || reason != "normal" {
		t.Fatalf("alice sign-in: %d %s", status, reason)
	}
	features := request(t, alice, &csta.GetCSTAFeatures{}).(*csta.GetCSTAFeaturesResponse)
	for _, svc := range []string{"makeCall", "holdCall", "consultationCall", "transferCall", "setForwarding", "setDoNotDisturb", "snapshotDevice"} {
		if !features.Supports(svc) {
			t.Errorf("GetCSTAFeatures lacks %s", svc)
		}
	}
	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	bob, st, _ := s.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob sign-in %d", st)
	}
	request(t, bob, &csta.MonitorStart{MonitorObject: bobLine})

	t.Run("MakeCall", func(t *testing.T) {
		resp := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine, AutoOriginate: "doNotPrompt"})
		mc, ok := resp.(*csta.MakeCallResponse)
		if !ok {
			t.Fatalf("MakeCall answered %s", resp.Root())
		}
		id := mc.CallingDevice.CallID
		if mc.CallingDevice.DeviceID != aliceLine {
			t.Fatalf("deviceID echo %q", mc.CallingDevice.DeviceID)
		}
		si := next[*csta.ServiceInitiatedEvent](t, alice)
		a.WaitEvent("CALL_ESTABLISHED") // the desk phone really went off-hook
		or := next[*csta.OriginatedEvent](t, alice)
		b.WaitEvent("CALL_INCOMING")
		de := next[*csta.DeliveredEvent](t, alice)
		b.Accept()
		b.WaitEvent("CALL_ESTABLISHED")
		es := next[*csta.EstablishedEvent](t, alice)
		for name, got := range map[string]string{"ServiceInitiated": si.InitiatedConnection.CallID, "Originated": or.OriginatedConnection.CallID,
			"Delivered": de.Connection.CallID, "Established": es.EstablishedConnection.CallID} {
			if got != id {
				t.Errorf("%s callID %q, want the MakeCall's %q", name, got, id)
			}
		}
		for _, x := range []string{si.MonitorCrossRefID, or.MonitorCrossRefID, de.MonitorCrossRefID, es.MonitorCrossRefID} {
			if x != xref {
				t.Errorf("monitorCrossRefID %q, want %q", x, xref)
			}
		}
		if si.InitiatingDevice.DeviceIdentifier != aliceLine || de.CalledDevice.DeviceIdentifier != bobLine {
			t.Errorf("devices: initiating %q called %q", si.InitiatingDevice.DeviceIdentifier, de.CalledDevice.DeviceIdentifier)
		}

		snap := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
		if n := len(snap.SnapshotData.Items); n != 1 || snap.SnapshotData.Items[0].ConnectionIdentifier.CallID != id ||
			snap.SnapshotData.Items[0].LocalCallState.Compound[0] != csta.LCSConnected {
			t.Fatalf("snapshot during the call: %+v", snap.SnapshotData.Items)
		}

		if _, ok := request(t, alice, &csta.HoldCall{CallToBeHeld: csta.ConnectionID{CallID: id, DeviceID: aliceLine}}).(*csta.HoldCallResponse); !ok {
			t.Fatal("HoldCall refused")
		}
		if h := next[*csta.HeldEvent](t, alice); h.HeldConnection.CallID != id || h.LocalConnectionInfo != csta.LCSHold {
			t.Fatalf("HeldEvent %+v", h)
		}
		if _, ok := request(t, alice, &csta.RetrieveCall{CallToBeRetrieved: csta.ConnectionID{CallID: id, DeviceID: aliceLine}}).(*csta.RetrieveCallResponse); !ok {
			t.Fatal("RetrieveCall refused")
		}
		if r := next[*csta.RetrievedEvent](t, alice); r.RetrievedConnection.CallID != id {
			t.Fatalf("RetrievedEvent %+v", r)
		}

		// Bob, signed in on his own line, may not touch alice's call.
		got := request(t, bob, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: aliceLine}})
		if e, ok := got.(*csta.CSTAErrorCode); !ok || e.Value != csta.OpPrivilegeViolationSpecifiedDevice {
			t.Fatalf("bob clearing alice's call: %v", got)
		}

		if _, ok := request(t, alice, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: aliceLine}}).(*csta.ClearConnectionResponse); !ok {
			t.Fatal("ClearConnection refused")
		}
		until(t, alice, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.DeviceID == aliceLine })
		b.WaitEvent("CALL_CLOSED")
	})

	t.Run("IncomingAnsweredAtPhone", func(t *testing.T) {
		// Alice's handset calls bob's line; bob's client gets the toast
		// (DeliveredEvent, alerting) and bob answers at his phone.
		a.Dial("1020")
		b.WaitEvent("CALL_INCOMING")
		de := until(t, bob, func(e *csta.DeliveredEvent) bool { return e.LocalConnectionInfo == csta.LCSAlerting })
		if de.AlertingDevice.DeviceIdentifier != bobLine || de.CallingDevice.DeviceIdentifier != aliceLine {
			t.Fatalf("incoming DeliveredEvent %+v", de)
		}
		b.Accept()
		b.WaitEvent("CALL_ESTABLISHED")
		es := until[*csta.EstablishedEvent](t, bob, nil)
		if es.EstablishedConnection.CallID != de.Connection.CallID || es.AnsweringDevice.DeviceIdentifier != bobLine {
			t.Fatalf("EstablishedEvent %+v after Delivered on %q", es, de.Connection.CallID)
		}
		a.Hangup()
		until(t, bob, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.DeviceID == bobLine })
		b.WaitEvent("CALL_CLOSED")
	})

	t.Run("DoNotDisturb", func(t *testing.T) {
		request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(true)})
		if e := until[*csta.DoNotDisturbEvent](t, alice, nil); !e.DoNotDisturbOn {
			t.Fatal("DND event says off")
		}
		b.Dial("1010")
		b.WaitEvent("CALL_CLOSED") // refused by the switch
		if _, err := a.WaitEventTimeout("CALL_INCOMING", 500*time.Millisecond); err == nil {
			t.Fatal("alice's phone rang despite do-not-disturb")
		}
		request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(false)})
		until(t, alice, func(e *csta.DoNotDisturbEvent) bool { return !e.DoNotDisturbOn })
	})

	t.Run("ForwardImmediate", func(t *testing.T) {
		request(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardImmediate, ActivateForward: csta.Bool(true), ForwardDN: "tel:+13175551030"})
		fe := until[*csta.ForwardingEvent](t, alice, nil)
		if !fe.ForwardStatus || fe.ForwardingType != csta.ForwardImmediate || fe.ForwardTo != "tel:+13175551030" {
			t.Fatalf("ForwardingEvent %+v", fe)
		}
		got := request(t, alice, &csta.GetForwarding{Device: aliceLine}).(*csta.GetForwardingResponse)
		if len(got.ForwardingList) == 0 {
			t.Fatal("GetForwarding empty")
		}
		b.Dial("1010")
		c.WaitEvent("CALL_INCOMING") // the call went to carol's phone
		c.Accept()
		c.WaitEvent("CALL_ESTABLISHED")
		b.Hangup()
		c.WaitEvent("CALL_CLOSED")
		request(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardImmediate, ActivateForward: csta.Bool(false)})
		until(t, alice, func(e *csta.ForwardingEvent) bool { return !e.ForwardStatus })
	})

	t.Run("ConsultationTransfer", func(t *testing.T) {
		id := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse).CallingDevice.CallID
		b.WaitEvent("CALL_INCOMING")
		b.Accept()
		until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })
		resp := request(t, alice, &csta.ConsultationCall{ExistingCall: csta.ConnectionID{CallID: id, DeviceID: aliceLine}, ConsultedDevice: "tel:+13175551030"})
		cc, ok := resp.(*csta.ConsultationCallResponse)
		if !ok {
			t.Fatalf("ConsultationCall answered %v", resp)
		}
		until(t, alice, func(e *csta.HeldEvent) bool { return e.HeldConnection.CallID == id })
		c.WaitEvent("CALL_INCOMING")
		c.Accept()
		until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == cc.InitiatedCall.CallID })
		if _, ok := request(t, alice, &csta.TransferCall{HeldCall: csta.ConnectionID{CallID: id, DeviceID: aliceLine},
			ActiveCall: cc.InitiatedCall}).(*csta.TransferCallResponse); !ok {
			t.Fatal("TransferCall refused")
		}
		until[*csta.TransferedEvent](t, alice, nil)
		// Bob and carol now talk to each other; hanging up one ends the other.
		b.Hangup()
		c.WaitEvent("CALL_CLOSED")
	})

	t.Run("BadInputKeepsSessionsWorking", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := alice.RequestRaw(ctx, csta.ContentType, []byte("<MakeCall><callingDevice>"))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("malformed INFO: %v %v", res, err)
		}
		if e, err := csta.Decode(res.Body()); err != nil || e.Root() != "CSTAErrorCode" {
			t.Fatalf("malformed INFO answer %s", res.Body())
		}
		forged := request(t, alice, &csta.MonitorStop{MonitorCrossRefID: "00000000"})
		if e, ok := forged.(*csta.CSTAErrorCode); !ok || e.Value != csta.OpInvalidMonitorCrossRefID {
			t.Fatalf("forged monitor: %v", forged)
		}
		if _, ok := request(t, alice, &csta.GetDoNotDisturb{Device: aliceLine}).(*csta.GetDoNotDisturbResponse); !ok {
			t.Fatal("session broken after bad input")
		}
	})
}

// TestRefusals: each admission refusal of docs/troubleshooting.md "What the client receives" end to end.
func TestRefusals(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	if _, st, r := s.lync("sip:alice@example.com", aliceLine); st != 200 || r != "normal" {
		t.Fatalf("alice: %d %s", st, r)
	}
	for _, tc := range []struct {
		user, line string
		status     int
		code       string
	}{
		{"sip:eve@example.com", aliceLine, 403, "Cs_StationInUseByAnotherUser"},
		{"sip:mallory@example.com", "tel:+13175551040", 403, "Cs_NoClientLicense"},
		{"sip:nobody@example.com", "tel:+13175551099", 403, "Cs_UserNotFound"},
		{"sip:carol@example.com", "tel:+13175551030", 403, "Cs_UserNotFound"},
	} {
		if _, st, r := s.lync(tc.user, tc.line); st != tc.status || r != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.user, st, r, tc.status, tc.code)
		}
	}
}

// TestNoFeatureLicense: without I3_FEATURE_LYNC the server answers
// systemStatus disabled.
func TestNoFeatureLicense(t *testing.T) {
	s := startSite(t, "")
	if _, st, r := s.lync("sip:alice@example.com", aliceLine); st != 200 || r != "disabled" {
		t.Fatalf("alice without feature licence: %d %s", st, r)
	}
}
