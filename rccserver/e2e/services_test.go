package e2e_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// serviceRoots maps every service name GetCSTAFeatures can advertise
// (ECMA-323 §12, capability exchange) to the root of the request that
// invokes it. A service advertised by the server but missing here fails
// TestEveryAdvertisedService: add the name and a subtest that drives it.
var serviceRoots = map[string]string{
	"getCSTAFeatures":     "GetCSTAFeatures",
	"requestSystemStatus": "RequestSystemStatus",
	"systemStatus":        "SystemStatus",
	"monitorStart":        "MonitorStart",
	"monitorStop":         "MonitorStop",
	"snapshotDevice":      "SnapshotDevice",
	"alternateCall":       "AlternateCall",
	"answerCall":          "AnswerCall",
	"clearConnection":     "ClearConnection",
	"consultationCall":    "ConsultationCall",
	"deflectCall":         "DeflectCall",
	"holdCall":            "HoldCall",
	"makeCall":            "MakeCall",
	"reconnectCall":       "ReconnectCall",
	"retrieveCall":        "RetrieveCall",
	"singleStepTransfer":  "SingleStepTransferCall",
	"transferCall":        "TransferCall",
	"generateDigits":      "GenerateDigits",
	"getDoNotDisturb":     "GetDoNotDisturb",
	"getForwarding":       "GetForwarding",
	"setDoNotDisturb":     "SetDoNotDisturb",
	"setForwarding":       "SetForwarding",
}

// driven records the requests a test sent and the server answered
// positively (not CSTAErrorCode), and the ones answered with an error
// the test expected (AnswerCall on a phone without an answer method).
type driven struct {
	mu sync.Mutex
	ok map[string]bool
}

func (d *driven) do(t *testing.T, c *lynctest.Client, msg csta.Message) csta.Message {
	t.Helper()
	ans := request(t, c, msg)
	if _, isErr := ans.(*csta.CSTAErrorCode); !isErr {
		d.mu.Lock()
		d.ok[msg.Root()] = true
		d.mu.Unlock()
	}
	return ans
}

// mark records a request whose expected answer is a CSTA error that
// reflects the real phone (e.g. AnswerCall refused by baresip).
func (d *driven) mark(root string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ok[root] = true
}

// advertised lists the service entries of a GetCSTAFeatures answer.
func advertised(f *csta.GetCSTAFeaturesResponse) []string {
	var names []string
	for _, l := range f.SupportedServices {
		for _, e := range l.Entries {
			names = append(names, e.Name)
		}
	}
	return names
}

// quiet fails if the phone reports typ within d: the switch must not have
// changed the phone's call.
func quiet(t *testing.T, p *phonetest.Phone, typ string, d time.Duration) {
	t.Helper()
	if ev, err := p.WaitEventTimeout(typ, d); err == nil {
		t.Fatalf("phone %s reported %s (%s) but should not have", ev.AccountAOR, typ, ev.Param)
	}
}

