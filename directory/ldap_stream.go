package directory

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// streamConn is the LDAP connection of a Load: StartTLS or LDAPS, a simple
// bind and searches (RFC 4511), with requests encoded by go-ldap and its
// BER package but responses decoded here, in place, from one reused buffer.
//
// go-ldap's reader turns every message into a tree of ber.Packet values
// with a copy of every byte, about 580 allocations for one AD user, which
// made a 100,000-user sync 3 to 5 times slower than ldapsearch. This reader
// allocates nothing per message; pagedUsers hands the caller only the
// attributes it asked for, as slices of the buffer.
type streamConn struct {
	conn    net.Conn
	r       *bufio.Reader
	buf     []byte // the current message
	timeout time.Duration
	msgID   int64
	isTLS   bool
	tlsConn *tls.Conn
}

// LDAP protocol op tags (RFC 4511 section 4.2 ff.; APPLICATION class).
const (
	opBindRequest     = 0
	opBindResponse    = 1
	opSearchRequest   = 3
	opSearchEntry     = 4
	opSearchDone      = 5
	opSearchReference = 19
	opExtendedRequest = 23
	opExtendedResp    = 24
)

// oidStartTLS is the StartTLS extended operation (RFC 4511 section 4.14).
const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// dialStream connects: TCP (ErrUnreachable when that fails), then TLS
// (ldaps://) or StartTLS (ErrTLS naming the cause: the handshake here is
// crypto/tls's, so its x509 errors arrive typed), then the bind (ErrBind,
// ErrInsecureBind).
func dialStream(ctx context.Context, cfg Config, tlsCfg *tls.Config) (*streamConn, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	port := u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w: %w", cfg.URL, ErrUnreachable, err)
	}
	c := &streamConn{conn: nc, r: bufio.NewReaderSize(nc, 64<<10), timeout: cfg.Timeout}
	fail := func(err error) (*streamConn, error) {
		nc.Close()
		return nil, err
	}
	if u.Scheme == "ldaps" {
		if err := c.handshake(ctx, tlsCfg, cfg.DialTimeout); err != nil {
			return fail(fmt.Errorf("TLS handshake with %s: %w: %s: %w", cfg.URL, ErrTLS, tlsCause(err), err))
		}
	} else if cfg.StartTLS {
		if err := c.startTLS(ctx, tlsCfg, cfg.DialTimeout); err != nil {
			if isNetworkError(err) && !isTLSError(err) {
				return fail(fmt.Errorf("StartTLS with %s: %w: %w", cfg.URL, ErrUnreachable, err))
			}
			return fail(fmt.Errorf("StartTLS with %s: %w: %s: %w", cfg.URL, ErrTLS, tlsCause(err), err))
		}
	}
	if err := bind(c, cfg); err != nil {
		return fail(err)
	}
	return c, nil
}

// isTLSError reports errors of the TLS layer (certificate, alert, record).
func isTLSError(err error) bool {
	var (
		cv     *tls.CertificateVerificationError
		alert  tls.AlertError
		header tls.RecordHeaderError
	)
	return errors.As(err, &cv) || errors.As(err, &alert) || errors.As(err, &header)
}

// handshake runs the TLS client handshake on the connection, bounded by
// timeout and ctx.
func (c *streamConn) handshake(ctx context.Context, cfg *tls.Config, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	c.conn, c.tlsConn, c.isTLS = tc, tc, true
	c.r.Reset(tc)
	return nil
}

// startTLS sends the StartTLS extended request and, when the server agrees,
// runs the handshake.
func (c *streamConn) startTLS(ctx context.Context, cfg *tls.Config, timeout time.Duration) error {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtendedRequest, nil, "Extended Request")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, "StartTLS"))
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	id, err := c.send(op)
	if err != nil {
		return err
	}
	res, err := c.readResult(id, opExtendedResp)
	if err != nil {
		return err
	}
	if res.code != ldap.LDAPResultSuccess {
		return res.err()
	}
	_ = c.conn.SetDeadline(time.Time{})
	return c.handshake(ctx, cfg, timeout)
}

// TLSConnectionState implements the part of ldap.Client bind needs.
func (c *streamConn) TLSConnectionState() (tls.ConnectionState, bool) {
	if c.tlsConn == nil {
		return tls.ConnectionState{}, false
	}
	return c.tlsConn.ConnectionState(), true
}

// Bind does a simple bind (RFC 4511 section 4.2).
func (c *streamConn) Bind(user, password string) error {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBindRequest, nil, "Bind Request")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, user, "Name"))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
	c.deadline()
	id, err := c.send(op)
	if err != nil {
		return err
	}
	res, err := c.readResult(id, opBindResponse)
	if err != nil {
		return err
	}
	if res.code != ldap.LDAPResultSuccess {
		return res.err()
	}
	return nil
}

// Close closes the connection, which ends the session (RFC 4511 section
// 4.3 allows it without an unbind). It may run concurrently with a pending
// operation, which then fails.
func (c *streamConn) Close() error { return c.conn.Close() }

