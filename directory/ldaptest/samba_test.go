package ldaptest_test

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rccserver/rccserver/directory/ldaptest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ldaptest.CloseSharedSamba()
	os.Exit(code)
}

func samba(t *testing.T) *ldaptest.Samba {
	return ldaptest.SharedSamba(t, ldaptest.SambaOptions{
		Generate: 300,
		Users:    []ldaptest.User{{SAMAccountName: "gone", SIPAddress: "sip:gone@example.com", Line: "tel:+13175550002", OptionFlags: 16, AccountDisabled: true}},
	})
}

func dialSamba(t *testing.T, s *ldaptest.Samba, url string, startTLS bool) (*ldap.Conn, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.CAPool(), ServerName: "dc1.example.com", MinVersion: tls.VersionTLS12}
	c, err := ldap.DialURL(url, ldap.DialWithTLSConfig(cfg))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetTimeout(10 * time.Second)
	if startTLS {
		if err := c.StartTLS(cfg); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
	}
	return c, c.Bind(s.BindDN, s.Password)
}

// TestSambaLyncUsers: the provisioned domain has the schema extension and
// the users, with AD's behaviours: paged search over StartTLS returns them
// all, with a continuation reference to the configuration partition;
// userAccountControl carries ACCOUNTDISABLE; a plain simple bind is refused
// with strongerAuthRequired (8).
func TestSambaLyncUsers(t *testing.T) {
	s := samba(t)
	t.Logf("%s, started in %v", s.Version, s.Took)
	if !strings.Contains(s.Version, "4.") {
		t.Errorf("samba -V = %q", s.Version)
	}
	c, err := dialSamba(t, s, s.URL(), true)
	if err != nil {
		t.Fatalf("bind over StartTLS: %v", err)
	}
	req := ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(msRTCSIP-PrimaryUserAddress=*)", []string{"sAMAccountName", "msRTCSIP-Line", "userAccountControl", "msRTCSIP-OptionFlags"}, nil)
	res, err := c.SearchWithPaging(req, 100)
	if err != nil {
		t.Fatalf("paged search: %v", err)
	}
	if got := len(res.Entries); got != 301 {
		t.Errorf("%d Lync users, want 301", got)
	}
	if len(res.Referrals) == 0 {
		t.Errorf("no continuation reference from a subtree search of the domain root")
	}
	for _, e := range res.Entries {
		uac := e.GetAttributeValue("userAccountControl")
		want := "544" // NORMAL_ACCOUNT | PASSWD_NOTREQD
		if e.GetAttributeValue("sAMAccountName") == "gone" {
			want = "546" // | ACCOUNTDISABLE
		}
		if uac != want {
			t.Errorf("%s: userAccountControl %q, want %s", e.DN, uac, want)
		}
	}

	if _, err := dialSamba(t, s, s.LDAPSURL(), false); err != nil {
		t.Errorf("bind over LDAPS: %v", err)
	}
	if _, err := dialSamba(t, s, s.GlobalCatalogURL(), true); err != nil {
		t.Errorf("bind to the global catalog: %v", err)
	}
	if _, err := dialSamba(t, s, s.URL(), false); !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		t.Errorf("plain simple bind: %v, want Strong Auth Required (8)", err)
	}
}

func TestSambaAddDelete(t *testing.T) {
	s := samba(t)
	u := ldaptest.User{SAMAccountName: "ivan", SIPAddress: "sip:ivan@example.com", Line: "tel:+13175551090", OptionFlags: 16}
	dn := s.AddUser(t, u)
	c, err := dialSamba(t, s, s.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	find := func() int {
		res, err := c.Search(ldap.NewSearchRequest(s.UsersDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(msRTCSIP-PrimaryUserAddress=sip:ivan@example.com)", []string{"userAccountControl"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Entries)
	}
	if n := find(); n != 1 {
		t.Fatalf("ivan found %d times after AddUser", n)
	}
	s.DeleteUser(t, dn)
	if n := find(); n != 0 {
		t.Fatalf("ivan found %d times after DeleteUser", n)
	}
}
