package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestKilledPhoneConnectionCleared: alice's client places a call to bob;
// bob's desk phone is killed (SIGKILL: no BYE, registration left behind)
// while the call is established. With phones.leg_probe_interval 1 s and
// leg_probe_timeout 1 s, alice's client gets ConnectionCleared for bob's
// connection (cause destOutOfOrder) and then for her own within the
// configured time, the call is gone from her snapshot, and the loss is
// logged (Cs_PhoneLegLost) and counted on /metrics.
func TestKilledPhoneConnectionCleared(t *testing.T) {
	const interval, timeout = time.Second, time.Second
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
		env: []string{"RCC_PHONES_LEG_PROBE_INTERVAL=1", "RCC_PHONES_LEG_PROBE_TIMEOUT=1"}})
	a := s.phone("1010", "auto")
	b := s.phone("1020", "manual")
	alice, status, reason := s.lync("sip:alice@example.com", aliceLine)
	if status != 200 {
		t.Fatalf("alice sign-in: %d %s", status, reason)
	}
	request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine})
	mc, ok := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine, AutoOriginate: "doNotPrompt"}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall refused")
	}
	id := mc.CallingDevice.CallID
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })

	killed := time.Now()
	b.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), interval+timeout+3*time.Second)
	defer cancel()
	var cleared []*csta.ConnectionClearedEvent
	for len(cleared) < 2 {
		ev, err := alice.NextEvent(ctx)
		if err != nil {
			t.Fatalf("ConnectionCleared within %v of the kill: %v (got %d)", interval+timeout+3*time.Second, err, len(cleared))
		}
		if cc, ok := ev.Msg.(*csta.ConnectionClearedEvent); ok && cc.DroppedConnection.CallID == id {
			cleared = append(cleared, cc)
		}
	}
	t.Logf("ConnectionCleared after %v", time.Since(killed).Round(time.Millisecond))
	if c := cleared[0]; c.DroppedConnection.DeviceID != bobLine || c.Cause != csta.CauseDestOutOfOrder {
		t.Errorf("first ConnectionCleared: dropped %q cause %v, want bob's line and destOutOfOrder", c.DroppedConnection.DeviceID, c.Cause)
	}
	if c := cleared[1]; c.DroppedConnection.DeviceID != aliceLine {
		t.Errorf("second ConnectionCleared: dropped %q, want alice's line", c.DroppedConnection.DeviceID)
	}
	a.WaitEvent("CALL_CLOSED")
	snap := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
	if snap.SnapshotData != nil && len(snap.SnapshotData.Items) != 0 {
		t.Errorf("alice's snapshot after the kill: %+v", snap.SnapshotData.Items)
	}
	if !s.logged(`"code":"Cs_PhoneLegLost"`) {
		t.Errorf("no Cs_PhoneLegLost line in the log")
	}
	body := metrics(t, s)
	for _, want := range []string{"rcc_phone_legs_lost_total 1", "rcc_switch_events_dropped_total 0", `rcc_phone_refusals_total{code="Cs_PhoneAuthFailed"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// metrics returns the /metrics body of s.
func metrics(t *testing.T, s *site) string {
	t.Helper()
	res, err := http.Get("http://" + s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// TestPhonesRefusals: through the binary, a phone with a wrong password is
// answered 401 and logged Cs_PhoneAuthFailed, and with phones.access set
// (from the environment) a phone outside it never registers
// (Cs_PhoneAccessDenied); /metrics counts both by code.
func TestPhonesRefusals(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	phonetest.StartBaresip(t, phonetest.Options{User: "1030", Password: "not-demo", Registrar: s.phoneReg})
	waitLog(t, s, `"code":"Cs_PhoneAuthFailed"`)
	if m := metrics(t, s); !strings.Contains(m, `rcc_phone_refusals_total{code="Cs_PhoneAuthFailed"}`) ||
		strings.Contains(m, `rcc_phone_refusals_total{code="Cs_PhoneAuthFailed"} 0`) {
		t.Errorf("/metrics does not count the failed login")
	}
	if strings.Contains(s.logs.String(), "not-demo") {
		t.Error("a password reached the log")
	}

	// The trunk's address is always allowed: put it on another loopback
	// address than the phone's.
	closed := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", trunk: "127.0.0.2:9", env: []string{"RCC_PHONES_ACCESS=192.0.2.0/24"}})
	p := phonetest.StartBaresip(t, phonetest.Options{User: "1010", Password: "demo-1010", Registrar: closed.phoneReg})
	waitLog(t, closed, `"code":"Cs_PhoneAccessDenied"`)
	if out, _ := p.Command("reginfo", ""); strings.Contains(out, "OK") {
		t.Errorf("phone outside phones.access registered: %q", out)
	}
	if m := metrics(t, closed); strings.Contains(m, `rcc_phone_refusals_total{code="Cs_PhoneAccessDenied"} 0`) {
		t.Errorf("/metrics does not count the refused phone")
	}
}

// waitLog waits for a substring in the binary's log.
func waitLog(t *testing.T, s *site, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the log", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
