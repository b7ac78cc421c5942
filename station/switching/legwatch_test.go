package switching

import (
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// legWatchConfig probes legs every second so that the tests are short.
func legWatchConfig() Config {
	cfg := twoStations()
	cfg.LegProbeInterval = time.Second
	cfg.LegProbeTimeout = time.Second
	return cfg
}

// lostWithin is how long a killed phone may take to be noticed: one
// interval, one probe timeout, and slack for a loaded test machine.
func lostWithin(cfg Config) time.Duration {
	return cfg.LegProbeInterval + cfg.LegProbeTimeout + 2*time.Second
}

// assertClean checks that nothing of the call is left in the switch.
func assertClean(t *testing.T, sw *Switch, exts ...string) {
	t.Helper()
	waitFor(t, "no calls and no legs", func() bool {
		for _, ext := range exts {
			if s, _ := sw.Snapshot(ext); len(s) != 0 {
				return false
			}
		}
		sw.legsMu.Lock()
		defer sw.legsMu.Unlock()
		return len(sw.legs) == 0
	})
	sw.model.mu.Lock()
	defer sw.model.mu.Unlock()
	if n := len(sw.model.calls); n != 0 {
		t.Errorf("%d calls left in the model", n)
	}
}

// TestKilledPhoneClearsCall: MakeCall 1010 -> 1020 with two baresip
// phones; while both live, the OPTIONS probes are answered and the call
// stays up. Then 1020 is killed (SIGKILL: no BYE): within
// LegProbeInterval + LegProbeTimeout the switch clears its connection with
// CauseOutOfService (Cs_PhoneLegLost), releases 1010 (BYE), and nothing of
// the call is left.
func TestKilledPhoneClearsCall(t *testing.T) {
	t.Parallel()
	cfg := legWatchConfig()
	sw, lb := startSwitchLog(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea, eb := subscribe(t, sw, "1010"), subscribe(t, sw, "1020")

	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	id := ref.CallID
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	next(t, eb, EventEstablished, inCall(id), about("1020"))

	// Live phones answer the probes: the call survives several of them.
	if ev, err := nextErr(eb, EventCleared, 3*cfg.LegProbeInterval+cfg.LegProbeTimeout); err == nil {
		t.Fatalf("call cleared while both phones live: %+v", ev)
	}
	if n := sw.Refusals()[CodePhoneLegLost]; n != 0 {
		t.Fatalf("legs lost with live phones: %d (log: %v)", n, lb.lines(CodePhoneLegLost))
	}

	killed := time.Now()
	b.Kill()
	ev, err := nextErr(eb, EventCleared, lostWithin(cfg), inCall(id), about("1020"))
	if err != nil {
		t.Fatalf("no EventCleared for the killed phone within %v: %v", lostWithin(cfg), err)
	}
	took := time.Since(killed)
	if ev.Cause != CauseOutOfService || ev.State != ConnNull {
		t.Errorf("cleared event = %+v, want CauseOutOfService, null", ev)
	}
	next(t, ea, EventCleared, inCall(id), about("1020"), func(e Event) bool { return e.Cause == CauseOutOfService })
	next(t, ea, EventCleared, inCall(id), about("1010"))
	a.WaitEvent("CALL_CLOSED")
	assertClean(t, sw, "1010", "1020")
	lost := lb.lines(CodePhoneLegLost)
	if len(lost) != 1 || lost[0]["device"] != "1020" || lost[0]["reason"] != "no_answer" {
		t.Errorf("Cs_PhoneLegLost lines = %v", lost)
	}
	if n := sw.Refusals()[CodePhoneLegLost]; n != 1 {
		t.Errorf("Refusals[%s] = %d, want 1", CodePhoneLegLost, n)
	}
	t.Logf("killed phone noticed after %v (interval %v, timeout %v)", took.Round(time.Millisecond), cfg.LegProbeInterval, cfg.LegProbeTimeout)

	// The survivor can be called again: the station state is clean.
	ref2, err := sw.MakeCall(t.Context(), "1010", "1030")
	if err == nil {
		next(t, ea, EventFailed, inCall(ref2.CallID))
	}
	assertClean(t, sw, "1010", "1020")
}

// TestKilledCallerClearsCall: 1010 dials 1020 from its handset (the
// switch's leg to 1010 is the UAS of an INVITE); 1010 is killed during the
// call and 1020 is released within the configured time.
func TestKilledCallerClearsCall(t *testing.T) {
	t.Parallel()
	cfg := legWatchConfig()
	sw := startSwitch(t, cfg)
	a := phone(t, sw, "1010", "secret10", "manual")
	b := phone(t, sw, "1020", "secret20", "manual")
	eb := subscribe(t, sw, "1020")

	a.Dial("1020")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	a.WaitEvent("CALL_ESTABLISHED")
	est := next(t, eb, EventEstablished, about("1020"))
	if ev, err := nextErr(eb, EventCleared, 2*cfg.LegProbeInterval); err == nil {
		t.Fatalf("call cleared while both phones live: %+v", ev)
	}

	a.Kill()
	if _, err := nextErr(eb, EventCleared, lostWithin(cfg), inCall(est.CallID), about("1010"),
		func(e Event) bool { return e.Cause == CauseOutOfService }); err != nil {
		t.Fatalf("no EventCleared for the killed caller within %v: %v", lostWithin(cfg), err)
	}
	next(t, eb, EventCleared, inCall(est.CallID), about("1020"))
	b.WaitEvent("CALL_CLOSED")
	assertClean(t, sw, "1010", "1020")
}

// TestKilledTCPPhoneClearsCall: as TestKilledPhoneClearsCall with the
// callee registered over TCP: its connection dies with it, and the next
// probe cannot be sent (or is not answered).
func TestKilledTCPPhoneClearsCall(t *testing.T) {
	t.Parallel()
	cfg := legWatchConfig()
	sw, lb := startSwitchLog(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phonetest.StartBaresip(t, phonetest.Options{User: "1020", Password: "secret20", Registrar: sw.Addr("tcp").String(), Transport: "tcp"})
	waitFor(t, "registration of 1020 over TCP", func() bool { return sw.Registered("1020") })
	eb := subscribe(t, sw, "1020")

	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	next(t, eb, EventEstablished, inCall(ref.CallID), about("1020"))
	if ev, err := nextErr(eb, EventCleared, 2*cfg.LegProbeInterval); err == nil {
		t.Fatalf("call cleared while both phones live: %+v", ev)
	}

	b.Kill()
	if _, err := nextErr(eb, EventCleared, lostWithin(cfg), inCall(ref.CallID), about("1020"),
		func(e Event) bool { return e.Cause == CauseOutOfService }); err != nil {
		t.Fatalf("no EventCleared for the killed TCP phone within %v: %v", lostWithin(cfg), err)
	}
	a.WaitEvent("CALL_CLOSED")
	assertClean(t, sw, "1010", "1020")
	lost := lb.lines(CodePhoneLegLost)
	if len(lost) != 1 || lost[0]["transport"] != "TCP" {
		t.Errorf("Cs_PhoneLegLost lines = %v", lost)
	} else {
		t.Logf("reason %v", lost[0]["reason"])
	}
}

// TestKilledRingingPhoneFailsCall: MakeCall 1010 -> 1020; while 1020
// rings (and answers the probes: the call keeps ringing) it is killed.
// Within LegProbeInterval + LegProbeTimeout the call fails as unreachable
// (EventFailed, CauseUnreachable), 1010 is released and nothing is left.
func TestKilledRingingPhoneFailsCall(t *testing.T) {
	t.Parallel()
	cfg := legWatchConfig()
	sw, lb := startSwitchLog(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	ea := subscribe(t, sw, "1010")

	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	id := ref.CallID
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	next(t, ea, EventDelivered, inCall(id), about("1020"))
	if ev, err := nextErr(ea, EventFailed, 2*cfg.LegProbeInterval+cfg.LegProbeTimeout); err == nil {
		t.Fatalf("call failed while the callee rings and lives: %+v", ev)
	}

	b.Kill()
	ev, err := nextErr(ea, EventFailed, lostWithin(cfg), inCall(id), about("1020"))
	if err != nil {
		t.Fatalf("no EventFailed for the killed ringing phone within %v: %v", lostWithin(cfg), err)
	}
	if ev.Cause != CauseUnreachable {
		t.Errorf("failed event cause %v, want unreachable", ev.Cause)
	}
	next(t, ea, EventCleared, inCall(id), about("1010"))
	a.WaitEvent("CALL_CLOSED")
	assertClean(t, sw, "1010", "1020")
	lost := lb.lines(CodePhoneLegLost)
	if len(lost) != 1 || lost[0]["device"] != "1020" || lost[0]["ringing"] != true {
		t.Errorf("Cs_PhoneLegLost lines = %v", lost)
	}
}
