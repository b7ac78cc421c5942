package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// fakeLDAP is an ldap.Client that serves users in pages, the way AD does
// with the paged results control (RFC 2696), plus a root DSE and crossRefs.
// Methods not overridden panic (nil embedded interface).
type fakeLDAP struct {
	ldap.Client

	pages     [][]*ldap.Entry // users, page by page
	failPage  int             // 1-based page whose search fails; 0: none
	failErr   error
	noPaging  bool          // answer without a paging control
	configNC  string        // root DSE configurationNamingContext
	crossRefs []*ldap.Entry // under CN=Partitions
	isTLS     bool
	bound     []string             // bind names used
	requests  []ldap.ControlPaging // paging control of each user search
	closed    bool
}

func (f *fakeLDAP) TLSConnectionState() (tls.ConnectionState, bool) {
	return tls.ConnectionState{HandshakeComplete: f.isTLS}, f.isTLS
}

func (f *fakeLDAP) Bind(user, _ string) error {
	f.bound = append(f.bound, user)
	return nil
}

func (f *fakeLDAP) Close() error {
	f.closed = true
	return nil
}

func (f *fakeLDAP) Search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	switch {
	case req.BaseDN == "":
		attrs := map[string][]string{}
		if f.configNC != "" {
			attrs["configurationNamingContext"] = []string{f.configNC}
		}
		return &ldap.SearchResult{Entries: []*ldap.Entry{ldap.NewEntry("", attrs)}}, nil
	case strings.HasPrefix(req.BaseDN, "CN=Partitions,"):
		if f.configNC != "" && req.BaseDN != "CN=Partitions,"+f.configNC {
			return nil, ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("no such object"))
		}
		return &ldap.SearchResult{Entries: f.crossRefs}, nil
	}
	ctrl, _ := ldap.FindControl(req.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if ctrl == nil {
		return nil, errors.New("fake: user search without paging control")
	}
	f.requests = append(f.requests, ldap.ControlPaging{PagingSize: ctrl.PagingSize, Cookie: append([]byte(nil), ctrl.Cookie...)})
	page := 0
	if len(ctrl.Cookie) > 0 {
		page, _ = strconv.Atoi(string(ctrl.Cookie))
	}
	if page+1 == f.failPage {
		return nil, f.failErr
	}
	res := &ldap.SearchResult{Entries: f.pages[page]}
	if !f.noPaging {
		next := ldap.NewControlPaging(ctrl.PagingSize)
		if page+1 < len(f.pages) {
			next.SetCookie([]byte(strconv.Itoa(page + 1)))
		}
		res.Controls = []ldap.Control{next}
	}
	return res, nil
}

func fakeUser(dn, sam string, attrs map[string]string) *ldap.Entry {
	m := map[string][]string{
		"msRTCSIP-PrimaryUserAddress": {"sip:" + sam + "@example.com"},
		"sAMAccountName":              {sam},
		"msRTCSIP-OptionFlags":        {"16"},
		"msRTCSIP-UserEnabled":        {"TRUE"},
	}
	for k, v := range attrs {
		if v == "" {
			delete(m, k)
			continue
		}
		m[k] = []string{v}
	}
	return ldap.NewEntry(dn, m)
}

// pagesOf makes n users in pages of size.
func pagesOf(n, size int) [][]*ldap.Entry {
	var pages [][]*ldap.Entry
	for i := 0; i < n; i += size {
		var p []*ldap.Entry
		for j := i; j < min(i+size, n); j++ {
			sam := fmt.Sprintf("u%d", j)
			p = append(p, fakeUser("CN="+sam+",CN=Users,DC=example,DC=com", sam, nil))
		}
		pages = append(pages, p)
	}
	return pages
}

func searchReq() *ldap.SearchRequest {
	return ldap.NewSearchRequest("DC=example,DC=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(msRTCSIP-PrimaryUserAddress=*)", []string{"sAMAccountName"}, nil)
}

func TestWalkFollowsCookies(t *testing.T) {
	f := &fakeLDAP{pages: pagesOf(25, 10)}
	var seen []string
	pages, err := walk(t.Context(), f, searchReq(), 10, func(e *ldap.Entry) { seen = append(seen, e.GetAttributeValue("sAMAccountName")) })
	if err != nil || pages != 3 || len(seen) != 25 || seen[24] != "u24" {
		t.Fatalf("walk = %d pages, %v, saw %d entries", pages, err, len(seen))
	}
	wantCookies := []string{"", "1", "2"}
	for i, r := range f.requests {
		if r.PagingSize != 10 || string(r.Cookie) != wantCookies[i] {
			t.Errorf("request %d: size %d cookie %q, want 10 %q", i, r.PagingSize, r.Cookie, wantCookies[i])
		}
	}
}

