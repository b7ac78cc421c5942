package rccserver

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// newDialogRoute renders the constant parts of a dialog's requests once:
// the remote target and the From, To and Call-ID lines, as sipgo's
// StringWrite writes them (the bytes on the wire are those sipgo wrote
// from the same parsed headers before). The route's transport, dest and
// conn are the caller's to set.
func newDialogRoute(target *sip.Uri, from *sip.FromHeader, to *sip.ToHeader, callID string, routes []string, local *localLines) dialogRoute {
	var b strings.Builder
	target.StringWrite(&b)
	nt := b.Len()
	from.StringWrite(&b) // "From: " and the value
	fromAt, fromEnd := nt+len("From: "), b.Len()
	b.WriteString("\r\n")
	to.StringWrite(&b)
	toAt, toEnd := fromEnd+len("\r\nTo: "), b.Len()
	b.WriteString("\r\nCall-ID: ")
	b.WriteString(callID) // the value is Session.callID's: no second copy kept
	b.WriteString("\r\n")
	headEnd := b.Len()
	// The session record's parts (adopt.go), exactly as the parsed headers
	// hold them: found in the rendered value they come from (the usual
	// case, no extra byte), else appended after the head. Parsing the
	// rendered values back would not do: sipgo renders some hostile
	// values as text that parses to another URI.
	tag := func(p sip.HeaderParams) string { v, _ := p.Get("tag"); return v }
	want := [4]string{from.Address.String(), tag(from.Params), to.Address.String(), tag(to.Params)}
	region := [4][2]int{{fromAt, fromEnd}, {fromAt, fromEnd}, {toAt, toEnd}, {toAt, toEnd}}
	var at [4]int
	for i, w := range want {
		if j := strings.Index(b.String()[region[i][0]:region[i][1]], w); j >= 0 {
			at[i] = region[i][0] + j
		} else {
			at[i] = b.Len()
			b.WriteString(w)
		}
	}
	// An exact copy: the builder's spare capacity would stay on the heap
	// with every held session.
	text := strings.Clone(b.String())
	part := func(i int) string { return text[at[i] : at[i]+len(want[i])] }
	r := dialogRoute{target: text[:nt], head: text[nt:headEnd], fromEnd: int32(fromEnd - nt), toEnd: int32(toEnd - nt),
		localURI: part(0), localTag: part(1), remoteURI: part(2), remoteTag: part(3),
		routes: routes, local: local}
	if u, err := parseTarget(r.target); err != nil || u.String() != r.target {
		r.oddTarget = target.Clone() // sipgo renders it as text that parses to another URI ("sip:@0")
	}
	return r
}

// from is the From header's value: us, with our tag.
func (r *dialogRoute) from() string { return r.head[len("From: "):r.fromEnd] }

// to is the To header's value: the client, with its tag.
func (r *dialogRoute) to() string { return r.head[r.fromEnd+int32(len("\r\nTo: ")) : r.toEnd] }

// requestURI returns the remote target for a request sipgo builds (the
// sipgo path, sender.go): parsed from its text, or kept parsed if that
// text does not parse back to itself.
func (r *dialogRoute) requestURI() (sip.Uri, error) {
	if r.oddTarget != nil {
		return *r.oddTarget.Clone(), nil
	}
	return parseTarget(r.target)
}

func parseTarget(s string) (sip.Uri, error) {
	var u sip.Uri
	err := sip.ParseUri(s, &u)
	return u, err
}

// localLines is our side of the requests we originate in dialogs, for
// the sessions of one listener, or of one connection accepted on a
// wildcard listener (listener.go, contactOn): rendered once there, not
// per session nor per request.
type localLines struct {
	// host, port and transport are the Contact's, to tell whether a
	// session's Contact is this one (Server.localOf).
	host, transport string
	port            int
	// sentBy is our Via's sent-by, the Contact's host and port: the
	// listener the client reached (RFC 3261 §18.2.2).
	sentBy  string
	contact string // "Contact: …\r\n"
}

func newLocalLines(c sip.ContactHeader) *localLines {
	l := &localLines{host: c.Address.Host, port: c.Address.Port, transport: contactTransport(&c), sentBy: c.Address.Host}
	if p := c.Address.Port; p > 0 {
		l.sentBy += ":" + strconv.Itoa(p)
	}
	var b strings.Builder
	c.StringWrite(&b)
	b.WriteString("\r\n")
	l.contact = b.String()
	return l
}

// renders reports whether l was rendered from c.
func (l *localLines) renders(c *sip.ContactHeader) bool {
	return l != nil && l.host == c.Address.Host && l.port == c.Address.Port && l.transport == contactTransport(c)
}

func contactTransport(c *sip.ContactHeader) string {
	t, _ := c.Address.UriParams.Get("transport")
	return t
}
