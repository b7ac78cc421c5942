package rccserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// keepAlives sends keep-alive INFOs on reliable transports without a sipgo
// client transaction and matches their answers itself. A keep-alive is the
// same constant request every period for every session; a sipgo transaction
// (its FSM, timers, goroutines and a parsed request built header by header)
// cost about ten times the write itself (docs/performance.md, "Keep-alive
// CPU"). Over TCP and TLS a non-INVITE client transaction sends its request
// once and only waits for the final answer, bounded by Timer F (RFC 3261
// §17.1.2.2, §17.1.2.3); this table does exactly that, with
// Config.RequestTimeout as the bound. UDP keep-alives, and any whose
// connection sipgo no longer holds, take the sipgo path (startInDialog),
// which retransmits and dials.
//
// Answers are matched by the branch of the top Via, as a client transaction
// matches them (RFC 3261 §17.1.3); sipgo hands us every response it matched
// to none of its own transactions (Server.onUnmatchedResponse).
type keepAlives struct {
	mu      sync.Mutex
	waiting map[string]*kaWait // by Via branch
	sweep   *time.Timer        // armed while waiting is not empty
	stopped bool
	// viaSipgo sends every keep-alive as a sipgo transaction: the baseline
	// of BenchmarkKeepAlive.
	viaSipgo bool

	branch string // random per process; a counter follows it in each branch
	n      atomic.Uint64
	bufs   sync.Pool
}

// kaWait is one keep-alive whose final answer is awaited.
type kaWait struct {
	s        *Session
	m        outbound
	deadline time.Time
	// notify is set while the session's writer waits for the answer itself
	// (the one-INFO-at-a-time flow, Session.drain); it is closed when the
	// outcome is known, and the writer acts on it. Otherwise whoever learns
	// the outcome (the answer's goroutine or the sweep) acts on it.
	notify chan struct{}
	done   bool
	err    error
}

func newKeepAlives() *keepAlives {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return &keepAlives{waiting: map[string]*kaWait{}, branch: sip.RFC3261BranchMagicCookie + ".ka" + hex.EncodeToString(b[:]) + "."}
}

// applies reports whether s's keep-alives go through the table: its dialog
// lives on a reliable transport (RFC 3261 §17.1.2.2: no retransmission).
func (k *keepAlives) applies(s *Session) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.viaSipgo && !k.stopped && sip.IsReliable(s.route.transport)
}

// send writes the keep-alive m with CSeq cseq in s's dialog, on the
// connection its INVITE came on, and registers it. A connection that is
// gone, or a write error, is a transport failure (the session ends,
// docs/protocol.md), as it would be for sipgo's transaction.
func (k *keepAlives) send(s *Session, m outbound, cseq uint32, timeout time.Duration) (*kaWait, error) {
	r := &s.route // set before anything may leave (confirm), never changed after
	// The pool, not TransportLayer.GetConnection: the same lookup without a
	// debug log whose arguments cost more than the rest of the send.
	var conn sip.Connection
	if pool := s.srv.ua.TransportLayer().Pool(r.transport); pool != nil {
		conn = pool.Get(r.dest)
	}
	if conn == nil {
		return nil, fmt.Errorf("%s: %w: no connection to %s", m.method, ErrTransport, r.dest)
	}
	defer func() { _, _ = conn.TryClose() }() // releases Get's reference, as a transaction does
	wr, ok := conn.(io.Writer)                // sipgo's TCP and TLS connections write whole buffers
	if !ok {
		return nil, fmt.Errorf("%s: %w: %T cannot write", m.method, ErrTransport, conn)
	}

	branch := k.branch + strconv.FormatUint(k.n.Add(1), 36)
	buf, _ := k.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	writeInDialog(buf, s, m.method, cseq, branch, m.body)

	w := &kaWait{s: s, m: m, deadline: time.Now().Add(timeout)}
	k.mu.Lock()
	k.waiting[branch] = w // before the write: the answer may come at once
	if k.sweep == nil && !k.stopped {
		k.sweep = time.AfterFunc(sweepEvery(timeout), func() { k.expire(timeout) })
	}
	k.mu.Unlock()

	_, err := wr.Write(buf.Bytes())
	k.bufs.Put(buf)
	if err != nil {
		k.mu.Lock()
		delete(k.waiting, branch)
		k.mu.Unlock()
		return nil, fmt.Errorf("%s: %w: %w", m.method, ErrTransport, err)
	}
	return w, nil
}

// sweepEvery is how often unanswered keep-alives are looked for: a quarter
// of the timeout, at most a second, so one times out at most that late.
func sweepEvery(timeout time.Duration) time.Duration {
	return max(min(timeout/4, time.Second), time.Millisecond)
}