func TestWalkErrors(t *testing.T) {
	boom := ldap.NewError(ldap.LDAPResultSizeLimitExceeded, errors.New("size limit"))
	f := &fakeLDAP{pages: pagesOf(25, 10), failPage: 2, failErr: boom}
	n := 0
	pages, err := walk(t.Context(), f, searchReq(), 10, func(*ldap.Entry) { n++ })
	if !errors.Is(err, boom) || pages != 1 || n != 10 {
		t.Errorf("walk = %d pages, %v, %d entries; want the page-2 error after 1 page", pages, err, n)
	}

	// A server without paging answers once, without a control: done.
	f = &fakeLDAP{pages: pagesOf(5, 10), noPaging: true}
	if pages, err := walk(t.Context(), f, searchReq(), 10, func(*ldap.Entry) {}); err != nil || pages != 1 {
		t.Errorf("walk without paging control = %d, %v", pages, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := walk(ctx, &fakeLDAP{pages: pagesOf(5, 10)}, searchReq(), 10, func(*ldap.Entry) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("walk with a cancelled context = %v", err)
	}
}

// withFakeConn returns an LDAPSource whose connections are f.
func withFakeConn(t *testing.T, cfg Config, f *fakeLDAP) *LDAPSource {
	t.Helper()
	s, err := NewLDAPSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.dial = func(context.Context) (ldapConn, error) { return f, nil }
	return s
}

func TestLDAPSourceMapping(t *testing.T) {
	crossRef := func(nc, name string) *ldap.Entry {
		return ldap.NewEntry("CN="+name+",CN=Partitions,CN=Configuration,DC=example,DC=com",
			map[string][]string{"nCName": {nc}, "nETBIOSName": {name}})
	}
	users := []*ldap.Entry{
		fakeUser("CN=alice,CN=Users,DC=example,DC=com", "alice", map[string]string{
			"msRTCSIP-OptionFlags": "272", "msRTCSIP-Line": "tel:+13175551010", "msRTCSIP-LineServer": "sip:rcc@rcc.example.com",
			"userPrincipalName": "alice@example.com", "displayName": "Alice", "telephoneNumber": "+1 317 555 1010"}),
		fakeUser("CN=carol,CN=Users,DC=example,DC=com", "carol", map[string]string{"msRTCSIP-OptionFlags": "256"}),
		fakeUser("CN=dave,CN=Users,DC=example,DC=com", "dave", map[string]string{"msRTCSIP-UserEnabled": "FALSE"}),
		fakeUser("CN=erin,CN=Users,DC=example,DC=com", "erin", map[string]string{"msRTCSIP-UserEnabled": "", "msRTCSIP-OptionFlags": ""}),
		fakeUser("CN=hans,OU=Berlin,DC=emea,DC=example,DC=com", "hans", nil),
		fakeUser("CN=badflags,CN=Users,DC=example,DC=com", "badflags", map[string]string{"msRTCSIP-OptionFlags": "lots"}),
		fakeUser("CN=badbool,CN=Users,DC=example,DC=com", "badbool", map[string]string{"msRTCSIP-UserEnabled": "yes"}),
		fakeUser("CN=lost,CN=Users,DC=elsewhere,DC=test", "lost", nil),
	}
	f := &fakeLDAP{
		pages:     [][]*ldap.Entry{users[:3], users[3:]},
		configNC:  "CN=Configuration,DC=example,DC=com",
		crossRefs: []*ldap.Entry{crossRef("DC=example,DC=com", "EXAMPLE"), crossRef("DC=EMEA,DC=Example,DC=com", "EMEA")},
		isTLS:     true,
	}
	cfg := validLDAP()
	b, err := withFakeConn(t, cfg, f).Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b.Pages != 2 || !f.closed || len(f.bound) != 0 {
		t.Errorf("pages %d closed %v", b.Pages, f.closed)
	}
	got := map[string]Entry{}
	for _, e := range b.Entries {
		got[e.Account.SAM] = e
	}
	alice := got["alice"]
	want := Entry{DN: "CN=alice,CN=Users,DC=example,DC=com", SIPAddress: "sip:alice@example.com",
		Account: Account{"EXAMPLE", "alice"}, UPN: "alice@example.com", DisplayName: "Alice", Telephone: "+1 317 555 1010",
		LineURI: "tel:+13175551010", LineServerURI: "sip:rcc@rcc.example.com", RCCEnabled: true, Enabled: true}
	if alice != want {
		t.Errorf("alice = %+v\nwant   %+v", alice, want)
	}
	checks := []struct {
		sam          string
		domain       string
		rcc, enabled bool
	}{
		{"carol", "EXAMPLE", false, true},
		{"dave", "EXAMPLE", true, false},
		{"erin", "EXAMPLE", false, false},
		{"hans", "EMEA", true, true},
	}
	for _, c := range checks {
		e, ok := got[c.sam]
		if !ok || e.Account.Domain != c.domain || e.RCCEnabled != c.rcc || e.Enabled != c.enabled {
			t.Errorf("%s = %+v (found %v), want domain %s rcc %v enabled %v", c.sam, e, ok, c.domain, c.rcc, c.enabled)
		}
	}
	skipped := map[string]string{}
	for _, s := range b.Skipped {
		skipped[s.DN] = s.Reason
	}
	for dn, reason := range map[string]string{
		"CN=badflags,CN=Users,DC=example,DC=com": "not an integer",
		"CN=badbool,CN=Users,DC=example,DC=com":  "not TRUE or FALSE",
		"CN=lost,CN=Users,DC=elsewhere,DC=test":  "no NetBIOS domain name for naming context \"dc=elsewhere,dc=test\"",
	} {
		if !strings.Contains(skipped[dn], reason) {
			t.Errorf("skip %s: %q, want %q", dn, skipped[dn], reason)
		}
	}
	if len(b.Skipped) != 3 {
		t.Errorf("skipped %v", b.Skipped)
	}

	// A configured NetBIOS name and a different RCC mask.
	cfg.NetBIOSDomain, cfg.RCCOptionMask = "CORP", 512
	f.pages = [][]*ldap.Entry{{fakeUser("CN=x,DC=example,DC=com", "x", map[string]string{"msRTCSIP-OptionFlags": "528"})}}
	b, err = withFakeConn(t, cfg, f).Load(t.Context())
	if err != nil || len(b.Entries) != 1 || b.Entries[0].Account.String() != `CORP\x` || !b.Entries[0].RCCEnabled {
		t.Errorf("with netbios_domain and mask 512: %+v, %v", b.Entries, err)
	}
}

func TestLDAPSourceNoNetBIOS(t *testing.T) {
	f := &fakeLDAP{pages: pagesOf(1, 10), isTLS: true} // no crossRefs, no root DSE value
	_, err := withFakeConn(t, validLDAP(), f).Load(t.Context())
	if !errors.Is(err, ErrNoNetBIOS) || !strings.Contains(err.Error(), "CN=Partitions,CN=Configuration,DC=example,DC=com") {
		t.Errorf("Load = %v, want ErrNoNetBIOS naming the derived Partitions DN", err)
	}
}

func TestLDAPSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"network", ldap.NewError(ldap.ErrorNetwork, errors.New("ldap: connection timed out")), ErrUnreachable},
		{"size limit", ldap.NewError(ldap.LDAPResultSizeLimitExceeded, errors.New("limit")), ErrSearch},
		{"no such object", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("base")), ErrSearch},
	}
	for _, tt := range tests {
		cfg := validLDAP()
		cfg.NetBIOSDomain = "EXAMPLE"
		f := &fakeLDAP{pages: pagesOf(30, 10), failPage: 2, failErr: tt.err, isTLS: true}
		_, err := withFakeConn(t, cfg, f).Load(t.Context())
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "after 1 pages") {
			t.Errorf("%s: Load = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestBindRefusesPlaintext(t *testing.T) {
	f := &fakeLDAP{}
	cfg := validLDAP()
	if err := bind(f, cfg); !errors.Is(err, ErrInsecureBind) || len(f.bound) != 0 {
		t.Errorf("bind without TLS = %v (binds %v), want ErrInsecureBind and no bind sent", err, f.bound)
	}
	cfg.AllowInsecure = true
	if err := bind(f, cfg); err != nil || len(f.bound) != 1 {
		t.Errorf("bind with allow_insecure = %v", err)
	}
}
