package sipedge

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Listener returns inner with connection caps (per listener and per IP)
// and an Accept that survives resource errors: EMFILE, ENFILE and the like
// back off from 5 ms up to 1 s and try again, as net/http's Server does,
// instead of ending the serve loop.
func (e *Edge) Listener(inner net.Listener) net.Listener {
	return &listener{Listener: inner, e: e, perIP: map[string]int{}, done: make(chan struct{})}
}

// StreamListener is Listener whose connections are also framed (Conn):
// for a plain TCP listener with nothing between the socket and sipgo.
func (e *Edge) StreamListener(inner net.Listener) net.Listener {
	return &listener{Listener: inner, e: e, perIP: map[string]int{}, done: make(chan struct{}), frame: true}
}

type listener struct {
	net.Listener
	e     *Edge
	mu    sync.Mutex
	total int
	perIP map[string]int
	once  sync.Once
	done  chan struct{}
	frame bool
}

const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !retryable(err) {
				return nil, err
			}
			delay = min(max(2*delay, minBackoff), maxBackoff)
			l.e.refused(CodeAcceptError, nil, fmt.Sprintf("%v; retrying in %v", err, delay), nil)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		ip := hostOf(c.RemoteAddr())
		if why := l.admit(ip); why != "" {
			l.e.refused(CodeConnectionLimit, c.RemoteAddr(), why, nil)
			_ = c.Close()
			continue
		}
		var out net.Conn = &counted{Conn: c, release: func() { l.release(ip) }}
		if l.frame {
			out = l.e.Conn(out)
		}
		return out, nil
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *listener) admit(ip string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.e.lim.MaxConnections {
		return fmt.Sprintf("listener at its cap of %d connections", l.e.lim.MaxConnections)
	}
	if l.perIP[ip] >= l.e.lim.MaxConnectionsPerIP {
		return fmt.Sprintf("peer at its cap of %d connections", l.e.lim.MaxConnectionsPerIP)
	}
	l.total++
	l.perIP[ip]++
	return ""
}

func (l *listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// Open returns the number of connections the listener holds.
func Open(ln net.Listener) int {
	if l, ok := ln.(*listener); ok {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.total
	}
	return 0
}

// retryable reports whether an accept error is a shortage that passes
// (too many open files, no buffers, an aborted handshake) rather than a
// dead socket.
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return isResourceErr(err)
}

func hostOf(a net.Addr) string {
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// counted gives its slot back once, on Close.
type counted struct {
	net.Conn
	once    sync.Once
	release func()
}

// SyscallConn is the socket's: the edge above sets its options (coalesce.go).
func (c *counted) SyscallConn() (syscall.RawConn, error) { return RawConnOf(c.Conn) }

func (c *counted) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
