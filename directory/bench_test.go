package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/directory/ldaptest"
	"github.com/rs/zerolog"
)

const benchUsers = 100_000

// BenchmarkSync100k is one full load of 100,000 users from slapd over
// StartTLS, paged by 1000 as the size-limited service account, plus the
// index build and swap. (Setup bulk-loads slapd with slapadd first.)
func BenchmarkSync100k(b *testing.B) {
	s := ldaptest.Start(b, ldaptest.Options{Generate: benchUsers})
	src, err := NewLDAPSource(Config{
		URL: s.URL(), StartTLS: true, CAFile: s.CAFile(),
		BindDN: s.BindDN, BindPassword: s.Password, BaseDN: s.BaseDN,
	})
	if err != nil {
		b.Fatal(err)
	}
	c := NewCache(src, CacheOptions{Refresh: -1}, zerolog.Nop())
	for b.Loop() {
		if err := c.Reload(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	st := c.Stats()
	if st.Entries != benchUsers {
		b.Fatalf("loaded %d users, want %d", st.Entries, benchUsers)
	}
	perSync := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(st.Pages), "pages/op")
	b.ReportMetric(float64(benchUsers)/perSync.Seconds(), "users/s")
}

// benchCache is a cache of 100,000 generated users, loaded from memory.
func benchCache(b *testing.B) *Cache {
	b.Helper()
	entries := make([]Entry, benchUsers)
	for i := range entries {
		u := ldaptest.Numbered(i, "example.com")
		entries[i] = Entry{
			DN: "CN=" + u.SAMAccountName + ",CN=Users,DC=example,DC=com", SIPAddress: u.SIPAddress,
			Account: Account{Domain: "EXAMPLE", SAM: u.SAMAccountName}, UPN: u.UPN, DisplayName: u.DisplayName,
			Telephone: u.Telephone, LineURI: u.Line, LineServerURI: u.LineServer, RCCEnabled: true, Enabled: true,
		}
	}
	c := NewCache(staticSource(entries), CacheOptions{Refresh: -1}, zerolog.Nop())
	if err := c.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkBuildIndex100k is the in-memory part of a sync: validating and
// indexing 100,000 entries.
func BenchmarkBuildIndex100k(b *testing.B) {
	c := benchCache(b)
	entries := c.cur.Load().entries
	for b.Loop() {
		if ix := buildIndex(entries); len(ix.entries) != benchUsers {
			b.Fatal("lost entries")
		}
	}
}

// BenchmarkLookup measures lookups in a cache of 100,000 users.
func BenchmarkLookup(b *testing.B) {
	c := benchCache(b)
	u := ldaptest.Numbered(54321, "example.com")
	cases := []struct {
		name, in string
		lookup   func(string) (Entry, error)
		miss     bool
	}{
		{"SIP", u.SIPAddress, c.LookupSIP, false},
		{"SIPMixedCase", "SIP:User054321@Example.com", c.LookupSIP, false},
		{"SIPMiss", "sip:nobody@example.com", c.LookupSIP, true},
		{"LineExact", u.Line, c.LookupLine, false},
		{"LineNormalised", "tel:+1 317 005 4321", c.LookupLine, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := tc.lookup(tc.in)
				if tc.miss != errors.Is(err, ErrNotFound) || !tc.miss && e.Account.SAM != u.SAMAccountName {
					b.Fatalf("%s: %+v, %v", tc.in, e, err)
				}
			}
		})
	}
	b.Run("SIPParallel", func(b *testing.B) {
		addrs := make([]string, 4096)
		for i := range addrs {
			addrs[i] = ldaptest.Numbered(i*24, "example.com").SIPAddress
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := c.LookupSIP(addrs[i%len(addrs)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// staticSource serves fixed entries.
type staticSource []Entry

func (s staticSource) Name() string { return "static" }

func (s staticSource) Load(context.Context) (Batch, error) { return Batch{Entries: s}, nil }

// BenchmarkSyncVsLdapsearch100k compares, in the same run against the same
// slapd, one directory sync of 100,000 users with OpenLDAP's ldapsearch
// pulling the same entries the same way: StartTLS, the service account,
// the same base, filter, attributes and page size (RFC 2696), output
// discarded. It reports both times and their ratio (docs/performance.md).
func BenchmarkSyncVsLdapsearch100k(b *testing.B) {
	s := ldaptest.Start(b, ldaptest.Options{Generate: benchUsers})
	cfg := Config{
		URL: s.URL(), StartTLS: true, CAFile: s.CAFile(),
		BindDN: s.BindDN, BindPassword: s.Password, BaseDN: s.BaseDN,
	}.WithDefaults()
	src, err := NewLDAPSource(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ldapsearch, err := exec.LookPath("ldapsearch")
	if err != nil {
		b.Fatalf("ldapsearch: %v (install ldap-utils)", err)
	}
	args := append([]string{"-LLL", "-ZZ", "-x", "-H", cfg.URL, "-D", cfg.BindDN, "-y", passwordFile(b, cfg.BindPassword),
		"-b", cfg.BaseDN, "-E", fmt.Sprintf("pr=%d/noprompt", cfg.PageSize), cfg.Filter},
		src.request...)
	c := NewCache(src, CacheOptions{Refresh: -1}, zerolog.Nop())
	var goTime, ldTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		cmd := exec.Command(ldapsearch, args...)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+s.CAFile(), "LDAPTLS_REQCERT=demand")
		cmd.Stdout = io.Discard
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("ldapsearch: %v\n%s", err, stderr.String())
		}
		t1 := time.Now()
		if err := c.Reload(b.Context()); err != nil {
			b.Fatal(err)
		}
		goTime += time.Since(t1)
		ldTime += t1.Sub(t0)
	}
	if st := c.Stats(); st.Entries != benchUsers {
		b.Fatalf("loaded %d users, want %d", st.Entries, benchUsers)
	}
	n := float64(b.N)
	b.ReportMetric(goTime.Seconds()/n, "sync-s/op")
	b.ReportMetric(ldTime.Seconds()/n, "ldapsearch-s/op")
	b.ReportMetric(goTime.Seconds()/ldTime.Seconds(), "sync/ldapsearch")
}

// passwordFile writes the bind password to a 0600 file for ldapsearch -y
// (never on its command line).
func passwordFile(b *testing.B, pw string) string {
	path := filepath.Join(b.TempDir(), "bindpw")
	if err := os.WriteFile(path, []byte(pw), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
