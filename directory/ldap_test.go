package directory_test

// Integration tests against real servers (directory/ldaptest): slapd with
// an AD-like schema, and where both apply a Samba AD DC (see peers_test.go):
// TLS, binds, paging under a server size limit, refresh, outages, snapshot,
// bad data, disabled accounts.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/directory/ldaptest"
	"github.com/rs/zerolog"
)

// ldapConfig is the configuration for s: StartTLS with the test CA, bound as
// the (size-limited) service account, NetBIOS name from CN=Partitions.
func ldapConfig(s *ldaptest.Server) directory.Config {
	return directory.Config{
		URL: s.URL(), StartTLS: true, CAFile: s.CAFile(),
		BindDN: s.BindDN, BindPassword: s.Password, BaseDN: s.BaseDN,
		DialTimeout: 5 * time.Second, Timeout: 10 * time.Second,
	}
}

func startCache(t *testing.T, cfg directory.Config, log zerolog.Logger) *directory.Cache {
	t.Helper()
	c, err := directory.New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return c
}

func seeded(t *testing.T, extra ...string) *ldaptest.Server {
	return ldaptest.Start(t, ldaptest.Options{LDIF: append([]string{"testdata/seed.ldif"}, extra...)})
}

func TestLDAPLookups(t *testing.T) { bothPeers(t, testLookups) }

func testLookups(t *testing.T, p peer) {
	c := startCache(t, p.config(), zerolog.New(zerolog.NewTestWriter(t)))

	alice, err := c.LookupSIP("sip:alice@example.com")
	want := directory.Entry{
		DN: "CN=Alice Example,CN=Users,DC=example,DC=com", SIPAddress: "sip:alice@example.com",
		Account: directory.Account{Domain: "EXAMPLE", SAM: "alice"}, UPN: "alice@example.com",
		DisplayName: "Alice Example", Telephone: "+1 317 555 1010", LineURI: "tel:+13175551010",
		LineServerURI: "sip:rcc@rcc.example.com", RCCEnabled: true, Enabled: true,
	}
	// slapd returns DNs with lower-case attribute types (cn=…,dc=…), Samba
	// as AD stores them (CN=…,DC=…); DNs compare case-insensitively.
	if strings.EqualFold(alice.DN, want.DN) {
		want.DN = alice.DN
	}
	if err != nil || alice != want {
		t.Fatalf("alice = %+v, %v\nwant    %+v", alice, err, want)
	}
	if got := alice.Account.String(); got != `EXAMPLE\alice` {
		t.Errorf("account = %s", got)
	}

	t.Run("sip", func(t *testing.T) {
		tests := []struct{ in, sam string }{
			{"sip:alice@example.com", "alice"},
			{"alice@example.com", "alice"},
			{"SIP:ALICE@EXAMPLE.COM", "alice"},
			{"<sip:Alice@Example.com;transport=tls>", "alice"},
			{"sip:bob@example.com", "bob"}, // stored as sip:Bob@Example.com
			{"sip:mallory@example.com", ""},
			{"sip:svc-other@example.com", ""}, // not a Lync user
		}
		for _, tt := range tests {
			e, err := c.LookupSIP(tt.in)
			if tt.sam == "" {
				if !errors.Is(err, directory.ErrNotFound) {
					t.Errorf("LookupSIP(%q) = %+v, %v; want ErrNotFound", tt.in, e, err)
				}
				continue
			}
			if err != nil || e.Account.SAM != tt.sam {
				t.Errorf("LookupSIP(%q) = %q, %v; want %s", tt.in, e.Account.SAM, err, tt.sam)
			}
		}
	})

	t.Run("line", func(t *testing.T) {
		tests := []struct{ in, sam string }{
			{"tel:+13175551010", "alice"},
			{"TEL:+13175551010", "alice"},
			{"tel:+1 317 555 1010", "alice"},
			{"tel:+1-317-555-1010", "alice"},
			{"TEL:+1 (317) 555-1020", "bob"}, // exactly as stored
			{"tel:+13175551020", "bob"},      // normalised
			{"tel:+1.317.555.1020", "bob"},
			{"tel:+13175551040;ext=40", "dave"},
			{"sip:1060@PBX.example.com;user=phone", "frank"},
			{"tel:+13175551040", ""}, // the extension is part of the line
			{"tel:+13175559999", ""},
		}
		for _, tt := range tests {
			e, err := c.LookupLine(tt.in)
			if tt.sam == "" {
				if !errors.Is(err, directory.ErrNotFound) {
					t.Errorf("LookupLine(%q) = %+v, %v; want ErrNotFound", tt.in, e, err)
				}
				continue
			}
			if err != nil || e.Account.SAM != tt.sam {
				t.Errorf("LookupLine(%q) = %q, %v; want %s", tt.in, e.Account.SAM, err, tt.sam)
			}
		}
	})

	t.Run("flags", func(t *testing.T) {
		tests := []struct {
			sam          string
			rcc, enabled bool
			line         string
		}{
			{"carol", false, true, "tel:+13175551030"},
			{"dave", true, false, "tel:+13175551040;ext=40"},
			{"erin", true, true, ""},
		}
		for _, tt := range tests {
			e, err := c.LookupSIP(tt.sam + "@example.com")
			if err != nil || e.RCCEnabled != tt.rcc || e.Enabled != tt.enabled || e.LineURI != tt.line {
				t.Errorf("%s = %+v, %v; want rcc %v enabled %v line %q", tt.sam, e, err, tt.rcc, tt.enabled, tt.line)
			}
		}
	})

	if st := c.Stats(); st.Entries != seedEntries+p.generated || st.Skipped != 0 || st.Syncs != 1 || st.Pages != 1 {
		t.Errorf("Stats = %+v, want %d entries", st, seedEntries+p.generated)
	}
}

