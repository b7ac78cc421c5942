package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/switching"
)

// testConfig writes a configuration that is the embedded default on free
// loopback ports, with the demo station data appended.
func testConfig(t *testing.T, extra string) string {
	t.Helper()
	base, err := os.ReadFile("../../../examples/rccserver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.ReadFile("../../../examples/station.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("../../../examples/directory.yaml")
	y := string(base)
	for _, fixed := range []struct{ from, to string }{
		{"addr: 127.0.0.1:11001", "addr: 127.0.0.1:0"},
		{"addr: 127.0.0.1:5060\n    - network: tcp\n      addr: 127.0.0.1:5060", "addr: 127.0.0.1:0"},
	} {
		// The embedded default's fixed ports belong to a real server: a
		// test must never bind them, so a change of the file fails here.
		if !strings.Contains(y, fixed.from) {
			t.Fatalf("examples/rccserver.yaml no longer has %q", fixed.from)
		}
		y = strings.Replace(y, fixed.from, fixed.to, 1)
	}
	y = strings.Replace(y, "file: directory.yaml", "file: "+dir, 1)
	path := filepath.Join(t.TempDir(), "rccserver.yaml")
	// The admin listener on a free port too: 9110 belongs to a real server.
	y += "\nadmin: {listen: \"127.0.0.1:0\"}\n"
	// Each test its own state file (the default is in the working directory).
	y += fmt.Sprintf("state: {file: %q}\n", filepath.Join(filepath.Dir(path), "state.db"))
	if err := os.WriteFile(path, []byte(y+"\n"+string(st)+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDaemonD runs the whole daemon in-process and returns it (for its
// listeners' addresses).
func startDaemonD(t *testing.T, path string) *daemon {
	t.Helper()
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDaemon(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	select {
	case <-d.started:
	case err := <-done:
		t.Fatalf("daemon ended: %v", err)
	}
	return d
}

// startDaemon runs the whole daemon in-process and returns its RCC address.
func startDaemon(t *testing.T, path string) string {
	t.Helper()
	return startDaemonD(t, path).rcc.Addrs()[0].String()
}

func signIn(t *testing.T, addr, user, line string) (*lynctest.Client, error) {
	t.Helper()
	c, err := lynctest.New(lynctest.Options{Server: addr, User: user, Line: line, Domain: "rcc.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.SignIn(ctx)
	if err != nil && res != nil {
		return c, errors.New(res.Reason)
	}
	return c, err
}

// TestDaemonAdmissionAndLineServices: the daemon built from configuration
// admits through the file directory and the login service, refuses as
// docs/troubleshooting.md "What the client receives" says, and answers the
// line services that need no call.
func TestDaemonAdmissionAndLineServices(t *testing.T) {
	addr := startDaemon(t, testConfig(t, ""))
	alice, err := signIn(t, addr, "sip:alice@example.com", "tel:+13175551010")
	if err != nil {
		t.Fatal(err)
	}
	// A second endpoint of the same user shares the login.
	if _, err := signIn(t, addr, "sip:Alice@Example.com", "tel:+13175551010"); err != nil {
		t.Fatalf("second endpoint: %v", err)
	}
	for _, tc := range []struct{ user, line, want string }{
		{"sip:nobody@example.com", "tel:+13175551099", "Cs_UserNotFound"},
		{"sip:bob@example.com", "tel:+13175551010", "Cs_UserNotFound"}, // not bob's line in the directory
	} {
		if _, err := signIn(t, addr, tc.user, tc.line); err == nil || err.Error() != tc.want {
			t.Errorf("%s on %s: %v, want %s", tc.user, tc.line, err, tc.want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, _, err := alice.Request(ctx, &csta.GetCSTAFeatures{})
	if err != nil {
		t.Fatal(err)
	}
	f := ans.(*csta.GetCSTAFeaturesResponse)
	if !f.Supports("makeCall") || f.Supports("conferenceCall") {
		t.Fatalf("features: makeCall %v conferenceCall %v", f.Supports("makeCall"), f.Supports("conferenceCall"))
	}
	ans, _, err = alice.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:+13175551010"})
	if err != nil {
		t.Fatal(err)
	}
	xref := ans.(*csta.MonitorStartResponse).MonitorCrossRefID
	if len(xref) != 8 {
		t.Fatalf("cross-ref %q", xref)
	}
	for _, tc := range []struct {
		name string
		req  csta.Message
		want csta.Message
	}{
		{"bob's line", &csta.MonitorStart{MonitorObject: "tel:+13175551020"}, csta.OperationError(csta.OpPrivilegeViolationSpecifiedDevice)},
		{"forged monitor", &csta.MonitorStop{MonitorCrossRefID: "deadbeef"}, csta.OperationError(csta.OpInvalidMonitorCrossRefID)},
		{"unknown call", &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: "nope", DeviceID: "tel:+13175551010"}}, csta.OperationError(csta.OpInvalidCallID)},
		{"conference", &csta.ConferenceCall{HeldCall: csta.ConnectionID{CallID: "a"}, ActiveCall: csta.ConnectionID{CallID: "b"}}, csta.OperationError(csta.OpInvalidFeature)},
		{"idle snapshot", &csta.SnapshotDevice{SnapshotObject: "tel:+13175551010"}, &csta.SnapshotDeviceResponse{SnapshotData: &csta.SnapshotData{}}},
		{"dnd on", &csta.SetDoNotDisturb{Device: "tel:+13175551010", DoNotDisturbOn: csta.Bool(true)}, &csta.SetDoNotDisturbResponse{}},
		{"dnd query", &csta.GetDoNotDisturb{Device: "tel:+13175551010"}, &csta.GetDoNotDisturbResponse{DoNotDisturbOn: true}},
	} {
		got, _, err := alice.Request(ctx, tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b *csta.SnapshotData) bool { return len(a.Items) == len(b.Items) })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	ev, err := alice.NextEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &csta.DoNotDisturbEvent{MonitorCrossRefID: xref, Device: csta.Device("tel:+13175551010"), DoNotDisturbOn: true}
	if diff := cmp.Diff(want, ev.Msg); diff != "" {
		t.Fatalf("DND event (-want +got):\n%s", diff)
	}
}

func TestCheckNamesKeys(t *testing.T) {
	path := testConfig(t, "")
	b, _ := os.ReadFile(path)
	bad := strings.Replace(string(b), "keepalive: 60", "keepalive: 1200", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if code := run([]string{"-check", "-config", path}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), "session.keepalive") {
		t.Fatalf("-check output %q does not name session.keepalive", errOut.String())
	}
	out.Reset()
	if code := run([]string{"-check"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "embedded default") {
		t.Fatalf("embedded default -check: %d %q", code, out.String())
	}
}

var _ = rccserver.DefaultPort

func TestCheckRefusesUnknownKeys(t *testing.T) {
	path := testConfig(t, "sesion:\n  keepalive: 5\n")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "  domains:", "  domians:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	if err == nil || !strings.Contains(err.Error(), `"sesion"`) || !strings.Contains(err.Error(), "domians") {
		t.Fatalf("typos not reported by name: %v", err)
	}
}

// TestBlockedNumbersAreNotDialled: a dial-plan rule with target none is
// never routed to the trunk.
func TestBlockedNumbersAreNotDialled(t *testing.T) {
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	sc := switchConfig(cfg, fixedConfigs{cfg.station})
	for number, want := range map[string]switching.TargetKind{
		"1020":         switching.TargetStation,
		"+13175551020": switching.TargetStation,
		"+14155550100": switching.TargetTrunk,
	} {
		got, err := sc.Router.Route(number)
		if err != nil || got.Kind != want {
			t.Errorf("Route(%s) = %+v, %v; want %v", number, got, err, want)
		}
	}
	if got, err := sc.Router.Route("+19005551234"); err == nil {
		t.Errorf("blocked 900 number routed to %+v", got)
	}
}

// TestCheckValidatesPhones: -check reports what the switch would refuse at start.
func TestCheckValidatesPhones(t *testing.T) {
	path := testConfig(t, "")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "transport: udp", "transport: tls", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path); err == nil || !strings.Contains(err.Error(), "trunk.transport") {
		t.Fatalf("trunk over TLS not reported: %v", err)
	}
}

// TestConfigPrecedence: the file, then RCC_… environment, then -set flags.
func TestConfigPrecedence(t *testing.T) {
	path := testConfig(t, "") // keepalive: 60 in the file
	cfg, err := loadConfig(path)
	if err != nil || cfg.sip.KeepAlive != 60*time.Second {
		t.Fatalf("file: %v %v", cfg.sip.KeepAlive, err)
	}
	t.Setenv("RCC_SESSION_KEEPALIVE", "45")
	if cfg, err = loadConfig(path); err != nil || cfg.sip.KeepAlive != 45*time.Second {
		t.Fatalf("environment: %v %v", cfg.sip.KeepAlive, err)
	}
	if cfg, err = loadConfig(path, "session.keepalive=0", "listen.domains=a.example,b.example"); err != nil ||
		cfg.sip.KeepAlive != 0 || len(cfg.sip.Domains) != 2 {
		t.Fatalf("-set: %v %v %v", cfg.sip.KeepAlive, cfg.sip.Domains, err)
	}
	if _, err := loadConfig(path, "session.keepalive=1200"); err == nil || !strings.Contains(err.Error(), "session.keepalive") {
		t.Fatalf("-set 1200 not refused by name: %v", err)
	}
}

// TestPhonesGuardKeys: phones.access and the auth and leg-probe limits
// reach the switch; a bad access entry is reported by name.
func TestPhonesGuardKeys(t *testing.T) {
	path := testConfig(t, "")
	cfg, err := loadConfig(path, "phones.access=192.0.2.0/24,10.1.2.3", "phones.auth_max_failures=-1",
		"phones.auth_failure_window=30", "phones.leg_probe_interval=7", "phones.leg_probe_timeout=3")
	if err != nil {
		t.Fatal(err)
	}
	sc := switchConfig(cfg, fixedConfigs{cfg.station})
	if len(sc.Access) != 2 || sc.Access[1] != "10.1.2.3" || sc.AuthMaxFailures != -1 || sc.AuthFailureWindow != 30*time.Second ||
		sc.LegProbeInterval != 7*time.Second || sc.LegProbeTimeout != 3*time.Second {
		t.Errorf("switch config: access %v, auth %d/%v, probe %v/%v", sc.Access, sc.AuthMaxFailures, sc.AuthFailureWindow,
			sc.LegProbeInterval, sc.LegProbeTimeout)
	}
	if _, err := loadConfig(path, "phones.access=192.0.2.300"); err == nil || !strings.Contains(err.Error(), "access[0]") {
		t.Fatalf("bad phones.access not reported by name: %v", err)
	}
}
