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
	idAt := b.Len()
	b.WriteString(callID)
	idEnd := b.Len()
	b.WriteString("\r\n")
	// An exact copy: the builder's spare capacity would stay on the heap
	// with every held session.
	text := strings.Clone(b.String())
	return dialogRoute{target: text[:nt], head: text[nt:], from: text[fromAt:fromEnd], to: text[toAt:toEnd],
		callID: text[idAt:idEnd], routes: routes, local: local}
}

// parties parses the dialog's From and To back (session records, rare):
// our URI and tag, the client's URI and tag.
func (r *dialogRoute) parties() (localURI, localTag, remoteURI, remoteTag string, err error) {
	var lu, ru sip.Uri
	lp, rp := sip.NewParams(), sip.NewParams()
	if _, err = sip.ParseAddressValue(r.from, &lu, &lp); err != nil {
		return "", "", "", "", err
	}
	if _, err = sip.ParseAddressValue(r.to, &ru, &rp); err != nil {
		return "", "", "", "", err
	}
	localTag, _ = lp.Get("tag")
	remoteTag, _ = rp.Get("tag")
	return lu.String(), localTag, ru.String(), remoteTag, nil
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
