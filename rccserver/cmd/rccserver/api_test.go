package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rccserver/rccserver/rccserver/api"
)

func TestAPITokenSubcommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"api-token", "-name", "crm", "-stations", "1010,1020"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	m := regexp.MustCompile(`(?m)^# ([A-Za-z0-9_-]{40,})$`).FindStringSubmatch(out.String())
	h := regexp.MustCompile(`sha256: ([0-9a-f]{64})`).FindStringSubmatch(out.String())
	if m == nil || h == nil || api.HashToken(m[1]) != h[1] || !strings.Contains(out.String(), `stations: ["1010", "1020"]`) {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestStatusAndAPIListener: the daemon with api.listen serves the API with
// the configured token, and `rccserver status` reads the admin listener.
func TestStatusAndAPIListener(t *testing.T) {
	const token = "test-token-1"
	extra := "api:\n  listen: 127.0.0.1:0\n  tokens:\n    - {name: test, sha256: " + api.HashToken(token) + ", stations: [\"1010\"]}\n"
	d := startDaemonD(t, testConfig(t, extra))
	if _, err := signIn(t, d.rcc.Addrs()[0].String(), "sip:alice@example.com", "tel:+13175551010"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+d.apiAddr+"/v1/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sessions []api.SessionInfo
	_ = json.NewDecoder(res.Body).Decode(&sessions)
	res.Body.Close()
	if len(sessions) != 1 || sessions[0].Station != "1010" || sessions[0].User != "sip:alice@example.com" {
		t.Errorf("/v1/sessions: %+v", sessions)
	}

	// The latency histograms render on /metrics.
	mres, err := http.Get("http://" + d.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	for _, want := range []string{`rcc_csta_request_duration_seconds_bucket{le="0.005"}`, "rcc_event_delivery_duration_seconds_count", "rcc_switch_events_dropped_total 0"} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var out, errb bytes.Buffer
	if code := run([]string{"status", "-admin", d.adminAddr, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("status -json: exit %d: %s", code, errb.String())
	}
	var rep statusReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Sessions) != 1 || len(rep.Stations) != 2 || rep.Calls == nil {
		t.Errorf("status -json: %+v", rep)
	}
	out.Reset()
	if code := run([]string{"status", "-admin", d.adminAddr}, &out, &errb); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"SESSIONS (1)", "STATIONS (2)", "CALLS (0)", "not registered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status table lacks %q:\n%s", want, out.String())
		}
	}
	if code := run([]string{"status", "-admin", "127.0.0.1:1"}, &out, &errb); code != 1 {
		t.Errorf("status against nothing: exit %d", code)
	}
}
