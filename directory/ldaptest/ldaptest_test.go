package ldaptest_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rccserver/rccserver/directory/ldaptest"
)

func dialService(t *testing.T, s *ldaptest.Server, url string, startTLS bool) *ldap.Conn {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.CAPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
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
	if err := c.Bind(s.BindDN, s.Password); err != nil {
		t.Fatalf("bind %s: %v", s.BindDN, err)
	}
	return c
}

func userFilter() string { return "(msRTCSIP-PrimaryUserAddress=*)" }

// TestSizeLimitNeedsPaging checks that the server behaves like AD's
// MaxPageSize for the service account: an unpaged search of more than 1000
// entries fails with sizeLimitExceeded, a paged one returns them all.
func TestSizeLimitNeedsPaging(t *testing.T) {
	const n = 1200
	s := ldaptest.Start(t, ldaptest.Options{Generate: n})
	c := dialService(t, s, s.URL(), true)

	req := ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		userFilter(), []string{"sAMAccountName"}, nil)
	res, err := c.Search(req)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("unpaged search: err = %v, want sizeLimitExceeded", err)
	}
	if got := len(res.Entries); got != 1000 {
		t.Errorf("unpaged search returned %d entries, want the limit 1000", got)
	}

	res, err = c.SearchWithPaging(req, 500)
	if err != nil {
		t.Fatalf("paged search: %v", err)
	}
	if got := len(res.Entries); got != n {
		t.Errorf("paged search returned %d entries, want %d", got, n)
	}
}

func TestTLSRestartAndChanges(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{})
	count := func(c *ldap.Conn) int {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest(s.UsersDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			userFilter(), []string{"sAMAccountName"}, nil))
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		return len(res.Entries)
	}

	ldaps := dialService(t, s, s.LDAPSURL(), false)
	if st, ok := ldaps.TLSConnectionState(); !ok || !st.HandshakeComplete {
		t.Fatalf("LDAPS connection is not TLS")
	}
	if got := count(ldaps); got != 0 {
		t.Fatalf("fresh server has %d users, want 0", got)
	}

	dn := s.AddUser(ldaptest.Numbered(7, s.Domain))
	if got := count(dialService(t, s, s.URL(), true)); got != 1 {
		t.Fatalf("after AddUser: %d users, want 1", got)
	}

	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if _, err := ldap.DialURL(s.URL()); err == nil {
		t.Fatal("dial succeeded while stopped")
	}
	s.Restart()
	c := dialService(t, s, s.URL(), true)
	if got := count(c); got != 1 {
		t.Fatalf("after restart: %d users, want 1 (database kept)", got)
	}
	s.DeleteUser(dn)
	if got := count(c); got != 0 {
		t.Fatalf("after DeleteUser: %d users, want 0", got)
	}
}

func TestRequireTLS(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{RequireTLS: true})
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Bind(s.BindDN, s.Password)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired) {
		t.Fatalf("plain bind: err = %v, want confidentialityRequired", err)
	}
	dialService(t, s, s.URL(), true) // with StartTLS it works
}

func TestPartitions(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{Domain: "corp.example.test"})
	if s.NetBIOS != "CORP" || s.BaseDN != "DC=corp,DC=example,DC=test" {
		t.Fatalf("defaults: NetBIOS %q BaseDN %q", s.NetBIOS, s.BaseDN)
	}
	c := dialService(t, s, s.URL(), true)
	res, err := c.Search(ldap.NewSearchRequest(s.PartitionsDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nETBIOSName=*))", []string{"nCName", "nETBIOSName"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("%d crossRefs, want 1", len(res.Entries))
	}
	e := res.Entries[0]
	if got := e.GetAttributeValue("nETBIOSName"); got != "CORP" {
		t.Errorf("nETBIOSName = %q", got)
	}
	if got := e.GetAttributeValue("nCName"); got != s.BaseDN {
		t.Errorf("nCName = %q, want %q", got, s.BaseDN)
	}
}
