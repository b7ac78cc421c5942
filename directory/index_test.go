package directory

import (
	"errors"
	"strings"
	"testing"
)

func user(dn, sip, sam, line string) Entry {
	return Entry{DN: dn, SIPAddress: sip, Account: Account{Domain: "EXAMPLE", SAM: sam}, LineURI: line, RCCEnabled: true, Enabled: true}
}

func TestBuildIndexSkips(t *testing.T) {
	in := []Entry{
		user("cn=alice", "sip:alice@example.com", "alice", "tel:+13175551010"),
		user("cn=dup1", "sip:dup@example.com", "dup1", ""),
		user("cn=dup2", "sip:DUP@example.com", "dup2", ""),
		user("cn=nosam", "sip:nosam@example.com", "", ""),
		{DN: "cn=nodomain", SIPAddress: "sip:nodomain@example.com", Account: Account{SAM: "nodomain"}},
		user("cn=badsam", "sip:badsam@example.com", `EXAMPLE\badsam`, ""),
		user("cn=badline", "sip:badline@example.com", "badline", "tel:call-me"),
		user("cn=badsip", "alice", "badsip", ""),
	}
	ix := buildIndex(in)
	if len(ix.entries) != 1 || ix.entries[0].DN != "cn=alice" {
		t.Fatalf("entries = %v, want only alice", ix.entries)
	}
	want := map[string]string{
		"cn=dup1":     "duplicate SIP address sip:dup@example.com, also on cn=dup2",
		"cn=dup2":     "duplicate SIP address sip:DUP@example.com, also on cn=dup1",
		"cn=nosam":    "no sAMAccountName",
		"cn=nodomain": "no NetBIOS domain name",
		"cn=badsam":   "malformed sAMAccountName",
		"cn=badline":  "malformed line URI",
		"cn=badsip":   "malformed SIP address",
	}
	if len(ix.skipped) != len(want) {
		t.Errorf("skipped %d entries, want %d: %v", len(ix.skipped), len(want), ix.skipped)
	}
	for _, s := range ix.skipped {
		if w, ok := want[s.DN]; !ok || !strings.Contains(s.Reason, w) {
			t.Errorf("skip %s: reason %q, want it to contain %q", s.DN, s.Reason, w)
		}
	}
}

func TestIndexLookups(t *testing.T) {
	ix := buildIndex([]Entry{
		user("cn=alice", "sip:alice@example.com", "alice", "tel:+13175551010"),
		user("cn=bob", "sip:Bob@Example.com", "bob", "TEL:+1 (317) 555-1020"),
		user("cn=grace", "sip:grace@example.com", "grace", "tel:+13175559070"),
		user("cn=heidi", "sip:heidi@example.com", "heidi", "tel:+1-317-555-9070"),
		user("cn=ext", "sip:ext@example.com", "ext", "tel:+13175551010;ext=10"),
	})
	sip := []struct{ in, want string }{
		{"sip:alice@example.com", "cn=alice"},
		{"ALICE@EXAMPLE.COM", "cn=alice"},
		{"<sip:bob@example.com>", "cn=bob"},
		{"sip:Bob@Example.com", "cn=bob"},
		{"sip:carol@example.com", ""},
		{"", ""},
	}
	for _, tt := range sip {
		e, err := ix.lookupSIP(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("lookupSIP(%q) = %v, %v; want ErrNotFound", tt.in, e.DN, err)
			}
			continue
		}
		if err != nil || e.DN != tt.want {
			t.Errorf("lookupSIP(%q) = %q, %v; want %q", tt.in, e.DN, err, tt.want)
		}
	}
	line := []struct {
		in   string
		want string
		err  error
	}{
		{"tel:+13175551010", "cn=alice", nil},
		{"TEL:+1 317 555 1010", "cn=alice", nil},
		{"tel:+13175551010;ext=10", "cn=ext", nil},
		{"TEL:+1 (317) 555-1020", "cn=bob", nil}, // exact
		{"tel:+13175551020", "cn=bob", nil},      // normalised
		{"tel:+1.317.555.1020", "cn=bob", nil},
		{"tel:+13175551030", "", ErrNotFound},
		{"tel:+13175559070", "", ErrAmbiguous},
		{"tel:+1-317-555-9070", "", ErrAmbiguous},
	}
	for _, tt := range line {
		e, err := ix.lookupLine(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("lookupLine(%q) = %q, %v; want %v", tt.in, e.DN, err, tt.err)
			}
			continue
		}
		if err != nil || e.DN != tt.want {
			t.Errorf("lookupLine(%q) = %q, %v; want %q", tt.in, e.DN, err, tt.want)
		}
	}
	if len(ix.conflict) != 1 || len(ix.conflict[0].DNs) != 2 {
		t.Errorf("conflicts = %+v, want one line shared by grace and heidi", ix.conflict)
	}
}

func TestLookupSIPNoAlloc(t *testing.T) {
	ix := buildIndex([]Entry{user("cn=alice", "sip:alice@example.com", "alice", "tel:+13175551010")})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ix.lookupSIP("sip:alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.lookupLine("tel:+13175551010"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("hits allocate %v times, want 0", allocs)
	}
}

func TestAccount(t *testing.T) {
	a := ParseAccount(`EXAMPLE\alice`)
	if a != (Account{Domain: "EXAMPLE", SAM: "alice"}) || a.String() != `EXAMPLE\alice` {
		t.Errorf("ParseAccount = %+v (%s)", a, a)
	}
	if b := ParseAccount("bob"); b != (Account{SAM: "bob"}) {
		t.Errorf("ParseAccount(bob) = %+v", b)
	}
}
