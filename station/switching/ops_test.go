package switching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

const sippDir = "testdata/sipp/"

// establish places MakeCall a -> b and answers at b; it returns the call ID.
func establish(t *testing.T, sw *Switch, a, b *phonetest.Phone, from, to string) string {
	t.Helper()
	ref, err := sw.MakeCall(t.Context(), from, to)
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	waitFor(t, "call established at "+to, func() bool { return stateOf(sw, to, ref.CallID) == ConnConnected })
	waitFor(t, "caller leg connected", func() bool { return stateOf(sw, from, ref.CallID) == ConnConnected })
	return ref.CallID
}

func stateOf(sw *Switch, ext, callID string) ConnState {
	calls, _ := sw.Snapshot(ext)
	for _, c := range calls {
		if c.CallID == callID {
			return c.State
		}
	}
	return ConnNull
}

func withTrunk(cfg Config, port int, transport string) Config {
	cfg.Trunk = &Trunk{Addr: fmt.Sprintf("127.0.0.1:%d", port), Transport: transport}
	return cfg
}

func sippWait(t *testing.T, s *phonetest.SIPp) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatalf("sipp: %v", err)
	}
}

// TestInboundTrunkCallAnsweredAtHandset: SIPp as the PSTN calls station
// 1020 through the trunk; the phone rings and is answered at the handset;
// the PSTN hangs up.
func TestInboundTrunkCallAnsweredAtHandset(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	sw := startSwitch(t, withTrunk(twoStations(), port, "udp"))
	b := phone(t, sw, "1020", "secret20", "manual")
	eb := subscribe(t, sw, "1020")
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "trunk_uac.xml", Remote: udpAddr(sw), Port: port, Service: "1020"})

	b.WaitEvent("CALL_INCOMING")
	ev := next(t, eb, EventDelivered, about("1020"))
	if ev.Calling != "+13175550000" || ev.State != ConnAlerting {
		t.Errorf("delivered = %+v", ev)
	}
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	next(t, eb, EventEstablished, inCall(ev.CallID), about("1020"))
	b.WaitEvent("CALL_CLOSED") // the PSTN side hung up
	next(t, eb, EventCleared, inCall(ev.CallID), about("+13175550000"))
	next(t, eb, EventCleared, inCall(ev.CallID), about("1020"))
	sippWait(t, s)
}

// TestHoldRetrieveClear: hold and retrieve by the switch and at the
// handset, then Clear from the switch.
func TestHoldRetrieveClear(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea, eb := subscribe(t, sw, "1010"), subscribe(t, sw, "1020")
	id := establish(t, sw, a, b, "1010", "1020")

	if err := sw.Hold(t.Context(), "1010", id); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	next(t, eb, EventHeld, inCall(id), about("1010"))
	if st := stateOf(sw, "1010", id); st != ConnHeld {
		t.Fatalf("1010 state after Hold = %s", st)
	}
	if err := sw.Hold(t.Context(), "1010", id); err == nil {
		t.Errorf("second Hold succeeded")
	}
	if err := sw.Retrieve(t.Context(), "1010", id); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	next(t, eb, EventRetrieved, inCall(id), about("1010"))

	b.Hold() // at the handset: a re-INVITE sendonly through the switch
	next(t, ea, EventHeld, inCall(id), about("1020"))
	b.Resume()
	next(t, ea, EventRetrieved, inCall(id), about("1020"))

	if err := sw.Clear(t.Context(), "1020", id); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")
	next(t, ea, EventCleared, inCall(id), about("1010"))
	if err := sw.Clear(t.Context(), "1020", id); err == nil {
		t.Errorf("Clear of a cleared call succeeded")
	}
}

// TestConsultTransfer: 1010 talks to 1020, consults 1030, transfers:
// 1020 and 1030 end up talking in the first call.
func TestConsultTransfer(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	c := phone(t, sw, "1030", "secret30", "manual")
	eb, ec := subscribe(t, sw, "1020"), subscribe(t, sw, "1030")
	id1 := establish(t, sw, a, b, "1010", "1020")

	ref2, err := sw.Consult(t.Context(), "1010", id1, "1030")
	if err != nil {
		t.Fatalf("Consult: %v", err)
	}
	next(t, eb, EventHeld, inCall(id1), about("1010"))
	a.WaitEvent("CALL_ESTABLISHED")
	c.WaitEvent("CALL_INCOMING")
	c.Accept()
	c.WaitEvent("CALL_ESTABLISHED")
	next(t, ec, EventEstablished, inCall(ref2.CallID), about("1030"))

	if err := sw.Transfer(t.Context(), "1010", id1, ref2.CallID); err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	ev := next(t, eb, EventTransferred, inCall(id1), about("1010"))
	if ev.SecondaryCallID != ref2.CallID {
		t.Errorf("transferred = %+v", ev)
	}
	next(t, ec, EventTransferred, inCall(id1))
	a.WaitEvent("CALL_CLOSED")
	a.WaitEvent("CALL_CLOSED")
	snap, _ := sw.Snapshot("1020")
	if len(snap) != 1 || snap[0].CallID != id1 || len(snap[0].Connections) != 2 || snap[0].Connections[1].Device != "1030" {
		t.Fatalf("after transfer 1020 sees %+v", snap)
	}
	c.Hangup()
	b.WaitEvent("CALL_CLOSED")
	next(t, eb, EventCleared, inCall(id1), about("1020"))
}

