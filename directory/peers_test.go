package directory_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/directory/ldaptest"
)

// peer is a real LDAP server the directory tests run against: slapd with
// the AD-like schema (a new one per test) or the Samba AD DC (one per test
// binary, shared: tests add users of their own and delete them again).
type peer struct {
	name                     string
	url, ldapsURL, caFile    string
	caPool                   *x509.CertPool
	bindDN, password, baseDN string
	// generated is the number of ldaptest.Numbered users besides seed.ldif.
	generated  int
	addUser    func(ldaptest.User) string
	deleteUser func(dn string)
}

// sambaGenerated is how many numbered users the shared Samba holds.
const sambaGenerated = 300

func slapdPeer(t *testing.T, extraLDIF ...string) peer {
	s := seeded(t, extraLDIF...)
	return peer{
		name: "slapd", url: s.URL(), ldapsURL: s.LDAPSURL(), caFile: s.CAFile(), caPool: s.CAPool(),
		bindDN: s.BindDN, password: s.Password, baseDN: s.BaseDN,
		addUser: s.AddUser, deleteUser: s.DeleteUser,
	}
}

func sambaPeer(t *testing.T) peer {
	s := ldaptest.SharedSamba(t, ldaptest.SambaOptions{LDIF: []string{"testdata/seed.ldif"}, Generate: sambaGenerated})
	return peer{
		name: "samba", url: s.URL(), ldapsURL: s.LDAPSURL(), caFile: s.CAFile(), caPool: s.CAPool(),
		bindDN: s.BindDN, password: s.Password, baseDN: s.BaseDN, generated: sambaGenerated,
		addUser:    func(u ldaptest.User) string { return s.AddUser(t, u) },
		deleteUser: func(dn string) { s.DeleteUser(t, dn) },
	}
}

// bothPeers runs fn once against slapd (seeded) and once against Samba.
func bothPeers(t *testing.T, fn func(t *testing.T, p peer)) {
	t.Run("slapd", func(t *testing.T) { fn(t, slapdPeer(t)) })
	t.Run("samba", func(t *testing.T) { fn(t, sambaPeer(t)) })
}

// config is the configuration for p: StartTLS with the test CA, bound as
// the service account, NetBIOS name from CN=Partitions.
func (p peer) config() directory.Config {
	return directory.Config{
		URL: p.url, StartTLS: true, CAFile: p.caFile,
		BindDN: p.bindDN, BindPassword: p.password, BaseDN: p.baseDN,
		DialTimeout: 5 * time.Second, Timeout: 10 * time.Second,
	}
}

// seedEntries is the number of users of testdata/seed.ldif the directory
// keeps (svc-other has no SIP address).
const seedEntries = 7
