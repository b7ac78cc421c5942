package rccserver

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestNextHop: an adopted dialog's requests go to the first Route (loose
// routing, RFC 3261 §12.2.1.1), else to an IP remote target, else to the
// recorded peer.
func TestNextHop(t *testing.T) {
	uri := func(s string) sip.Uri {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, tc := range []struct {
		routes []string
		target string
		want   string
	}{
		{[]string{"<sip:10.0.0.1:5070;transport=tcp;lr>", "<sip:10.0.0.2;lr>"}, "sip:alice@10.9.9.9:5555", "10.0.0.1:5070"},
		{[]string{"<sip:fe.example.com;transport=tls;lr>"}, "sip:alice@10.9.9.9", "fe.example.com:5060"},
		{[]string{"<sips:fe.example.com;lr>"}, "sip:alice@10.9.9.9", "fe.example.com:5061"},
		{nil, "sip:alice@10.9.9.9:5555;transport=tcp", "10.9.9.9:5555"},
		{nil, "sip:alice@client.invalid", "192.0.2.7:40000"},
		{[]string{"garbage"}, "sip:alice@client.invalid", "192.0.2.7:40000"},
	} {
		if got := nextHop(tc.routes, uri(tc.target), "192.0.2.7:40000"); got != tc.want {
			t.Errorf("nextHop(%q, %s) = %s, want %s", tc.routes, tc.target, got, tc.want)
		}
	}
}

// TestRecordValidate: records read from the shared store are checked
// before use.
func TestRecordValidate(t *testing.T) {
	good := SessionRecord{CallID: "c", LocalTag: "l", RemoteTag: "r", LocalURI: "sip:rcc@x", RemoteURI: "sip:a@x",
		Target: "sip:a@10.0.0.1", Transport: "TCP", Peer: "10.0.0.1:5060", SessionExpires: 1800}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*SessionRecord){
		"no tag":     func(r *SessionRecord) { r.RemoteTag = "" },
		"no peer":    func(r *SessionRecord) { r.Peer = "" },
		"transport":  func(r *SessionRecord) { r.Transport = "SCTP" },
		"interval":   func(r *SessionRecord) { r.SessionExpires = 0 },
		"bad target": func(r *SessionRecord) { r.Target = "sip:" },
		"many monitor": func(r *SessionRecord) {
			r.Monitors = make(map[string]string, 65)
			for i := range 65 {
				r.Monitors[string(rune('a'+i))] = "d"
			}
		},
	} {
		r := good
		mod(&r)
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
