package rccserver

import (
	"net"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// trackingListener wraps a TCP listener so the server learns which listener
// each connection came in on (for its Contact) and when it closes (to end
// the sessions that live on it). It sits below sipgo, before any SIP parsing.
type trackingListener struct {
	net.Listener
	srv   *Server
	bound *boundListener
	edge  *sipedge.Edge // framing, refusals and timeouts on the plaintext side
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	remote := c.RemoteAddr().String()
	contact, local := l.bound.contactOn(c.LocalAddr())
	l.srv.conns.Store(remote, &connInfo{bound: l.bound, contact: contact, local: local})
	return &trackedConn{Conn: l.edge.Conn(c), closed: func() { l.srv.connectionClosed(remote) }}, nil
}

// connInfo is what the server knows of an accepted connection.
type connInfo struct {
	bound   *boundListener
	contact sip.ContactHeader // the listener's Contact, with a reachable host
	local   *localLines       // contact rendered for the dialogs on the connection
}

// contactOn returns the listener's Contact for a connection whose local
// address is local, and its lines for in-dialog requests: a wildcard bind
// (0.0.0.0, ::) without an advertised host is written with the address
// the client actually reached.
func (b *boundListener) contactOn(local net.Addr) (sip.ContactHeader, *localLines) {
	if !b.wildcard {
		return b.contact, b.local
	}
	host, _, err := net.SplitHostPort(local.String())
	if err != nil {
		return b.contact, b.local
	}
	c := b.contact
	c.Address.Host = host
	return c, newLocalLines(c)
}

// trackedConn reports its end once: on the first read error (the peer
// closed it or it broke) or on Close.
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(c.closed)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}