// deadline bounds the next operation by the configured timeout.
func (c *streamConn) deadline() {
	if c.timeout > 0 {
		_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

// send writes one LDAPMessage with a new message ID and returns the ID.
func (c *streamConn) send(op *ber.Packet, controls ...ldap.Control) (int64, error) {
	c.msgID++
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, c.msgID, "MessageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, ctl := range controls {
			cs.AppendChild(ctl.Encode())
		}
		p.AppendChild(cs)
	}
	if _, err := c.conn.Write(p.Bytes()); err != nil {
		return 0, ldap.NewError(ldap.ErrorNetwork, err)
	}
	return c.msgID, nil
}

// message is one decoded LDAPMessage; its slices point into the buffer and
// are valid until the next read.
type message struct {
	id       int64
	op       int    // APPLICATION tag of protocolOp
	body     []byte // contents of protocolOp
	controls []byte // contents of [0] Controls, or nil
}

// read reads the next LDAPMessage into the buffer.
func (c *streamConn) read() (message, error) {
	var m message
	tag, err := c.r.ReadByte()
	if err != nil {
		return m, ldap.NewError(ldap.ErrorNetwork, err)
	}
	if tag != 0x30 {
		return m, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("LDAP message starts with tag %#x, want SEQUENCE", tag))
	}
	n, err := readLength(c.r)
	if err != nil {
		return m, ldap.NewError(ldap.ErrorNetwork, err)
	}
	if n > 64<<20 {
		return m, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("LDAP message of %d bytes", n))
	}
	if cap(c.buf) < n {
		c.buf = make([]byte, n, max(n, 2*cap(c.buf)))
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		return m, ldap.NewError(ldap.ErrorNetwork, err)
	}
	b := c.buf
	var id []byte
	if _, id, b, err = tlv(b, 0x02); err != nil {
		return m, err
	}
	m.id = berInt(id)
	var opTag byte
	if opTag, m.body, b, err = tlv(b, 0); err != nil {
		return m, err
	}
	if opTag&0xc0 != 0x40 { // APPLICATION class
		return m, malformed("protocolOp tag %#x", opTag)
	}
	m.op = int(opTag & 0x1f)
	if len(b) > 0 {
		if _, m.controls, _, err = tlv(b, 0xa0); err != nil {
			return m, err
		}
	}
	if m.id == 0 && m.op == opExtendedResp {
		// Notice of Disconnection (RFC 4511 section 4.4.1).
		res, _ := parseResult(m.body)
		return m, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("server disconnects: %s", res.message))
	}
	return m, nil
}

// result is an LDAPResult (RFC 4511 section 4.1.9).
type result struct {
	code    uint16
	matched string
	message string
}

func (r result) err() error { return ldap.NewError(r.code, errors.New(r.message)) }

func parseResult(b []byte) (result, error) {
	var r result
	_, code, b, err := tlv(b, 0x0a)
	if err != nil {
		return r, err
	}
	r.code = uint16(berInt(code))
	_, matched, b, err := tlv(b, 0x04)
	if err != nil {
		return r, err
	}
	_, msg, _, err := tlv(b, 0x04)
	if err != nil {
		return r, err
	}
	r.matched, r.message = string(matched), string(msg)
	return r, nil
}

// readResult reads the response to request id, which must be op.
func (c *streamConn) readResult(id int64, op int) (result, error) {
	m, err := c.read()
	if err != nil {
		return result{}, err
	}
	if m.id != id || m.op != op {
		return result{}, malformed("response %d op %d, want %d op %d", m.id, m.op, id, op)
	}
	return parseResult(m.body)
}

// Search implements searcher for the small searches of a Load (root DSE,
// CN=Partitions): every returned attribute, all values, into ldap.Entry.
// Continuation references are left out, as go-ldap leaves them out of
// Entries.
func (c *streamConn) Search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	res := &ldap.SearchResult{}
	done, err := c.search(req, func(dn, attrs []byte) error {
		e := &ldap.Entry{DN: string(dn)}
		err := eachAttr(attrs, func(name, vals []byte) error {
			a := &ldap.EntryAttribute{Name: string(name)}
			for len(vals) > 0 {
				var v []byte
				var err error
				if _, v, vals, err = tlv(vals, 0x04); err != nil {
					return err
				}
				a.Values = append(a.Values, string(v))
				a.ByteValues = append(a.ByteValues, bytes.Clone(v))
			}
			e.Attributes = append(e.Attributes, a)
			return nil
		})
		res.Entries = append(res.Entries, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Controls = done.controls
	if done.code != ldap.LDAPResultSuccess {
		return res, done.err()
	}
	return res, nil
}

// searchDone is the end of one search request.
type searchDone struct {
	result
	controls []ldap.Control
}

// search sends req and calls entry with each entry's DN and the contents
// of its attribute list (see eachAttr); the slices are valid during the
// call only. It returns the SearchResultDone, whatever its result code.
func (c *streamConn) search(req *ldap.SearchRequest, entry func(dn, attrs []byte) error) (searchDone, error) {
	filter, err := ldap.CompileFilter(req.Filter)
	if err != nil {
		return searchDone{}, err
	}
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchRequest, nil, "Search Request")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, req.BaseDN, "Base DN"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.Scope), "Scope"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.DerefAliases), "Deref Aliases"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.SizeLimit), "Size Limit"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.TimeLimit), "Time Limit"))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, req.TypesOnly, "Types Only"))
	op.AppendChild(filter)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range req.Attributes {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	op.AppendChild(attrs)
	c.deadline()
	id, err := c.send(op, req.Controls...)
	if err != nil {
		return searchDone{}, err
	}
	for {
		m, err := c.read()
		if err != nil {
			return searchDone{}, err
		}
		if m.id != id {
			return searchDone{}, malformed("message ID %d, want %d", m.id, id)
		}
		switch m.op {
		case opSearchEntry:
			// SearchResultEntry (RFC 4511 section 4.5.2).
			_, dn, rest, err := tlv(m.body, 0x04)
			if err != nil {
				return searchDone{}, err
			}
			_, list, _, err := tlv(rest, 0x30)
			if err != nil {
				return searchDone{}, err
			}
			if err := entry(dn, list); err != nil {
				return searchDone{}, err
			}
		case opSearchReference:
			// A continuation reference (RFC 4511 section 4.5.3): AD
			// sends them for the other naming contexts under a domain
			// root; the directory does not chase them.
		case opSearchDone:
			res, err := parseResult(m.body)
			if err != nil {
				return searchDone{}, err
			}
			d := searchDone{result: res}
			if m.controls != nil {
				if d.controls, err = parseControls(m.controls); err != nil {
					return searchDone{}, err
				}
			}
			return d, nil
		default:
			return searchDone{}, malformed("op %d in a search", m.op)
		}
	}
}