// writeInDialog writes a request of s's dialog as startInDialog builds it
// (RFC 3261 §12.2.1.1). The Via's sent-by is our Contact's host and port,
// the listener the client reached: over TCP and TLS the answer comes back
// on the connection, and sent-by is where a client would connect if it
// had to (RFC 3261 §18.2.2). Hand-written because sipgo has no way to
// serialize a request without first building it header by header.
func writeInDialog(buf *bytes.Buffer, s *Session, method sip.RequestMethod, cseq uint32, branch string, body []byte) {
	r := &s.route
	buf.WriteString(string(method))
	buf.WriteByte(' ')
	r.target.StringWrite(buf)
	buf.WriteString(" SIP/2.0\r\nVia: SIP/2.0/")
	buf.WriteString(sip.NetworkToUpper(r.transport))
	buf.WriteByte(' ')
	buf.WriteString(s.contact.Address.Host)
	if p := s.contact.Address.Port; p > 0 {
		buf.WriteByte(':')
		buf.WriteString(strconv.Itoa(p))
	}
	buf.WriteString(";branch=")
	buf.WriteString(branch)
	buf.WriteString("\r\n")
	r.from.StringWrite(buf)
	buf.WriteString("\r\n")
	r.to.StringWrite(buf)
	buf.WriteString("\r\n")
	r.callID.StringWrite(buf)
	buf.WriteString("\r\nCSeq: ")
	buf.WriteString(strconv.FormatUint(uint64(cseq), 10))
	buf.WriteByte(' ')
	buf.WriteString(string(method))
	buf.WriteString("\r\nMax-Forwards: 70\r\n")
	for _, rr := range r.routes {
		buf.WriteString("Route: ")
		buf.WriteString(rr)
		buf.WriteString("\r\n")
	}
	s.contact.StringWrite(buf)
	buf.WriteString("\r\n")
	if body != nil {
		buf.WriteString("Content-Type: " + csta.ContentType + "\r\nContent-Disposition: signal;handling=required\r\n")
	}
	buf.WriteString("Content-Length: ")
	buf.WriteString(strconv.Itoa(len(body)))
	buf.WriteString("\r\n\r\n")
	buf.Write(body)
}

// answer takes a response sipgo matched to no transaction and reports
// whether it answers one of our keep-alives.
func (k *keepAlives) answer(res *sip.Response) bool {
	via, cs := res.Via(), res.CSeq()
	if via == nil || cs == nil || cs.MethodName != sip.INFO {
		return false
	}
	branch, _ := via.Params.Get("branch")
	k.mu.Lock()
	w := k.waiting[branch]
	if w == nil || res.IsProvisional() {
		k.mu.Unlock()
		return w != nil
	}
	delete(k.waiting, branch)
	act := k.resolveLocked(w, answerError(sip.INFO, res))
	k.mu.Unlock()
	if act {
		w.finish()
	}
	return true
}

// resolveLocked records w's outcome and reports whether the caller acts on
// it (no writer waits for it).
func (k *keepAlives) resolveLocked(w *kaWait, err error) bool {
	w.done, w.err = true, err
	if w.notify != nil {
		close(w.notify)
		return false
	}
	return true
}

// expire gives up the keep-alives whose time is over (ErrNoAnswer) and
// re-arms the sweep while some are still awaited.
func (k *keepAlives) expire(timeout time.Duration) {
	now := time.Now()
	var over []*kaWait
	k.mu.Lock()
	for branch, w := range k.waiting {
		if now.Before(w.deadline) {
			continue
		}
		delete(k.waiting, branch)
		if k.resolveLocked(w, fmt.Errorf("%s: %w: no final answer within %v", w.m.method, ErrNoAnswer, timeout)) {
			over = append(over, w)
		}
	}
	if len(k.waiting) > 0 && !k.stopped {
		k.sweep.Reset(sweepEvery(timeout))
	} else {
		k.sweep = nil
	}
	k.mu.Unlock()
	for _, w := range over {
		w.finish()
	}
}

// hold waits up to d for w's answer, as the writer does for an event INFO
// while the client answers promptly (Session.answeredInTime). It reports
// whether the answer came; if not, the answer is acted on when it comes.
func (k *keepAlives) hold(w *kaWait, d time.Duration, quit <-chan struct{}) bool {
	k.mu.Lock()
	if w.done {
		k.mu.Unlock()
		w.finish()
		return true
	}
	w.notify = make(chan struct{})
	notify := w.notify
	k.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-notify:
		w.finish()
		return true
	case <-t.C:
	case <-quit:
	}
	k.mu.Lock()
	if w.done {
		k.mu.Unlock()
		w.finish()
		return true
	}
	w.notify = nil // whoever learns the outcome acts on it
	k.mu.Unlock()
	return false
}

// stop drops every awaited keep-alive (the server is shutting down; their
// sessions have ended).
func (k *keepAlives) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.sweep != nil {
		k.sweep.Stop()
		k.sweep = nil
	}
	clear(k.waiting)
}

// finish acts on the keep-alive's outcome unless its session has ended.
func (w *kaWait) finish() {
	s := w.s
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if !ended {
		s.answered(w.m, w.err)
	}
}

// onUnmatchedResponse receives the responses sipgo matched to none of its
// client transactions: answers to our keep-alives (keepAlives) and late
// retransmissions.
func (s *Server) onUnmatchedResponse(res *sip.Response) {
	if s.keepAlives.answer(res) {
		return
	}
	s.log.Debug().Int("status", res.StatusCode).Str("peer", res.Source()).Msg("response to no transaction of ours: dropped (RFC 3261 §17.1.3)")
}

// keepAlive sends m, a keep-alive with CSeq cseq, through the keep-alive
// table. While the client answers promptly and an INFO is queued behind
// it, the writer waits for its answer as for an event's (Session.drain).
func (s *Session) keepAlive(m outbound, cseq uint32) {
	w, err := s.srv.keepAlives.send(s, m, cseq, s.srv.cfg.RequestTimeout)
	if err != nil {
		s.answered(m, err)
		return
	}
	s.mu.Lock()
	wait := !s.pipelined && len(s.queue) > 0
	s.mu.Unlock()
	if wait && !s.srv.keepAlives.hold(w, answerHold, s.ctx.Done()) && s.ctx.Err() == nil {
		s.mu.Lock()
		s.pipelined = true
		s.mu.Unlock()
		s.log.Info().Uint32("cseq", cseq).Str("event", m.root).Dur("hold", answerHold).
			Msg("client does not answer INFOs promptly: INFOs no longer wait for answers")
	}
}