// TestDeflect: a trunk call ringing at 1020 is deflected to 1030.
func TestDeflect(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	sw := startSwitch(t, withTrunk(twoStations(), port, "udp"))
	b := phone(t, sw, "1020", "secret20", "manual")
	c := phone(t, sw, "1030", "secret30", "manual")
	eb, ec := subscribe(t, sw, "1020"), subscribe(t, sw, "1030")
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "trunk_uac.xml", Remote: udpAddr(sw), Port: port, Service: "1020"})

	b.WaitEvent("CALL_INCOMING")
	ev := next(t, eb, EventDelivered, about("1020"))
	if err := sw.Deflect(t.Context(), "1020", ev.CallID, "1030"); err != nil {
		t.Fatalf("Deflect: %v", err)
	}
	d := next(t, eb, EventDiverted, inCall(ev.CallID), about("1020"))
	if d.DivertedTo != "1030" || d.Cause != CauseDeflected {
		t.Errorf("diverted = %+v", d)
	}
	b.WaitEvent("CALL_CLOSED")
	c.WaitEvent("CALL_INCOMING")
	next(t, ec, EventDelivered, inCall(ev.CallID), about("1030"))
	c.Accept()
	next(t, ec, EventEstablished, inCall(ev.CallID), about("1030"))
	c.WaitEvent("CALL_CLOSED")
	sippWait(t, s)
}

// TestForwardImmediate: 1020 forwards everything to 1030.
func TestForwardImmediate(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	c := phone(t, sw, "1030", "secret30", "manual")
	eb := subscribe(t, sw, "1020")
	if err := sw.SetForwarding("1020", ForwardImmediate, true, "1030"); err != nil {
		t.Fatal(err)
	}
	f := next(t, eb, EventForwarding)
	if len(f.Forwarding) != 1 || !f.Forwarding[0].On || f.Forwarding[0].Destination != "1030" {
		t.Errorf("forwarding event = %+v", f)
	}
	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	a.WaitEvent("CALL_ESTABLISHED")
	c.WaitEvent("CALL_INCOMING")
	d := next(t, eb, EventDiverted, inCall(ref.CallID))
	if d.Cause != CauseForwardImmediate || d.DivertedTo != "1030" {
		t.Errorf("diverted = %+v", d)
	}
	c.Accept()
	c.WaitEvent("CALL_ESTABLISHED")
	a.Hangup()
	c.WaitEvent("CALL_CLOSED")
}

// TestDNDRefusesCall: do-not-disturb at 1020 fails the call with 480.
func TestDNDRefusesCall(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea, eb := subscribe(t, sw, "1010"), subscribe(t, sw, "1020")
	if err := sw.SetDND("1020", true); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, eb, EventDND); !ev.DND {
		t.Errorf("dnd event = %+v", ev)
	}
	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	f := next(t, ea, EventFailed, inCall(ref.CallID))
	if f.Cause != CauseDoNotDisturb || f.Subject != "1020" {
		t.Errorf("failed = %+v", f)
	}
	a.WaitEvent("CALL_CLOSED")
	if _, err := b.WaitEventTimeout("CALL_INCOMING", 300*time.Millisecond); err == nil {
		t.Errorf("1020 rang despite DND")
	}
}

// TestFarEndBusy: the trunk answers 486; the call fails with CauseBusy.
func TestFarEndBusy(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	sw := startSwitch(t, withTrunk(twoStations(), port, "udp"))
	a := phone(t, sw, "1010", "secret10", "auto")
	ea := subscribe(t, sw, "1010")
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "trunk_busy.xml", Port: port})
	ref, err := sw.MakeCall(t.Context(), "1010", "+4930123456")
	if err != nil {
		t.Fatal(err)
	}
	f := next(t, ea, EventFailed, inCall(ref.CallID))
	if f.Cause != CauseBusy || f.Subject != "+4930123456" {
		t.Errorf("failed = %+v", f)
	}
	next(t, ea, EventCleared, inCall(ref.CallID), about("1010"))
	a.WaitEvent("CALL_CLOSED")
	sippWait(t, s)
}

// TestTrunkDown: nothing listens at the trunk's TCP address.
func TestTrunkDown(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, withTrunk(twoStations(), phonetest.FreePort(t), "tcp"))
	a := phone(t, sw, "1010", "secret10", "auto")
	ea := subscribe(t, sw, "1010")
	ref, err := sw.MakeCall(t.Context(), "1010", "5550100")
	if err != nil {
		t.Fatal(err)
	}
	f := next(t, ea, EventFailed, inCall(ref.CallID))
	if f.Cause != CauseTrunkDown {
		t.Errorf("failed = %+v", f)
	}
	a.WaitEvent("CALL_CLOSED")
}

// TestNoAnswerTimeout: 1020 rings and nobody answers.
func TestNoAnswerTimeout(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.NoAnswerTimeout = 1500 * time.Millisecond
	sw := startSwitch(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea := subscribe(t, sw, "1010")
	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	b.WaitEvent("CALL_INCOMING")
	f := next(t, ea, EventFailed, inCall(ref.CallID))
	if f.Cause != CauseNoAnswer {
		t.Errorf("failed = %+v", f)
	}
	b.WaitEvent("CALL_CLOSED")
	a.WaitEvent("CALL_CLOSED")
}

// TestPhoneVanishes: 1020 loses power mid-call; its registration expires
// and the call is cleared.
func TestPhoneVanishes(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.RegisterMinExpires = time.Second
	sw := startSwitch(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phonetest.StartBaresip(t, phonetest.Options{User: "1020", Password: "secret20", Registrar: udpAddr(sw), RegInterval: 2})
	waitFor(t, "registration", func() bool { return sw.Registered("1020") })
	ea := subscribe(t, sw, "1010")
	id := establish(t, sw, a, b, "1010", "1020")
	b.Kill()
	ev := next(t, ea, EventCleared, inCall(id), about("1020"))
	if ev.Cause != CauseOutOfService {
		t.Errorf("cleared = %+v", ev)
	}
	a.WaitEvent("CALL_CLOSED")
}
