package sipedge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Conn returns c with SIP framing, refusals and timeouts in its Read: the
// bytes it yields are whole, valid messages (and CRLF keep-alives are
// answered here). Wrap the plaintext side: above TLS, below sipgo.
func (e *Edge) Conn(c net.Conn) net.Conn {
	fc := &conn{Conn: c, e: e, rbuf: make([]byte, 16<<10)}
	fc.fr = framer{check: &e.check, max: e.lim.MaxMessageBytes}
	if e.ans != nil {
		fc.fr.tap, fc.fr.take = fc.tapAnswer, fc.takeAnswer
		if e.ans.Due != nil {
			fc.initCoalesce(c)
		}
	}
	fc.last = e.now()
	return fc
}

// conn is read by one goroutine (sipgo's reader); Write passes through.
type conn struct {
	net.Conn
	e        *Edge
	fr       framer
	rbuf     []byte
	out      []byte // valid messages not yet handed to the reader
	sent     int    // bytes of out already handed over
	err      error  // sticky: returned once out is drained
	last     time.Time
	begun    time.Time       // when the buffered partial message started
	deadline time.Time       // the read deadline in force
	answer   Answer          // reused by tapAnswer
	remote   string          // RemoteAddr().String(), once
	raw      syscall.RawConn // the TCP socket, for SO_RCVLOWAT (coalesce.go); nil: not used
	lowat    int             // SO_RCVLOWAT set on raw (1, the kernel's default, when none)
	short    bool            // deadline is a coalescing wait, not a timeout
}

var infoPrefix = []byte("INFO ")

// remoteAddr is RemoteAddr().String(), computed once.
func (c *conn) remoteAddr() string {
	if c.remote == "" {
		c.remote = c.RemoteAddr().String()
	}
	return c.remote
}

// tapAnswer scans head for an answer to one of the server's INFOs into
// c.answer (scanAnswer) and returns its body's length; takeAnswer then
// hands it to the edge's Answers. A taken answer reaches neither the
// checks nor sipgo (its parse, goroutine and transaction lookup), which
// cost several times the table's own work. It must be plain (plainHead),
// so that sipgo would parse it and the edge pass it: a taken answer is one
// the old path would have delivered, never one it would have refused.
func (c *conn) tapAnswer(head []byte) (int, bool) {
	return scanAnswer(head, c.e.ansPf, &c.answer)
}

func (c *conn) takeAnswer() bool {
	c.answer.Source = c.remoteAddr()
	ok := c.e.ans.Take(&c.answer)
	c.answer = Answer{Source: c.remote} // no reference into the buffer outlives the call
	return ok
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		if c.sent < len(c.out) {
			n := copy(p, c.out[c.sent:])
			c.sent += n
			if c.sent == len(c.out) {
				c.out, c.sent = c.out[:0], 0
			}
			return n, nil
		}
		if c.err != nil {
			return 0, c.err
		}
		c.arm()
		n, err := c.Conn.Read(c.rbuf)
		if n > 0 {
			now := c.e.now()
			c.last = now
			if !c.fr.partial() {
				c.begun = now
			}
			c.fr.write(c.rbuf[:n])
			c.drain()
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && c.err == nil {
				c.err = c.timedOut()
				continue
			}
			if c.err == nil {
				c.err = err
			}
		}
	}
}

// arm sets the read deadline: the message timeout while a message is
// partly in, else the idle timeout. It moves the deadline only when it
// must come earlier, so most reads cost no timer update.
func (c *conn) arm() {
	var want time.Time
	if c.fr.partial() {
		want = c.begun.Add(c.e.lim.MessageTimeout)
	} else {
		want = c.last.Add(c.e.lim.IdleTimeout)
	}
	// While answers are due, the read also ends after the coalescing wait
	// (coalesce.go); once none are, the timeout replaces that wait.
	wait := c.coalesce()
	if wait > 0 {
		if at := c.e.now().Add(wait); at.Before(want) {
			want = at
		}
	}
	if c.deadline.IsZero() || want.Before(c.deadline) || (c.short && !want.Equal(c.deadline)) {
		c.deadline = want
		_ = c.Conn.SetReadDeadline(wallDeadline(c.e, want))
	}
	c.short = wait > 0
}

// wallDeadline maps a time of the edge's clock to the system clock.
func wallDeadline(e *Edge, t time.Time) time.Time { return time.Now().Add(t.Sub(e.now())) }

// timedOut decides what a read deadline means: nil to read on, or the
// error that ends the connection.
func (c *conn) timedOut() error {
	now := c.e.now()
	c.deadline = time.Time{}
	if c.fr.partial() {
		if now.Sub(c.begun) >= c.e.lim.MessageTimeout {
			c.e.refused(CodeMessageTimeout, c.RemoteAddr(), fmt.Sprintf("message begun %v ago not complete", now.Sub(c.begun).Round(time.Second)), nil)
			return fmt.Errorf("%w: %w", ErrSlowMessage, io.EOF)
		}
		return nil
	}
	if now.Sub(c.last) < c.e.lim.IdleTimeout {
		return nil
	}
	if c.e.busy(c.RemoteAddr().String()) {
		c.last = now
		return nil
	}
	c.e.refused(CodeIdleTimeout, c.RemoteAddr(), fmt.Sprintf("nothing received for %v and no dialog", c.e.lim.IdleTimeout), nil)
	return fmt.Errorf("%w: %w", ErrIdle, io.EOF)
}

// drain moves every complete message out of the framer: valid ones to
// out, refusals answered on the connection.
func (c *conn) drain() {
	for c.err == nil {
		o, ok := c.fr.next()
		if !ok {
			return
		}
		switch o.verdict {
		case verdictPass:
			if c.e.reqs != nil && bytes.HasPrefix(o.msg, infoPrefix) && c.e.reqs.Take(o.msg, c.remoteAddr(), c.Conn) {
				continue
			}
			c.out = append(c.out, o.msg...)
		case verdictTaken:
		case verdictPing:
			if _, err := c.Conn.Write(crlf); err != nil {
				c.err = err
			}
		case verdictRefuse:
			c.e.refused(o.code, c.RemoteAddr(), o.reason, o.excerpt)
			if o.reply != nil {
				if _, err := c.Conn.Write(o.reply); err != nil {
					c.err = err
				}
			}
		case verdictClose:
			c.e.refused(o.code, c.RemoteAddr(), o.reason+"; connection closed", o.excerpt)
			c.err = fmt.Errorf("%w: %s: %w", ErrFramingLost, o.reason, io.EOF)
		}
	}
}
