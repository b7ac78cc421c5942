package sipedge

import (
	"net"
	"syscall"
	"time"
)

// Reading many answers at one wake-up. When the server writes a batch of
// keep-alives on one connection (a front end multiplexing its users), the
// client answers them one by one, and the kernel would wake the reader at
// nearly each answer: on a small machine each wake-up (epoll, the
// scheduler, a read with its ACK) costs more than the answer's own work
// (docs/performance.md, "Keep-alive CPU"). While answers are due, the edge
// raises the TCP socket's receive low-water mark (SO_RCVLOWAT, socket(7))
// to the bytes due, so that epoll reports the socket readable once they
// are in; a read that finds less still returns what is there. The wait is
// bounded: a read waits at most CoalesceWait, so a request that arrives on
// the connection meanwhile is delayed at most that long, and only within
// the window Answers.Due reports. A FIN or an error wakes the reader at
// once (tcp_poll). TLS connections are read as before: the edge sits above
// TLS there and the record layer's bytes are not the answers' bytes.

// CoalesceWait bounds one read's wait for due answers.
const CoalesceWait = 2 * time.Millisecond

// coalesceMax caps the low-water mark; Linux caps it at half the receive
// buffer anyway (tcp_set_rcvlowat).
const coalesceMax = 64 << 10

// initCoalesce keeps nc's socket if it is one whose low-water mark can be
// set: a TCP connection, possibly under wrappers that pass SyscallConn on
// (RawConnOf). A *tls.Conn has no SyscallConn.
func (c *conn) initCoalesce(nc net.Conn) {
	if raw, err := RawConnOf(nc); err == nil {
		c.raw, c.lowat = raw, 1
	}
}

// coalesce sets the socket's low-water mark for the next read from the
// answers due on the connection, and returns how long that read may wait
// for them (0: no wait, the mark is back at 1 byte).
func (c *conn) coalesce() time.Duration {
	if c.raw == nil {
		return 0
	}
	want, wait := 1, time.Duration(0)
	if b, within := c.e.ans.Due(c.remoteAddr()); b > 1 && within > 0 {
		want, wait = min(b, coalesceMax), min(within, CoalesceWait)
	}
	if want != c.lowat {
		var serr error
		err := c.raw.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, want)
		})
		if err != nil || serr != nil {
			// The socket is closed (or refuses the option): reads end
			// with its error, or go on as before at the mark it has.
			c.raw = nil
			return 0
		}
		c.lowat = want
	}
	return wait
}

// RawConnOf is SyscallConn for a wrapper of inner: inner's socket, so
// that the edge above the wrapper can set its options.
func RawConnOf(inner net.Conn) (syscall.RawConn, error) {
	if sc, ok := inner.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, ErrNoSocket
}
