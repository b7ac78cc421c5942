package e2e_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory/ldaptest"
)

// TestReloadAfterDirectoryChange: `rccserver -reload` after an AD change
// picks up a new user and a changed line, and the session that was signed
// in keeps working. It also checks the admin endpoints an operator watches.
func TestReloadAfterDirectoryChange(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	alice, st, _ := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice: %d", st)
	}
	request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine})

	// dave is a contact-center user (station 1030) but not yet in AD; bob's
	// line moves from 1020 to 1040.
	if _, st, r := s.lync("sip:dave@example.com", "tel:+13175551030"); st != 403 || r != "Cs_UserNotFound" {
		t.Fatalf("dave before reload: %d %s", st, r)
	}
	s.ldap.AddUser(ldaptest.User{SAMAccountName: "dave", UPN: "dave@example.com", SIPAddress: "sip:dave@example.com",
		Line: "tel:+13175551030", OptionFlags: 16})
	bob := adUsers()[1]
	s.ldap.DeleteUser(s.ldap.UserDN(bob))
	bob.Line = "tel:+13175551040"
	s.ldap.AddUser(bob)

	out, err := exec.Command(binary(t), "-reload", "-config", s.config).CombinedOutput()
	if err != nil {
		t.Fatalf("rccserver -reload: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "directory (7 entries)") {
		t.Fatalf("-reload output does not report the directory: %s", out)
	}

	if _, st, r := s.lync("sip:dave@example.com", "tel:+13175551030"); st != 200 || r != "normal" {
		t.Fatalf("dave after reload: %d %s", st, r)
	}
	if _, st, r := s.lync("sip:bob@example.com", bobLine); st != 403 || r != "Cs_UserNotFound" {
		t.Fatalf("bob on his old line after reload: %d %s", st, r)
	}
	if _, st, _ := s.lync("sip:bob@example.com", "tel:+13175551040"); st != 200 {
		t.Fatalf("bob on his new line after reload: %d", st)
	}
	if _, ok := request(t, alice, &csta.GetDoNotDisturb{Device: aliceLine}).(*csta.GetDoNotDisturbResponse); !ok {
		t.Fatal("alice's session did not survive the reload")
	}

	for path, want := range map[string]string{
		"/healthz":        "ok",
		"/readyz":         "ready",
		"/metrics":        `rcc_refusals_total{code="Cs_UserNotFound"} 2`,
		"/debug/sessions": `"user": "sip:alice@example.com"`,
		"/debug/logins":   `"state": "LoggedInToRCC"`,
	} {
		res, err := http.Get("http://" + s.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, want %q in\n%s", path, res.StatusCode, want, body)
		}
	}
	// No server at that address: -reload says so and fails.
	cfg, _ := os.ReadFile(s.config)
	dead := strings.Replace(string(cfg), s.admin, "127.0.0.1:9", 1)
	deadPath := s.config + ".dead"
	if err := os.WriteFile(deadPath, []byte(dead), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary(t), "-reload", "-config", deadPath).CombinedOutput(); err == nil || !strings.Contains(string(out), "no server answered") {
		t.Fatalf("-reload with no server: %v %s", err, out)
	}
}

// TestReloadRefusesShrunkDirectory: when most users vanish from AD (here 4
// of 6; in the field an unextended schema or a filter typo returning none),
// `-reload` reports the refusal, the directory keeps its users, and the
// metric counts it.
func TestReloadRefusesShrunkDirectory(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	for _, u := range adUsers()[:4] { // alice, bob, carol, mallory
		s.ldap.DeleteUser(s.ldap.UserDN(u))
	}
	out, err := exec.Command(binary(t), "-reload", "-config", s.config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "directory refresh refused") || !strings.Contains(string(out), "2 users, the directory has 6") {
		t.Fatalf("rccserver -reload after losing 4 of 6 users: %v\n%s", err, out)
	}
	if _, st, r := s.lync("sip:alice@example.com", aliceLine); st != 200 || r != "normal" {
		t.Fatalf("alice after the refused reload: %d %s", st, r)
	}
	if !s.logged(`"code":"Cs_DirectoryShrunk"`) {
		t.Errorf("no Cs_DirectoryShrunk in the log:\n%s", s.logs.String())
	}
	res, err := http.Get("http://" + s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "rcc_directory_refreshes_refused_total 1") {
		t.Errorf("/metrics lacks rcc_directory_refreshes_refused_total 1:\n%s", body)
	}
}
