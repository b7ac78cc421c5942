package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDialplanSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"dialplan", "tel:+13175551010", "+1 800 555 1234"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, line := range []string{
		"dial plan        examples/station.yaml (embedded)",
		"input            tel:+13175551010",
		"normalised       +13175551010",
		`matched rule     dialplan.rules[4] "Our DID block"`,
		"pattern          +1317555XXXZ",
		"wildcards        X=1 X=0 X=1 Z=0",
		"standardized     +13175551010",
		"classification   Intercom",
		"dial string      1010",
		`target           station "1010" (extension 1010, active, answer method talkEvent)`,
		"pattern          +1$$$NxxXXXZ ($ from 800, 833, 844, 855, 866, 877, 888)",
		"classification   TollFree",
		"dial string      18005551234",
		"target           trunk 127.0.0.1:5080 (udp)",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestDialplanSubcommandConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.yaml")
	plan := "dialplan:\n  rules:\n    - {pattern: \"911\", classification: Emergency, target: none}\n"
	if err := os.WriteFile(path, []byte(plan), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"dialplan", "-config", path, "911"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), "target           none (not dialable)\n") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"dialplan", "-config", path, "912"}, &out, &errOut); code != 1 {
		t.Errorf("no rule: exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "matched rule     none: no rule matches this number\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestDialplanSubcommandErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "stations:\n  - {name: a, extension: \"10a0\", answer_method: ring, connection: {kind: static, address: \"sip:a@b\"}}\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"dialplan", "-config", path, "911"}, &out, &errOut); code != 1 {
		t.Errorf("invalid config: exit %d, want 1", code)
	}
	for _, p := range []string{`  stations[0].extension "10a0": not digits`, `  stations[0].answer_method "ring": unknown`} {
		if !strings.Contains(errOut.String(), p) {
			t.Errorf("stderr lacks %q:\n%s", p, errOut.String())
		}
	}
	if code := run([]string{"dialplan"}, &out, &errOut); code != 2 {
		t.Errorf("no number: exit %d, want 2", code)
	}
	if code := run([]string{"dialplan", "-nope", "911"}, &out, &errOut); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