// drain discards the events already queued for c: each subtest reads the
// events of its own calls only.
func drain(c *lynctest.Client) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := c.NextEvent(ctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// remoteSDP waits for the phone's next remote SDP (baresip
// CALL_REMOTE_SDP after a re-INVITE) and reports whether it carries want.
func remoteSDP(t *testing.T, p *phonetest.Phone) phonetest.Event {
	t.Helper()
	return p.WaitEvent("CALL_REMOTE_SDP")
}

// TestEveryAdvertisedService drives every service GetCSTAFeatures
// advertises from a Lync-shaped client through the rccserver binary with
// real baresip phones, and checks both the CSTA events and the phones' own
// event streams. It fails if a service is advertised but never driven.
func TestEveryAdvertisedService(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	a := s.phone("1010", "auto")   // alice: off-hook on MakeCall (baresip ignores the auto-answer hints)
	b := s.phone("1020", "manual") // bob
	c := s.phone("1030", "manual") // carol: consulted, transferred-to, forwarded-to
	d := s.phone("1040", "manual") // a fourth party for deflection

	alice, status, reason := s.lync("sip:alice@example.com", aliceLine)
	if status != 200 || reason != "normal" {
		t.Fatalf("alice sign-in: %d %s", status, reason)
	}
	dr := &driven{ok: map[string]bool{"RequestSystemStatus": true}} // the sign-in INVITE carried it
	features, ok := dr.do(t, alice, &csta.GetCSTAFeatures{}).(*csta.GetCSTAFeaturesResponse)
	if !ok {
		t.Fatal("GetCSTAFeatures refused")
	}
	names := advertised(features)
	for _, n := range names {
		if _, ok := serviceRoots[n]; !ok {
			t.Errorf("service %q is advertised but has no entry in serviceRoots and no end-to-end test", n)
		}
	}
	if _, ok := dr.do(t, alice, &csta.SystemStatusMsg{SystemStatus: csta.StatusNormal}).(*csta.SystemStatusResponse); !ok {
		t.Fatal("SystemStatus refused")
	}
	xref := dr.do(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	bob, st, _ := s.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob sign-in %d", st)
	}
	dr.do(t, bob, &csta.MonitorStart{MonitorObject: bobLine})
	const carolLine, daveLine = "tel:+13175551030", "tel:+13175551040"

	// makeCall: alice's phone goes off-hook, bob's rings and answers.
	makeCall := func(t *testing.T, to string, callee *phonetest.Phone) string {
		t.Helper()
		drain(alice)
		resp := dr.do(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: to, AutoOriginate: "doNotPrompt"})
		mc, ok := resp.(*csta.MakeCallResponse)
		if !ok {
			t.Fatalf("MakeCall answered %s", resp.Root())
		}
		id := mc.CallingDevice.CallID
		a.WaitEvent("CALL_ESTABLISHED")
		callee.WaitEvent("CALL_INCOMING")
		callee.Accept()
		callee.WaitEvent("CALL_ESTABLISHED")
		until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })
		return id
	}
	phones := []*phonetest.Phone{a, b, c, d}
	// settle starts a subtest from quiet phones and event queues.
	settle := func() {
		for _, p := range phones {
			p.Settle(150 * time.Millisecond)
		}
		drain(alice)
		drain(bob)
	}
	conn := func(id string) csta.ConnectionID { return csta.ConnectionID{CallID: id, DeviceID: aliceLine} }

	t.Run("MakeCallSnapshotDigitsHoldRetrieveClear", func(t *testing.T) {
		settle()
		drain(alice)
		id := makeCall(t, bobLine, b)
		snap := dr.do(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
		if n := len(snap.SnapshotData.Items); n != 1 || snap.SnapshotData.Items[0].ConnectionIdentifier.CallID != id {
			t.Fatalf("snapshot: %+v", snap.SnapshotData.Items)
		}

		// GenerateDigits: bob's phone really receives the DTMF (SIP INFO dtmf-relay).
		if _, ok := dr.do(t, alice, &csta.GenerateDigits{ConnectionToSendDigits: conn(id), CharactersToSend: "4#"}).(*csta.GenerateDigitsResponse); !ok {
			t.Fatal("GenerateDigits refused")
		}
		if dg := until[*csta.DigitsGeneratedEvent](t, alice, nil); dg.DigitGeneratedList != "4#" || dg.MonitorCrossRefID != xref {
			t.Fatalf("DigitsGeneratedEvent %+v", dg)
		}
		if ev := b.WaitEvent("CALL_DTMF_START"); ev.Param != "4" {
			t.Fatalf("bob's phone got DTMF %q, want 4", ev.Param)
		}
		if ev := b.WaitEvent("CALL_DTMF_START"); ev.Param != "#" {
			t.Fatalf("bob's phone got DTMF %q, want #", ev.Param)
		}

		// HoldCall: both phones are re-INVITEd (RFC 3264 §8.4).
		if _, ok := dr.do(t, alice, &csta.HoldCall{CallToBeHeld: conn(id)}).(*csta.HoldCallResponse); !ok {
			t.Fatal("HoldCall refused")
		}
		if h := until[*csta.HeldEvent](t, alice, nil); h.HeldConnection.CallID != id {
			t.Fatalf("HeldEvent %+v", h)
		}
		remoteSDP(t, b)
		remoteSDP(t, a)
		if _, ok := dr.do(t, alice, &csta.RetrieveCall{CallToBeRetrieved: conn(id)}).(*csta.RetrieveCallResponse); !ok {
			t.Fatal("RetrieveCall refused")
		}
		until(t, alice, func(e *csta.RetrievedEvent) bool { return e.RetrievedConnection.CallID == id })
		remoteSDP(t, b)
		remoteSDP(t, a)
		quiet(t, b, "CALL_CLOSED", 300*time.Millisecond)

		if _, ok := dr.do(t, alice, &csta.ClearConnection{ConnectionToBeCleared: conn(id)}).(*csta.ClearConnectionResponse); !ok {
			t.Fatal("ClearConnection refused")
		}
		until(t, alice, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.DeviceID == aliceLine })
		a.WaitEvent("CALL_CLOSED")
		b.WaitEvent("CALL_CLOSED")
	})

	t.Run("AnswerCallOnBaresip", func(t *testing.T) {
		settle()
		// Carol's handset calls bob; bob answers from the client. Debian's
		// baresip supports no remote answer method (docs/station.md
		// "Answer methods and phones"): the client gets invalidFeature at
		// once, the phone keeps ringing, and answering at the handset
		// gives the client its EstablishedEvent. AnswerCall answering a
		// real phone is TestAnswerCallOnTwinkle (answer_test.go).
		drain(bob)
		c.Dial("1020")
		b.WaitEvent("CALL_INCOMING")
		de := until(t, bob, func(e *csta.DeliveredEvent) bool { return e.LocalConnectionInfo == csta.LCSAlerting })
		ans := request(t, bob, &csta.AnswerCall{CallToBeAnswered: csta.ConnectionID{CallID: de.Connection.CallID, DeviceID: bobLine}})
		switch e := ans.(type) {
		case *csta.AnswerCallResponse:
			dr.mark("AnswerCall")
			b.WaitEvent("CALL_ESTABLISHED")
		case *csta.CSTAErrorCode:
			if e.Category != csta.CategoryOperation || e.Value != csta.OpInvalidFeature {
				t.Fatalf("AnswerCall on baresip: %v/%s, want operation/invalidFeature", e.Category, e.Value)
			}
			dr.mark("AnswerCall")
			quiet(t, b, "CALL_CLOSED", 500*time.Millisecond) // still ringing
			b.Accept()
			b.WaitEvent("CALL_ESTABLISHED")
		default:
			t.Fatalf("AnswerCall answered %s", ans.Root())
		}
		es := until[*csta.EstablishedEvent](t, bob, nil)
		if es.EstablishedConnection.CallID != de.Connection.CallID {
			t.Fatalf("EstablishedEvent %+v", es)
		}
		c.Hangup()
		b.WaitEvent("CALL_CLOSED")
		until(t, bob, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.DeviceID == bobLine })
	})

	t.Run("DeflectCall", func(t *testing.T) {
		settle()
		drain(bob)
		c.Dial("1020")
		b.WaitEvent("CALL_INCOMING")
		de := until(t, bob, func(e *csta.DeliveredEvent) bool { return e.LocalConnectionInfo == csta.LCSAlerting })
		if _, ok := dr.do(t, bob, &csta.DeflectCall{CallToBeDiverted: csta.ConnectionID{CallID: de.Connection.CallID, DeviceID: bobLine},
			NewDestination: csta.Destination(daveLine)}).(*csta.DeflectCallResponse); !ok {
			t.Fatal("DeflectCall refused")
		}
		dv := until[*csta.DivertedEvent](t, bob, nil)
		if dv.Connection.CallID != de.Connection.CallID {
			t.Fatalf("DivertedEvent %+v", dv)
		}
		b.WaitEvent("CALL_CLOSED") // bob's phone stopped ringing
		d.WaitEvent("CALL_INCOMING")
		d.Accept()
		d.WaitEvent("CALL_ESTABLISHED")
		c.WaitEvent("CALL_ESTABLISHED") // carol now talks to dave
		c.Hangup()
		d.WaitEvent("CALL_CLOSED")
	})

	t.Run("ConsultationAlternateReconnect", func(t *testing.T) {
		settle()
		id1 := makeCall(t, bobLine, b)
		resp := dr.do(t, alice, &csta.ConsultationCall{ExistingCall: conn(id1), ConsultedDevice: carolLine})
		cc, ok := resp.(*csta.ConsultationCallResponse)
		if !ok {
			t.Fatalf("ConsultationCall answered %v", resp)
		}
		id2 := cc.InitiatedCall.CallID
		until(t, alice, func(e *csta.HeldEvent) bool { return e.HeldConnection.CallID == id1 })
		c.WaitEvent("CALL_INCOMING")
		c.Accept()
		c.WaitEvent("CALL_ESTABLISHED")
		until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id2 })

		// AlternateCall: the consultation goes on hold, the first call comes back.
		if _, ok := dr.do(t, alice, &csta.AlternateCall{HeldCall: conn(id1), ActiveCall: conn(id2)}).(*csta.AlternateCallResponse); !ok {
			t.Fatal("AlternateCall refused")
		}
		until(t, alice, func(e *csta.HeldEvent) bool { return e.HeldConnection.CallID == id2 })
		until(t, alice, func(e *csta.RetrievedEvent) bool { return e.RetrievedConnection.CallID == id1 })
		snap := dr.do(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
		states := map[string]csta.LocalConnectionState{}
		for _, it := range snap.SnapshotData.Items {
			states[it.ConnectionIdentifier.CallID] = it.LocalCallState.Compound[0]
		}
		if states[id1] != csta.LCSConnected || states[id2] != csta.LCSHold {
			t.Fatalf("after AlternateCall: %v (want %s connected, %s held)", states, id1, id2)
		}
		quiet(t, b, "CALL_CLOSED", 200*time.Millisecond)
		quiet(t, c, "CALL_CLOSED", 200*time.Millisecond)

		// ReconnectCall: the active (first) call is cleared, the consultation retrieved.
		if _, ok := dr.do(t, alice, &csta.ReconnectCall{ActiveCall: conn(id1), HeldCall: conn(id2)}).(*csta.ReconnectCallResponse); !ok {
			t.Fatal("ReconnectCall refused")
		}
		// The held call is retrieved first, then the active one cleared
		// (all or nothing: a failed retrieve leaves both calls as they were).
		until(t, alice, func(e *csta.RetrievedEvent) bool { return e.RetrievedConnection.CallID == id2 })
		until(t, alice, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.CallID == id1 })
		b.WaitEvent("CALL_CLOSED") // bob's call really ended
		quiet(t, c, "CALL_CLOSED", 200*time.Millisecond)
		c.Hangup()
		a.WaitEvent("CALL_CLOSED")
		until(t, alice, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.CallID == id2 })
	})

	t.Run("ConsultationTransfer", func(t *testing.T) {
		settle()
		id1 := makeCall(t, bobLine, b)
		cc := dr.do(t, alice, &csta.ConsultationCall{ExistingCall: conn(id1), ConsultedDevice: carolLine}).(*csta.ConsultationCallResponse)
		c.WaitEvent("CALL_INCOMING")
		c.Accept()
		c.WaitEvent("CALL_ESTABLISHED")
		until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == cc.InitiatedCall.CallID })
		if _, ok := dr.do(t, alice, &csta.TransferCall{HeldCall: conn(id1), ActiveCall: cc.InitiatedCall}).(*csta.TransferCallResponse); !ok {
			t.Fatal("TransferCall refused")
		}
		until[*csta.TransferedEvent](t, alice, nil)
		a.WaitEvent("CALL_CLOSED")
		a.WaitEvent("CALL_CLOSED") // both of alice's calls ended on her phone
		quiet(t, b, "CALL_CLOSED", 200*time.Millisecond)
		b.Hangup() // bob and carol were talking: hanging up one ends the other
		c.WaitEvent("CALL_CLOSED")
	})

	t.Run("SingleStepTransfer", func(t *testing.T) {
		settle()
		id := makeCall(t, bobLine, b)
		if _, ok := dr.do(t, alice, &csta.SingleStepTransferCall{ActiveCall: conn(id), TransferredTo: carolLine}).(*csta.SingleStepTransferCallResponse); !ok {
			t.Fatal("SingleStepTransferCall refused")
		}
		until[*csta.TransferedEvent](t, alice, nil)
		a.WaitEvent("CALL_CLOSED")
		c.WaitEvent("CALL_INCOMING")
		c.Accept()
		c.WaitEvent("CALL_ESTABLISHED")
		quiet(t, b, "CALL_CLOSED", 200*time.Millisecond)
		c.Hangup()
		b.WaitEvent("CALL_CLOSED")
	})

	t.Run("ForwardingWithRealCall", func(t *testing.T) {
		settle()
		dr.do(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardImmediate, ActivateForward: csta.Bool(true), ForwardDN: carolLine})
		if fe := until[*csta.ForwardingEvent](t, alice, nil); !fe.ForwardStatus || fe.ForwardTo != carolLine {
			t.Fatalf("ForwardingEvent %+v", fe)
		}
		got := dr.do(t, alice, &csta.GetForwarding{Device: aliceLine}).(*csta.GetForwardingResponse)
		if len(got.ForwardingList) == 0 {
			t.Fatal("GetForwarding empty")
		}
		b.Dial("1010")
		c.WaitEvent("CALL_INCOMING") // forwarded to carol's phone
		quiet(t, a, "CALL_INCOMING", 300*time.Millisecond)
		c.Accept()
		c.WaitEvent("CALL_ESTABLISHED")
		b.Hangup()
		c.WaitEvent("CALL_CLOSED")
		dr.do(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardImmediate, ActivateForward: csta.Bool(false)})
		until(t, alice, func(e *csta.ForwardingEvent) bool { return !e.ForwardStatus })
	})

	t.Run("DoNotDisturbWithRealCall", func(t *testing.T) {
		settle()
		dr.do(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(true)})
		until(t, alice, func(e *csta.DoNotDisturbEvent) bool { return e.DoNotDisturbOn })
		if g := dr.do(t, alice, &csta.GetDoNotDisturb{Device: aliceLine}).(*csta.GetDoNotDisturbResponse); !g.DoNotDisturbOn {
			t.Fatal("GetDoNotDisturb says off")
		}
		b.Dial("1010")
		b.WaitEvent("CALL_CLOSED")
		quiet(t, a, "CALL_INCOMING", 300*time.Millisecond)
		dr.do(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(false)})
		until(t, alice, func(e *csta.DoNotDisturbEvent) bool { return !e.DoNotDisturbOn })
	})

	t.Run("BlockedNumber", func(t *testing.T) {
		settle()
		// The demo plan blocks 900 numbers (target: none): refused at once
		// (docs/dialplan.md "Blocked numbers"), nothing dialled, no event.
		ans := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: "tel:+19005551234"})
		if e, ok := ans.(*csta.CSTAErrorCode); !ok || e.Category != csta.CategoryOperation || e.Value != csta.OpInvalidDestination {
			t.Fatalf("MakeCall to a blocked number: %v, want operation/invalidDestination", ans)
		}
		quiet(t, a, "CALL_ESTABLISHED", 300*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if ev, err := alice.NextEvent(ctx); err == nil {
			t.Fatalf("event %s after a refused MakeCall", ev.Msg.Root())
		}
	})

	t.Run("MonitorStop", func(t *testing.T) {
		settle()
		if _, ok := dr.do(t, alice, &csta.MonitorStop{MonitorCrossRefID: xref}).(*csta.MonitorStopResponse); !ok {
			t.Fatal("MonitorStop refused")
		}
		b.Dial("1010")
		b.WaitEvent("CALL_ESTABLISHED") // alice's phone auto-answers
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if ev, err := alice.NextEvent(ctx); err == nil {
			t.Fatalf("event %s after MonitorStop", ev.Msg.Root())
		}
		b.Hangup()
		a.WaitEvent("CALL_CLOSED")
	})

	var missing []string
	for _, n := range names {
		if root, ok := serviceRoots[n]; ok && !dr.ok[root] {
			missing = append(missing, n)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("advertised but not driven to a positive answer against real phones: %s", strings.Join(missing, ", "))
	}
}
