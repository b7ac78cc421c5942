package e2e_test

import (
	"os"
	"testing"

	"github.com/rccserver/rccserver/directory/ldaptest"
)

// TestMain stops the Samba AD DC the Samba tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	ldaptest.CloseSharedSamba()
	os.Exit(code)
}

// sharedSamba is the package's Samba AD DC, holding adUsers().
func sharedSamba(t testing.TB) *ldaptest.Samba {
	return ldaptest.SharedSamba(t, ldaptest.SambaOptions{Users: adUsers()})
}

// TestSambaSignIn: the built binary with a Samba AD DC as its directory
// (StartTLS, the service account, the NetBIOS name from CN=Partitions)
// admits alice and refuses judy, whose Windows account is disabled, and
// carol, who lacks the RCC option flag.
func TestSambaSignIn(t *testing.T) {
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", samba: true})
	_, st, r := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice: %d %s\n%s", st, r, s.logs.String())
	}
	for _, tc := range []struct{ user, line, code string }{
		{"sip:judy@example.com", "tel:+13175551050", "Cs_AccountDisabled"},
		{"sip:carol@example.com", "tel:+13175551030", "Cs_UserNotFound"},
	} {
		if _, st, r := s.lync(tc.user, tc.line); st != 403 || r != tc.code {
			t.Errorf("%s: %d %s, want 403 %s", tc.user, st, r, tc.code)
		}
	}
}

// TestAccountDisabled: with slapd as the directory, too, a user whose
// userAccountControl has ACCOUNTDISABLE is refused with Cs_AccountDisabled
// (logged with the account and DN).
func TestAccountDisabled(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	if _, st, r := s.lync("sip:judy@example.com", "tel:+13175551050"); st != 403 || r != "Cs_AccountDisabled" {
		t.Fatalf("judy: %d %s, want 403 Cs_AccountDisabled", st, r)
	}
	if !s.logged(`"code":"Cs_AccountDisabled"`, `EXAMPLE\\judy is disabled`) {
		t.Errorf("no Cs_AccountDisabled log line naming the account:\n%s", s.logs.String())
	}
}
