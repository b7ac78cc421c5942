package rccserver

import (
	"net"
	"sync"
)

// trackingListener wraps a TCP listener so the server learns which listener
// each connection came in on (for its Contact) and when it closes (to end
// the sessions that live on it). It sits below sipgo, before any SIP parsing.
type trackingListener struct {
	net.Listener
	srv   *Server
	bound *boundListener
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	remote := c.RemoteAddr().String()
	l.srv.conns.Store(remote, l.bound)
	return &trackedConn{Conn: c, closed: func() { l.srv.connectionClosed(remote) }}, nil
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