// TestLDAPAccountDisabled: judy's Windows account is disabled
// (userAccountControl 546, ACCOUNTDISABLE) while her Lync attributes enable
// RCC: the entry says so, unless admit_disabled_accounts is set.
func TestLDAPAccountDisabled(t *testing.T) {
	bothPeers(t, func(t *testing.T, p peer) {
		c := startCache(t, p.config(), zerolog.Nop())
		judy, err := c.LookupSIP("sip:judy@example.com")
		if err != nil || !judy.AccountDisabled || !judy.RCCEnabled || !judy.Enabled {
			t.Errorf("judy = %+v, %v; want AccountDisabled with RCC and Lync enabled", judy, err)
		}
		if alice, err := c.LookupSIP("sip:alice@example.com"); err != nil || alice.AccountDisabled {
			t.Errorf("alice = %+v, %v; want an enabled account", alice, err)
		}
		cfg := p.config()
		cfg.AdmitDisabledAccounts = true
		c = startCache(t, cfg, zerolog.Nop())
		if judy, err := c.LookupSIP("sip:judy@example.com"); err != nil || judy.AccountDisabled {
			t.Errorf("judy with admit_disabled_accounts = %+v, %v", judy, err)
		}
	})
}

// TestLDAPNetBIOSFromConfig: a configured NetBIOS name wins over the
// crossRef, and the RCC mask is configurable.
func TestLDAPNetBIOSFromConfig(t *testing.T) { bothPeers(t, testNetBIOSFromConfig) }

func testNetBIOSFromConfig(t *testing.T, p peer) {
	cfg := p.config()
	cfg.NetBIOSDomain = "CORP"
	cfg.RCCOptionMask = 256 // enhanced presence, to prove the mask is used
	c := startCache(t, cfg, zerolog.Nop())
	carol, err := c.LookupSIP("sip:carol@example.com")
	if err != nil || carol.Account.String() != `CORP\carol` || !carol.RCCEnabled {
		t.Errorf("carol = %+v, %v; want CORP\\carol with RCC (mask 256)", carol, err)
	}
	if bob, _ := c.LookupSIP("sip:bob@example.com"); bob.RCCEnabled {
		t.Errorf("bob has flags 16, RCC with mask 256: %+v", bob)
	}
}