// eachAttr calls fn with the type and the contents of the SET of values of
// every PartialAttribute in list.
func eachAttr(list []byte, fn func(name, vals []byte) error) error {
	for len(list) > 0 {
		var pa, name, vals []byte
		var err error
		if _, pa, list, err = tlv(list, 0x30); err != nil {
			return err
		}
		if _, name, pa, err = tlv(pa, 0x04); err != nil {
			return err
		}
		if _, vals, _, err = tlv(pa, 0x31); err != nil {
			return err
		}
		if err := fn(name, vals); err != nil {
			return err
		}
	}
	return nil
}

// equalFold reports whether the attribute name b is s, ignoring ASCII case
// (attribute descriptions are case-insensitive, RFC 4512 section 2.5).
func equalFold(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(s[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// parseControls decodes the paging control (RFC 2696) among the controls
// of a response and skips the others.
func parseControls(b []byte) ([]ldap.Control, error) {
	var out []ldap.Control
	for len(b) > 0 {
		var ctl, typ, value []byte
		var err error
		if _, ctl, b, err = tlv(b, 0x30); err != nil {
			return nil, err
		}
		if _, typ, ctl, err = tlv(ctl, 0x04); err != nil {
			return nil, err
		}
		if len(ctl) > 0 && ctl[0] == 0x01 { // criticality
			if _, _, ctl, err = tlv(ctl, 0x01); err != nil {
				return nil, err
			}
		}
		if len(ctl) > 0 {
			if _, value, _, err = tlv(ctl, 0x04); err != nil {
				return nil, err
			}
		}
		if string(typ) != ldap.ControlTypePaging {
			continue
		}
		// realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING } (RFC 2696).
		_, seq, _, err := tlv(value, 0x30)
		if err != nil {
			return nil, err
		}
		_, size, seq, err := tlv(seq, 0x02)
		if err != nil {
			return nil, err
		}
		_, cookie, _, err := tlv(seq, 0x04)
		if err != nil {
			return nil, err
		}
		out = append(out, &ldap.ControlPaging{PagingSize: uint32(berInt(size)), Cookie: bytes.Clone(cookie)})
	}
	return out, nil
}

// tlv splits the first BER element off b: its tag, its contents and the
// rest. want, when not 0, is the tag it must have. LDAP's tags are all
// single-byte (low tag numbers).
func tlv(b []byte, want byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, malformed("truncated element")
	}
	tag = b[0]
	if want != 0 && tag != want {
		return 0, nil, nil, malformed("tag %#x, want %#x", tag, want)
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, malformed("length of %d bytes", k)
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n < 0 || len(b)-hdr < n {
		return 0, nil, nil, malformed("element of %d bytes in %d", n, len(b)-hdr)
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], nil
}

// readLength reads a BER length (definite form, RFC 4511 section 5.1).
func readLength(r *bufio.Reader) (int, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if c&0x80 == 0 {
		return int(c), nil
	}
	k := int(c & 0x7f)
	if k == 0 || k > 4 {
		return 0, fmt.Errorf("BER length of %d bytes", k)
	}
	n := 0
	for range k {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | int(c)
	}
	return n, nil
}

// berInt decodes a two's-complement big-endian INTEGER or ENUMERATED.
func berInt(b []byte) int64 {
	var v int64
	for i, c := range b {
		if i == 0 && c&0x80 != 0 {
			v = -1
		}
		v = v<<8 | int64(c)
	}
	return v
}

func malformed(format string, args ...any) error {
	return ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("malformed LDAP response: "+format, args...))
}
