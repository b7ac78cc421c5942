package directory

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// scriptConn is a net.Conn whose reads come from a fixed byte stream (the
// server's answers) and whose writes are discarded.
type scriptConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

func scripted(stream []byte) *streamConn {
	nc := &scriptConn{r: bytes.NewReader(stream)}
	return &streamConn{conn: nc, r: bufio.NewReader(nc), msgID: 0}
}

// ldapMessage encodes an LDAPMessage with message ID id around op.
func ldapMessage(id int64, op *ber.Packet, controls ...*ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, c := range controls {
			cs.AppendChild(c)
		}
		p.AppendChild(cs)
	}
	return p.Bytes()
}

func searchEntry(dn string, attrs ...[]string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchEntry, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range attrs {
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a[0], ""))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
		for _, v := range a[1:] {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
		}
		pa.AppendChild(set)
		list.AppendChild(pa)
	}
	op.AppendChild(list)
	return op
}

func searchDoneOp(code int, msg string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchDone, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, msg, ""))
	return op
}

func reference(url string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchReference, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, url, ""))
	return op
}

// seedStream is a page as AD sends it: an entry (attribute names in
// another case than requested, a multi-valued attribute), a continuation
// reference, and the done message with a paging control carrying cookie.
func seedStream() []byte { return page("") }

func page(cookie string) []byte {
	paging := ldap.NewControlPaging(1000)
	paging.SetCookie([]byte(cookie))
	var b []byte
	b = append(b, ldapMessage(1, searchEntry("CN=Alice,CN=Users,DC=example,DC=com",
		[]string{"MSRTCSIP-PRIMARYUSERADDRESS", "sip:alice@example.com"},
		[]string{"objectClass", "top", "user"},
		[]string{"sAMAccountName", "alice"}))...)
	b = append(b, ldapMessage(1, reference("ldap://example.com/CN=Configuration,DC=example,DC=com"))...)
	b = append(b, ldapMessage(1, searchDoneOp(0, ""), paging.Encode())...)
	return b
}

func TestStreamSearch(t *testing.T) {
	c := scripted(page("next"))
	req := ldap.NewSearchRequest("DC=example,DC=com", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(msRTCSIP-PrimaryUserAddress=*)", nil, nil)
	var dns []string
	var sip, sam string
	done, err := c.search(req, func(dn, attrs []byte) error {
		dns = append(dns, string(dn))
		return eachAttr(attrs, func(name, vals []byte) error {
			_, v, _, err := tlv(vals, 0x04)
			switch {
			case equalFold("msRTCSIP-PrimaryUserAddress", name):
				sip = string(v)
			case equalFold("samaccountname", name):
				sam = string(v)
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dns) != 1 || dns[0] != "CN=Alice,CN=Users,DC=example,DC=com" || sip != "sip:alice@example.com" || sam != "alice" {
		t.Errorf("entries %q, sip %q, sam %q", dns, sip, sam)
	}
	ctrl, _ := ldap.FindControl(done.controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if done.code != 0 || ctrl == nil || string(ctrl.Cookie) != "next" {
		t.Errorf("done %+v, paging %+v", done, ctrl)
	}
}

// TestStreamErrors: a refused search is a result code, a broken or
// malformed stream an error, never a panic or a silent success.
func TestStreamErrors(t *testing.T) {
	req := ldap.NewSearchRequest("DC=example,DC=com", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)
	none := func(dn, attrs []byte) error { return nil }

	done, err := scripted(ldapMessage(1, searchDoneOp(ldap.LDAPResultSizeLimitExceeded, "limit"))).search(req, none)
	if err != nil || done.code != ldap.LDAPResultSizeLimitExceeded || !ldap.IsErrorWithCode(done.err(), ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("size limit: %+v, %v", done, err)
	}
	full := seedStream()
	for _, tc := range []struct {
		name    string
		stream  []byte
		network bool
	}{
		{"empty", nil, true},
		{"cut in the middle", full[:len(full)/2], true},
		{"not a SEQUENCE", []byte{0x31, 0x00}, true},
		{"wrong message ID", ldapMessage(7, searchDoneOp(0, "")), false},
		{"bad inner length", []byte{0x30, 0x05, 0x02, 0x09, 0x01, 0x65, 0x00}, false},
	} {
		_, err := scripted(tc.stream).search(req, none)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := ldap.IsErrorWithCode(err, ldap.ErrorNetwork); got != tc.network {
			t.Errorf("%s: %v, network error %v, want %v", tc.name, err, got, tc.network)
		}
		var le *ldap.Error
		if !errors.As(err, &le) {
			t.Errorf("%s: %v is not an *ldap.Error", tc.name, err)
		}
	}
}

// FuzzStreamSearch feeds arbitrary server answers to the decoder: it must
// return (an error or a result) without panicking or hanging.
func FuzzStreamSearch(f *testing.F) {
	f.Add(seedStream())
	f.Add(ldapMessage(1, searchDoneOp(4, "limit")))
	req := ldap.NewSearchRequest("DC=example,DC=com", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)
	f.Fuzz(func(t *testing.T, stream []byte) {
		_, _ = scripted(stream).search(req, func(dn, attrs []byte) error {
			return eachAttr(attrs, func(name, vals []byte) error {
				for len(vals) > 0 {
					var err error
					if _, _, vals, err = tlv(vals, 0x04); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
}