// TestLDAPPaging: 1500 users through a server that returns at most 1000 to
// an unpaged search (see ldaptest's TestSizeLimitNeedsPaging): all of them
// arrive, over more than one page.
func TestLDAPPaging(t *testing.T) {
	const n = 1500
	s := ldaptest.Start(t, ldaptest.Options{Generate: n})
	for _, tt := range []struct {
		pageSize uint32
		pages    int
	}{{0, 2}, {400, 4}} {
		cfg := ldapConfig(s)
		cfg.PageSize = tt.pageSize
		c := startCache(t, cfg, zerolog.Nop())
		st := c.Stats()
		if st.Entries != n || st.Pages != tt.pages {
			t.Errorf("page size %d: %d entries in %d pages, want %d in %d", tt.pageSize, st.Entries, st.Pages, n, tt.pages)
		}
		last := ldaptest.Numbered(n-1, s.Domain)
		if e, err := c.LookupLine(last.Line); err != nil || e.Account.SAM != last.SAMAccountName {
			t.Errorf("last user by line: %+v, %v", e, err)
		}
	}
}

func TestLDAPRefreshSeesChanges(t *testing.T) { bothPeers(t, testRefreshSeesChanges) }

// testRefreshSeesChanges adds two users and deletes one of them: a reload
// sees both changes. (The shared Samba ends as it began.)
func testRefreshSeesChanges(t *testing.T, p peer) {
	c := startCache(t, p.config(), zerolog.Nop())
	ivan := ldaptest.User{CN: "Ivan New", SAMAccountName: "ivan", SIPAddress: "sip:ivan@example.com",
		Line: "tel:+13175551090", OptionFlags: 16}
	kim := ldaptest.User{CN: "Kim New", SAMAccountName: "kim", SIPAddress: "sip:kim@example.com",
		Line: "tel:+13175551091", OptionFlags: 16}
	if _, err := c.LookupSIP("sip:ivan@example.com"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ivan before he exists: %v", err)
	}
	ivanDN := p.addUser(ivan)
	kimDN := p.addUser(kim)
	defer p.deleteUser(kimDN)
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e, err := c.LookupLine("tel:+13175551090"); err != nil || e.Account.String() != `EXAMPLE\ivan` {
		t.Errorf("ivan after reload: %+v, %v", e, err)
	}
	p.deleteUser(ivanDN)
	// The cache does not change until it reloads.
	if _, err := c.LookupSIP("sip:ivan@example.com"); err != nil {
		t.Fatalf("ivan before the second reload: %v", err)
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupSIP("sip:ivan@example.com"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("ivan after reload: %v, want ErrNotFound", err)
	}
	if e, err := c.LookupSIP("sip:kim@example.com"); err != nil || e.LineURI != kim.Line {
		t.Errorf("kim after reload: %+v, %v", e, err)
	}
	if st, want := c.Stats(), seedEntries+p.generated+1; st.Syncs != 3 || st.Entries != want {
		t.Errorf("Stats = %+v, want 3 syncs, %d entries", st, want)
	}
}

// TestLDAPOutage stops slapd under a running cache: lookups keep working
// from memory, failed refreshes are counted, and a refresh after the
// restart succeeds.
func TestLDAPOutage(t *testing.T) {
	s := seeded(t)
	c := startCache(t, ldapConfig(s), zerolog.New(zerolog.NewTestWriter(t)))
	s.Stop()

	err := c.Reload(t.Context())
	if !errors.Is(err, directory.ErrUnreachable) {
		t.Fatalf("Reload with slapd down = %v, want ErrUnreachable", err)
	}
	if e, err := c.LookupSIP("sip:alice@example.com"); err != nil || e.LineURI != "tel:+13175551010" {
		t.Errorf("lookup with slapd down: %+v, %v", e, err)
	}
	if st := c.Stats(); st.Failures != 1 || !st.Stale || st.Entries != seedEntries {
		t.Errorf("Stats while down = %+v", st)
	}

	s.Restart()
	if err := c.Reload(t.Context()); err != nil {
		t.Fatalf("Reload after restart: %v", err)
	}
	if st := c.Stats(); st.Syncs != 2 || st.Failures != 1 || st.Stale {
		t.Errorf("Stats after restart = %+v", st)
	}
}

// TestLDAPOutagePeriodic drives the refresh loop (with the wall clock and
// short intervals) through an outage.
func TestLDAPOutagePeriodic(t *testing.T) {
	s := seeded(t)
	src, err := directory.NewLDAPSource(ldapConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	c := directory.NewCache(src, directory.CacheOptions{Refresh: 50 * time.Millisecond, RetryMin: 20 * time.Millisecond}, zerolog.Nop())
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "two periodic syncs", func() bool { return c.Stats().Syncs >= 3 })
	s.Stop()
	waitFor(t, "two failed refreshes", func() bool { return c.Stats().Failures >= 2 })
	if _, err := c.LookupSIP("sip:alice@example.com"); err != nil {
		t.Errorf("lookup during the outage: %v", err)
	}
	s.Restart()
	waitFor(t, "recovery", func() bool { return !c.Stats().Stale })
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLDAPStartFromSnapshot(t *testing.T) {
	s := seeded(t)
	cfg := ldapConfig(s)
	cfg.Snapshot = filepath.Join(t.TempDir(), "directory.json")
	startCache(t, cfg, zerolog.Nop()) // writes the snapshot
	s.Stop()

	var logs logBuffer
	c := startCache(t, cfg, zerolog.New(&logs))
	if e, err := c.LookupSIP("sip:alice@example.com"); err != nil || e.Account.String() != `EXAMPLE\alice` {
		t.Errorf("alice from the snapshot: %+v, %v", e, err)
	}
	if e, err := c.LookupLine("tel:+13175551020"); err != nil || e.Account.SAM != "bob" {
		t.Errorf("bob's line from the snapshot: %+v, %v", e, err)
	}
	if st := c.Stats(); !st.FromSnapshot || st.Entries != seedEntries || st.Failures != 1 {
		t.Errorf("Stats = %+v", st)
	}
	out := logs.String()
	if !strings.Contains(out, "serving the last good snapshot") || !strings.Contains(out, "LDAP server unreachable") {
		t.Errorf("log does not explain the snapshot start:\n%s", out)
	}
}

func TestLDAPWrongPassword(t *testing.T) { bothPeers(t, testWrongPassword) }

func testWrongPassword(t *testing.T, p peer) {
	cfg := p.config()
	cfg.BindPassword = "wrong-Secret-42"
	var logs logBuffer
	c, err := directory.New(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(t.Context())
	if !errors.Is(err, directory.ErrBind) {
		t.Fatalf("Start = %v, want ErrBind", err)
	}
	msg := err.Error()
	for _, want := range []string{"bind", p.bindDN, "Invalid Credentials"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg+logs.String(), cfg.BindPassword) {
		t.Errorf("the password appears in the error or the log")
	}
}

func TestLDAPPlainBind(t *testing.T) {
	s := seeded(t)
	cfg := ldapConfig(s)
	cfg.StartTLS = false

	// Refused by configuration...
	_, err := directory.New(cfg, zerolog.Nop())
	var ce *directory.ConfigError
	if !errors.Is(err, directory.ErrInsecureBind) || !errors.As(err, &ce) || ce.Key != "directory.start_tls" {
		t.Fatalf("New with ldap:// and no StartTLS = %v, want ErrInsecureBind on directory.start_tls", err)
	}
	// ...and allowed for tests only when asked.
	cfg.AllowInsecure = true
	c := startCache(t, cfg, zerolog.Nop())
	if _, err := c.LookupSIP("sip:alice@example.com"); err != nil {
		t.Errorf("lookup over plain LDAP with allow_insecure: %v", err)
	}

	// A server that requires TLS refuses it anyway, and says why.
	strict := ldaptest.Start(t, ldaptest.Options{RequireTLS: true, LDIF: []string{"testdata/seed.ldif"}})
	cfg = ldapConfig(strict)
	cfg.StartTLS, cfg.AllowInsecure = false, true
	c, err = directory.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); !errors.Is(err, directory.ErrBind) || !strings.Contains(err.Error(), "Confidentiality Required") {
		t.Errorf("plain bind to a TLS-only server = %v", err)
	}

	// Samba (like AD with LDAP signing required, the default since Samba
	// 4.4) refuses a simple bind without TLS with strongerAuthRequired (8).
	cfg = sambaPeer(t).config()
	cfg.StartTLS, cfg.AllowInsecure = false, true
	c, err = directory.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); !errors.Is(err, directory.ErrBind) || !strings.Contains(err.Error(), "Strong Auth Required") {
		t.Errorf("plain bind to Samba = %v, want ErrBind with Strong Auth Required", err)
	}
}

func TestLDAPTLS(t *testing.T) { bothPeers(t, testTLS) }

// testTLS: LDAPS and StartTLS work with the right CA; every TLS failure is
// ErrTLS (never ErrUnreachable, the TCP connection worked) and names its
// cause.
func testTLS(t *testing.T, p peer) {
	t.Run("ldaps", func(t *testing.T) {
		cfg := p.config()
		cfg.URL, cfg.StartTLS = p.ldapsURL, false
		c := startCache(t, cfg, zerolog.Nop())
		if st := c.Stats(); st.Entries != seedEntries+p.generated {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("tls config", func(t *testing.T) {
		cfg := p.config()
		cfg.CAFile = ""
		cfg.TLS = &tls.Config{RootCAs: p.caPool, MinVersion: tls.VersionTLS12}
		startCache(t, cfg, zerolog.Nop())
	})
	for _, tc := range []struct {
		name   string
		change func(*directory.Config)
		want   []string
	}{
		// The system roots do not know the test CA.
		{"unknown CA", func(c *directory.Config) { c.CAFile = "" },
			[]string{"does not lead to a trusted CA", "ldaptest", "certificate signed by unknown authority"}},
		{"wrong name", func(c *directory.Config) { c.ServerName = "wrong.example.com" },
			[]string{`not valid for the name "wrong.example.com"`, "127.0.0.1", "localhost"}},
		{"ldaps unknown CA", func(c *directory.Config) { c.URL, c.StartTLS, c.CAFile = p.ldapsURL, false, "" },
			[]string{"TLS handshake with", "does not lead to a trusted CA"}},
		{"ldaps wrong name", func(c *directory.Config) { c.URL, c.StartTLS, c.ServerName = p.ldapsURL, false, "wrong.example.com" },
			[]string{`not valid for the name "wrong.example.com"`}},
		{"TLS to a plain port", func(c *directory.Config) { c.URL, c.StartTLS = strings.Replace(p.url, "ldap:", "ldaps:", 1), false },
			[]string{"closed the connection during the TLS handshake"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := p.config()
			tc.change(&cfg)
			c, err := directory.New(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			err = c.Start(t.Context())
			if !errors.Is(err, directory.ErrTLS) || errors.Is(err, directory.ErrUnreachable) {
				t.Fatalf("Start = %v, want ErrTLS and not ErrUnreachable", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestLDAPCAFileErrors: a CA file Go cannot parse is reported with Go's
// reason, not as "no PEM certificate".
func TestLDAPCAFileErrors(t *testing.T) {
	s := seeded(t)
	dir := t.TempDir()
	negative := filepath.Join(dir, "negative-serial.pem")
	writeNegativeSerialCert(t, negative)
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want string
	}{
		{negative, "certificate 1 in " + negative + " cannot be parsed: x509: negative serial number"},
		{empty, "no PEM certificate"},
	} {
		cfg := ldapConfig(s)
		cfg.CAFile = tc.file
		_, err := directory.New(cfg, zerolog.Nop())
		var ce *directory.ConfigError
		if !errors.As(err, &ce) || ce.Key != "directory.ca_file" || !errors.Is(err, directory.ErrTLS) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with ca_file %s = %v, want a directory.ca_file error saying %q", filepath.Base(tc.file), err, tc.want)
		}
	}
}

// writeNegativeSerialCert writes a self-signed certificate whose serial
// number is negative, as Samba's self-made certificate has in about half of
// its provisions: x509.CreateCertificate refuses a negative serial, so
// the test makes one with serial 0x7f and flips that byte to 0x81 (-127)
// in the DER. The signature no longer matches, which does not matter:
// parsing fails first.
func writeNegativeSerialCert(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x7f), Subject: pkix.Name{CommonName: "dc1.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	// tbsCertificate: SEQUENCE, [0] version (a0 03 02 01 02), serial INTEGER 02 01 7f.
	i := bytes.Index(der, []byte{0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x7f})
	if i < 0 {
		t.Fatal("serial number not found in the DER")
	}
	der[i+7] = 0x81
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLDAPUnreachable(t *testing.T) {
	s := seeded(t)
	cfg := ldapConfig(s)
	s.Stop()
	c, err := directory.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "no snapshot") {
		t.Errorf("Start with slapd down and no snapshot = %v", err)
	}
}

// TestLDAPBadData: entries with bad data are skipped with a warning that
// names their DN; users sharing a line stay, but the line is ambiguous.
func TestLDAPBadData(t *testing.T) {
	s := seeded(t, "testdata/bad.ldif")
	var logs logBuffer
	c := startCache(t, ldapConfig(s), zerolog.New(&logs))

	skipped := map[string]string{
		"CN=Dup One,CN=Users,DC=example,DC=com":   "duplicate SIP address",
		"CN=Dup Two,CN=Users,DC=example,DC=com":   "duplicate SIP address",
		"CN=No Sam,CN=Users,DC=example,DC=com":    "no sAMAccountName",
		"CN=Bad Line,CN=Users,DC=example,DC=com":  "malformed line URI",
		"CN=No Scheme,CN=Users,DC=example,DC=com": "has no scheme",
		"CN=Bad Sip,CN=Users,DC=example,DC=com":   "malformed SIP address",
	}
	warnings := map[string]string{}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, "directory entry skipped") {
			for dn := range skipped {
				// DNs compare case-insensitively (slapd lower-cases the types).
				if strings.Contains(strings.ToLower(line), strings.ToLower(fmt.Sprintf(`"dn":%q`, dn))) {
					warnings[dn] = line
				}
			}
		}
	}
	for dn, reason := range skipped {
		if !strings.Contains(warnings[dn], reason) {
			t.Errorf("no warning naming %s with %q; log:\n%s", dn, reason, logs.String())
		}
	}
	for _, sip := range []string{"sip:dup@example.com", "sip:nosam@example.com", "sip:badline@example.com"} {
		if _, err := c.LookupSIP(sip); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", sip, err)
		}
	}

	// Shared line: both users stay, the line is ambiguous, and it is logged.
	for _, sip := range []string{"sip:grace@example.com", "sip:heidi@example.com"} {
		if _, err := c.LookupSIP(sip); err != nil {
			t.Errorf("%s: %v", sip, err)
		}
	}
	if _, err := c.LookupLine("tel:+13175559070"); !errors.Is(err, directory.ErrAmbiguous) {
		t.Errorf("shared line: %v, want ErrAmbiguous", err)
	}
	if !strings.Contains(logs.String(), "line URI shared by several users") || !strings.Contains(strings.ToLower(logs.String()), "cn=grace shared") {
		t.Errorf("no warning about the shared line")
	}

	st := c.Stats()
	if st.Skipped != len(skipped) || st.Entries != seedEntries+2 {
		t.Errorf("Stats = %+v, want %d skipped and %d entries", st, len(skipped), seedEntries+2)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf(`"entries":%d,"skipped":%d`, seedEntries+2, len(skipped))) {
		t.Errorf("summary line missing:\n%s", logs.String())
	}
	if got := len(c.Skipped()); got != len(skipped) {
		t.Errorf("Skipped() has %d entries", got)
	}
}

// TestLDAPConcurrentLookupsDuringReload runs lookups from many goroutines
// while the cache reloads 1500 users from slapd (meant for -race).
func TestLDAPConcurrentLookupsDuringReload(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{Generate: 1500})
	c := startCache(t, ldapConfig(s), zerolog.Nop())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lookups [4]int
	for g := range lookups {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Yield, so that busy lookups on 2 CPUs under -race do not
				// starve the reload into its operation timeout.
				runtime.Gosched()
				u := ldaptest.Numbered((g*211+i)%1500, s.Domain)
				e, err := c.LookupSIP(u.SIPAddress)
				if err != nil || e.LineURI != u.Line {
					t.Errorf("lookup %s during reload: %+v, %v", u.SIPAddress, e, err)
					return
				}
				if _, err := c.LookupLine(u.Line); err != nil {
					t.Errorf("line %s during reload: %v", u.Line, err)
					return
				}
				lookups[g]++
			}
		})
	}
	for range 3 {
		if err := c.Reload(t.Context()); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if st := c.Stats(); st.Syncs != 4 || st.Entries != 1500 {
		t.Errorf("Stats = %+v", st)
	}
	t.Logf("lookups per goroutine during 3 reloads: %v", lookups)
}

// switchSource loads from first until switched, then from second: a
// configuration change between refreshes, as a mistyped filter would be.
type switchSource struct {
	first, second directory.Source
	switched      atomic.Bool
}

func (s *switchSource) Name() string { return s.first.Name() }

func (s *switchSource) Load(ctx context.Context) (directory.Batch, error) {
	if s.switched.Load() {
		return s.second.Load(ctx)
	}
	return s.first.Load(ctx)
}

// TestLDAPEmptyRefresh: a filter naming an attribute the schema lacks makes
// AD (and slapd) answer success with 0 entries. At start that is an error;
// on a refresh the current directory stays, the refusal is logged with its
// code and counted.
func TestLDAPEmptyRefresh(t *testing.T) {
	bothPeers(t, func(t *testing.T, p peer) {
		typo := p.config()
		typo.Filter = "(msRTCSIP-PrimaryUserAdress=*)"
		bad, err := directory.NewLDAPSource(typo)
		if err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		c := directory.NewCache(bad, directory.CacheOptions{Refresh: -1}, zerolog.New(&logs))
		if err := c.Start(t.Context()); !errors.Is(err, directory.ErrEmpty) {
			t.Fatalf("Start with a filter matching nothing = %v, want ErrEmpty", err)
		}
		if _, err := c.LookupSIP("sip:alice@example.com"); !errors.Is(err, directory.ErrNotLoaded) {
			t.Errorf("lookup after the empty start: %v, want ErrNotLoaded", err)
		}
		if !strings.Contains(logs.String(), `"code":"Cs_DirectoryEmpty"`) || !strings.Contains(logs.String(), `"level":"error"`) {
			t.Errorf("empty start not logged as an error with its code:\n%s", logs.String())
		}

		good, err := directory.NewLDAPSource(p.config())
		if err != nil {
			t.Fatal(err)
		}
		src := &switchSource{first: good, second: bad}
		logs = logBuffer{}
		c = directory.NewCache(src, directory.CacheOptions{Refresh: -1}, zerolog.New(&logs))
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		src.switched.Store(true)
		if err := c.Reload(t.Context()); !errors.Is(err, directory.ErrEmpty) || !errors.Is(err, directory.ErrShrunk) {
			t.Fatalf("empty refresh = %v, want ErrEmpty and ErrShrunk", err)
		}
		if e, err := c.LookupSIP("sip:alice@example.com"); err != nil || e.Account.SAM != "alice" {
			t.Errorf("alice after the refused refresh: %+v, %v", e, err)
		}
		st := c.Stats()
		if st.Entries != seedEntries+p.generated || st.Refused != 1 || st.Syncs != 1 || !st.Stale {
			t.Errorf("Stats = %+v, want the old entries, 1 refused, stale", st)
		}
		if !strings.Contains(logs.String(), `"code":"Cs_DirectoryEmpty"`) || !strings.Contains(logs.String(), `"level":"warn"`) {
			t.Errorf("refused refresh not logged as a warning with its code:\n%s", logs.String())
		}
		src.switched.Store(false)
		if err := c.Reload(t.Context()); err != nil {
			t.Fatalf("good refresh after the refused one: %v", err)
		}
		if st := c.Stats(); st.Stale || st.Syncs != 2 {
			t.Errorf("Stats after recovery = %+v", st)
		}
	})
}

// TestSambaBindNamesAndGlobalCatalog: AD accepts the service account as
// DN, UPN and down-level name, and the global catalog (port 3268, with
// StartTLS) serves the same users.
func TestSambaBindNamesAndGlobalCatalog(t *testing.T) {
	p := sambaPeer(t)
	s := ldaptest.SharedSamba(t, ldaptest.SambaOptions{})
	for _, name := range []string{p.bindDN, "svc-rcc@example.com", `EXAMPLE\svc-rcc`} {
		cfg := p.config()
		cfg.BindDN = name
		c := startCache(t, cfg, zerolog.Nop())
		if st := c.Stats(); st.Entries != seedEntries+p.generated {
			t.Errorf("bound as %s: Stats = %+v", name, st)
		}
	}
	cfg := p.config()
	cfg.URL = s.GlobalCatalogURL()
	c := startCache(t, cfg, zerolog.Nop())
	if e, err := c.LookupSIP("sip:alice@example.com"); err != nil || e.Account.String() != `EXAMPLE\alice` {
		t.Errorf("alice through the global catalog: %+v, %v", e, err)
	}
}
