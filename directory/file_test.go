package directory_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rccserver/rccserver/directory"
	"github.com/rs/zerolog"
)

func TestFileDirectory(t *testing.T) {
	var logs logBuffer
	c, err := directory.New(directory.Config{File: "testdata/users.yaml"}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	alice, err := c.LookupSIP("sip:alice@example.com")
	want := directory.Entry{DN: "testdata/users.yaml#1", SIPAddress: "sip:alice@example.com",
		Account: directory.Account{Domain: "EXAMPLE", SAM: "alice"}, UPN: "alice@example.com", DisplayName: "Alice Example",
		Telephone: "+1 317 555 1010", LineURI: "tel:+13175551010", LineServerURI: "sip:rcc@rcc.example.com",
		RCCEnabled: true, Enabled: true}
	if err != nil || alice != want {
		t.Errorf("alice = %+v, %v\nwant    %+v", alice, err, want)
	}
	bob, err := c.LookupLine("tel:+13175551020")
	if err != nil || bob.Account.String() != `EXAMPLE\bob` || !bob.RCCEnabled || !bob.Enabled {
		t.Errorf("bob (defaults) = %+v, %v", bob, err)
	}
	if carol, err := c.LookupSIP("carol@example.com"); err != nil || carol.RCCEnabled || !carol.AccountDisabled {
		t.Errorf("carol = %+v, %v; want RCC disabled and the account disabled", carol, err)
	}
	if alice.AccountDisabled || bob.AccountDisabled {
		t.Errorf("account_disabled defaults to true: alice %v bob %v", alice.AccountDisabled, bob.AccountDisabled)
	}
	for _, miss := range []string{"sip:nobody@example.com", "sip:badline@example.com"} {
		if _, err := c.LookupSIP(miss); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound (skipped)", miss, err)
		}
	}
	if s := c.Stats(); s.Entries != 3 || s.Skipped != 2 {
		t.Errorf("Stats = %+v", s)
	}
	out := logs.String()
	for _, want := range []string{`"dn":"testdata/users.yaml#4","reason":"no sAMAccountName"`, `"dn":"users.yaml/badline"`, `"entries":3`, `"skipped":2`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// TestExampleDirectory loads the demo users shipped in examples/.
func TestExampleDirectory(t *testing.T) {
	c := directory.NewCache(directory.NewFileSource("../examples/directory.yaml"), directory.CacheOptions{}, zerolog.Nop())
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for sip, line := range map[string]string{"sip:alice@example.com": "tel:+13175551010", "sip:bob@example.com": "tel:+13175551020"} {
		e, err := c.LookupSIP(sip)
		if err != nil || e.LineURI != line || !e.RCCEnabled || !e.Enabled || e.Account.Domain != "EXAMPLE" {
			t.Errorf("%s = %+v, %v", sip, e, err)
		}
	}
	if s := c.Stats(); s.Entries != 2 || s.Skipped != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("users:\n  - sip_adress: sip:a@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := directory.NewFileSource(typo).Load(t.Context()); err == nil || !strings.Contains(err.Error(), "sip_adress") {
		t.Errorf("unknown key: %v, want an error naming it", err)
	}
	if _, err := directory.NewFileSource(filepath.Join(dir, "missing.yaml")).Load(t.Context()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	b, err := directory.NewBytesSource("embedded", []byte("domain: CORP\nusers:\n  - sip_address: sip:x@corp.example\n    account: x\n")).Load(t.Context())
	if err != nil || len(b.Entries) != 1 || b.Entries[0].Account.String() != `CORP\x` || b.Entries[0].DN != "embedded#1" {
		t.Errorf("bytes source: %+v, %v", b, err)
	}
}
