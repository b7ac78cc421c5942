package rccserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// infoTable sends the INFOs we originate in dialogs on reliable
// transports — events and keep-alives — without a sipgo client
// transaction, and matches their answers itself. A sipgo transaction (its
// FSM, timers, goroutines and a request built header by header) costs
// several times the write itself (docs/performance.md, "Keep-alive CPU").
// Over TCP and TLS a non-INVITE client transaction sends its request once
// and only waits for the final answer, bounded by Timer F (RFC 3261
// §17.1.2.2, §17.1.2.3); the table does exactly that, with
// Config.RequestTimeout as the bound. INFOs on UDP take the sipgo path
// (startInDialog), which retransmits; BYE always does.
//
// Answers are matched by the branch of the top Via, as a client transaction
// matches them (RFC 3261 §17.1.3); sipgo hands us every response it matched
// to none of its own transactions (Server.onUnmatchedResponse).
//
// The table also schedules keep-alives and session-timer expiries, in
// min-heaps under one timer of the injected clock (schedule.go). When it
// fires, every keep-alive due within slack goes out, and those of sessions
// on one connection (a front end multiplexes its users) leave in one
// write; their answers then come back together too. A session keeps its
// place in the batch from one period to the next.
type infoTable struct {
	clock  Clock
	period time.Duration
	slack  time.Duration

	mu       sync.Mutex
	epoch    time.Time // of the clock: due times are offsets from it
	kas      dueHeap   // sessions by their next keep-alive (schedule.go)
	expiries dueHeap   // sessions by when their session timer runs out
	timer    Timer     // armed for the earliest entry of either heap
	timerAt  time.Duration
	waiting  map[uint64]*kaWait // by the number in the Via branch (kaWait.n)
	bursts   map[string]*burst  // answers due soon, by connection (route.dest)
	sweep    *time.Timer        // armed while waiting is not empty
	stopped  bool
	// viaSipgo sends every INFO as a sipgo transaction, as before the
	// table: the baseline of BenchmarkKeepAlive.
	viaSipgo bool

	// branch is random per process; in each INFO's branch a counter
	// (kaWait.n) and a random number follow it (appendBranch).
	branch string
	n      atomic.Uint64
	due    atomic.Uint64 // keep-alives that fell due (benchmarks)
	taken  atomic.Uint64 // answers taken at the edge (tests)
	bufs   sync.Pool
}

// kaWait is one INFO of the table whose final answer is awaited.
type kaWait struct {
	k        *infoTable
	n, rnd   uint64 // the numbers in its Via branch (appendBranch)
	s        *Session
	m        outbound
	cseq     uint32
	deadline time.Time
	// notify is set while a goroutine waits for the answer itself (an
	// event's writer or waiter, Session.drain; a keep-alive's writer in
	// the one-INFO-at-a-time flow); it is closed when the outcome is known,
	// and that goroutine acts on it. Otherwise whoever learns the outcome
	// (the answer's goroutine or the sweep) acts on it.
	notify chan struct{}
	done   bool
	err    error
	floor  int32  // its answer's bytes counted in burst
	burst  *burst // the connection's burst it was counted in; nil: none
}

// burst is the answers due soon on one connection: those of the batches
// written on it within burstWindow. The edge waits for them to read them
// at one wake-up (sipedge/coalesce.go).
type burst struct {
	bytes int       // a lower bound of their size (answerFloor)
	until time.Time // the last batch's write + burstWindow (wall clock)
}

// burstWindow is how long a batch's answers are reported due after its
// write: a client answers a batch of keep-alives in a few milliseconds
// (SIPp: 64 in about 2 ms); later answers are read as they come.
const burstWindow = 10 * time.Millisecond

func newInfoTable(clock Clock, period time.Duration) *infoTable {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return &infoTable{clock: clock, epoch: clock.Now(), period: period, slack: min(period/20, time.Second),
		kas:      dueHeap{gen: func(s *Session) *uint32 { return &s.kaGen }},
		expiries: dueHeap{gen: func(s *Session) *uint32 { return &s.expiryGen }},
		waiting:  map[uint64]*kaWait{}, bursts: map[string]*burst{}, branch: sip.RFC3261BranchMagicCookie + ".ka" + hex.EncodeToString(b[:]) + "."}
}

// sendBatch sends one keep-alive in each session of due. A session that is
// writing, or has INFOs queued or a request in hand, gets its keep-alive
// queued behind them (Session.drain); the others are sent here, one write
// per connection.
func (k *infoTable) sendBatch(due []*Session) {
	type one struct {
		s    *Session
		cseq uint32
	}
	type connKey struct{ transport, dest string }
	byConn := map[connKey][]one{}
	var order []connKey // the connections in the order first met
	for _, s := range due {
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			continue
		}
		if s.sending || !s.confirmed || s.inflight > 0 || len(s.queue) > 0 || !k.applies(s) {
			s.mu.Unlock()
			if err := s.enqueue(keepAliveMsg); err != nil && !errors.Is(err, ErrSessionClosed) {
				s.log.Warn().Err(err).Msg("keep-alive not queued")
			}
			continue
		}
		// Nothing is queued or being written: the keep-alive leaves from
		// here, as the writer would send it, without starting one.
		s.sending = true
		s.localCSeq++
		key := connKey{s.route.transport, s.route.dest}
		if _, ok := byConn[key]; !ok {
			order = append(order, key)
		}
		byConn[key] = append(byConn[key], one{s, s.localCSeq})
		s.mu.Unlock()
	}
	ss, cseqs := make([]*Session, 0, kaWriteMax), make([]uint32, 0, kaWriteMax)
	for _, key := range order {
		batch := byConn[key]
		for len(batch) > 0 {
			chunk := batch[:min(len(batch), kaWriteMax)]
			batch = batch[len(chunk):]
			ss, cseqs = ss[:0], cseqs[:0]
			for _, o := range chunk {
				ss, cseqs = append(ss, o.s), append(cseqs, o.cseq)
			}
			k.sendChunk(ss, cseqs)
		}
	}
}

// kaWriteMax bounds the keep-alives in one write (about 40 KB), so that
// the write buffers stay small enough to reuse.
const kaWriteMax = 64

// sendChunk sends the keep-alives of ss, sessions on one connection, in
// one write, and lets each session's writer run again.
func (k *infoTable) sendChunk(ss []*Session, cseqs []uint32) {
	_, err := k.send(ss, keepAliveMsg, cseqs, ss[0].srv.cfg.RequestTimeout, false)
	for _, s := range ss {
		if err != nil {
			s.answered(keepAliveMsg, err)
		}
		s.mu.Lock()
		s.sending = false
		s.kickLocked() // events queued meanwhile
		s.mu.Unlock()
	}
}

// applies reports whether s's INFOs go through the table: its dialog
// lives on a reliable transport (RFC 3261 §17.1.2.2: no retransmission).
func (k *infoTable) applies(s *Session) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.viaSipgo && !k.stopped && sip.IsReliable(s.route.transport)
}

// send writes the keep-alive m in each session of ss (all on one
// connection, the one their INVITEs came on), with CSeq cseqs[i], in one
// write, and registers them. A connection that is gone, or a write error,
// is a transport failure (the session ends, docs/protocol.md), as it would
// be for sipgo's transaction.
func (k *infoTable) send(ss []*Session, m outbound, cseqs []uint32, timeout time.Duration, waited bool) ([]*kaWait, error) {
	r := &ss[0].route // set before anything may leave (confirm), never changed after
	// The pool, not TransportLayer.GetConnection: the same lookup without a
	// debug log whose arguments cost more than the rest of the send.
	conn := r.conn // the dialog's connection, kept since its confirmation (dialogRoute.conn)
	if conn == nil {
		if pool := ss[0].srv.ua.TransportLayer().Pool(r.transport); pool != nil {
			conn = pool.Get(r.dest)
		}
		if conn == nil {
			return nil, fmt.Errorf("%s: %w: no connection to %s", m.method, ErrTransport, r.dest)
		}
		defer func() { _, _ = conn.TryClose() }() // releases Get's reference, as a transaction does
	}
	wr, ok := conn.(io.Writer) // sipgo's TCP and TLS connections write whole buffers
	if !ok {
		return nil, fmt.Errorf("%s: %w: %T cannot write", m.method, ErrTransport, conn)
	}

	buf, _ := k.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	buf.Grow(len(ss) * 700) // a keep-alive is 500–700 bytes: one allocation, no regrowth
	ws := make([]*kaWait, len(ss))
	now := time.Now()
	deadline := now.Add(timeout)
	var branch [branchMax]byte
	floors := 0
	for i, s := range ss {
		// The counter keeps branches unique, the random part unguessable
		// from the ones a client has seen (RFC 3261 §8.1.1.7; math/rand/v2's
		// global generator is ChaCha8 seeded by the system).
		w := &kaWait{k: k, n: k.n.Add(1), rnd: mrand.Uint64(), s: s, m: m, cseq: cseqs[i], deadline: deadline}
		br := k.appendBranch(branch[:0], w.n, w.rnd)
		writeInDialog(buf, s, m.method, cseqs[i], br, m.body)
		if waited {
			w.notify = make(chan struct{})
		}
		if len(ss) > 1 { // one answer alone is read as it comes
			w.floor = answerFloor(s, len(br))
			floors += int(w.floor)
		}
		ws[i] = w
	}
	k.mu.Lock()
	for _, w := range ws {
		k.waiting[w.n] = w // before the write: the answer may come at once
	}
	if floors > 0 {
		b := k.bursts[r.dest]
		if b == nil {
			b = &burst{}
			k.bursts[r.dest] = b
		}
		b.bytes += floors
		b.until = now.Add(burstWindow)
		for _, w := range ws {
			w.burst = b
		}
	}
	if k.sweep == nil && !k.stopped {
		k.sweep = time.AfterFunc(sweepEvery(timeout), func() { k.expire(timeout) })
	}
	k.mu.Unlock()

	_, err := wr.Write(buf.Bytes())
	k.bufs.Put(buf)
	if err != nil {
		k.mu.Lock()
		for _, w := range ws {
			k.settleLocked(w)
		}
		k.mu.Unlock()
		return nil, fmt.Errorf("%s: %w: %w", m.method, ErrTransport, err)
	}
	return ws, nil
}

// branchMax bounds a branch of ours: the prefix (7+3+12+1 bytes) and two
// hexadecimal uint64s (16 digits each) with a dot between.
const branchMax = 64

// appendBranch appends to b the Via branch of the INFO numbered n with
// random part rnd: the branch prefix, n and rnd in hexadecimal (shifts,
// where base 36 cost two divisions a digit, on every send and answer).
func (k *infoTable) appendBranch(b []byte, n, rnd uint64) []byte {
	b = append(b, k.branch...)
	b = strconv.AppendUint(b, n, 16)
	b = append(b, '.')
	return strconv.AppendUint(b, rnd, 16)
}

// lookupLocked (under mu) returns the awaited INFO whose Via branch is
// branch, byte for byte, or nil. The number after the prefix finds it
// (hand-parsed: strconv.ParseUint would need a string, an allocation per
// answer); its branch rendered again must be branch, which keeps the match
// exact whatever the digits were.
func (k *infoTable) lookupLocked(branch []byte) *kaWait {
	if len(branch) > branchMax || len(branch) <= len(k.branch) || string(branch[:len(k.branch)]) != k.branch {
		return nil
	}
	var n uint64
	for _, c := range branch[len(k.branch):] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c == '.':
			w := k.waiting[n]
			var again [branchMax]byte
			if w == nil || !bytes.Equal(k.appendBranch(again[:0], w.n, w.rnd), branch) {
				return nil
			}
			return w
		default:
			return nil
		}
		n = n<<4 | uint64(d) // may drop high digits: the comparison above still decides
	}
	return nil
}

// sweepEvery is how often unanswered keep-alives are looked for: a quarter
// of the timeout, at most a second, so one times out at most that late.
func sweepEvery(timeout time.Duration) time.Duration {
	return max(min(timeout/4, time.Second), time.Millisecond)
}

// writeInDialog writes a request of s's dialog as startInDialog builds it
// (RFC 3261 §12.2.1.1), from the dialog's text rendered once
// (dialogRoute, localLines): only the branch, the CSeq and the body are
// new. The Via's sent-by is our Contact's host and port, the listener the
// client reached: over TCP and TLS the answer comes back on the
// connection, and sent-by is where a client would connect if it had to
// (RFC 3261 §18.2.2). Hand-written because sipgo has no way to serialize
// a request without first building it header by header.
func writeInDialog(buf *bytes.Buffer, s *Session, method sip.RequestMethod, cseq uint32, branch []byte, body []byte) {
	r := &s.route
	buf.WriteString(string(method))
	buf.WriteByte(' ')
	buf.WriteString(r.target)
	buf.WriteString(" SIP/2.0\r\nVia: SIP/2.0/")
	buf.WriteString(sip.NetworkToUpper(r.transport))
	buf.WriteByte(' ')
	buf.WriteString(r.local.sentBy)
	buf.WriteString(";branch=")
	buf.Write(branch)
	buf.WriteString("\r\n")
	buf.WriteString(r.head)
	buf.WriteString("CSeq: ")
	buf.Write(strconv.AppendUint(buf.AvailableBuffer(), uint64(cseq), 10))
	buf.WriteByte(' ')
	buf.WriteString(string(method))
	buf.WriteString("\r\nMax-Forwards: 70\r\n")
	for _, rr := range r.routes {
		buf.WriteString("Route: ")
		buf.WriteString(rr)
		buf.WriteString("\r\n")
	}
	buf.WriteString(r.local.contact)
	if body != nil {
		buf.WriteString("Content-Type: " + csta.ContentType + "\r\nContent-Disposition: signal;handling=required\r\n")
	}
	buf.WriteString("Content-Length: ")
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(len(body)), 10))
	buf.WriteString("\r\n\r\n")
	buf.Write(body)
}

// answer takes a response sipgo matched to no transaction and reports
// whether it answers one of our INFOs. Most answers never get here: the
// edge hands them to take first (sipedge.Answers).
func (k *infoTable) answer(res *sip.Response) bool {
	via, cs := res.Via(), res.CSeq()
	if via == nil || cs == nil || cs.MethodName != sip.INFO || res.CallID() == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	k.mu.Lock()
	w := matchLocked(k.lookupLocked([]byte(branch)), res.Source(), res.CallID().Value(), cs.SeqNo)
	if w == nil || res.IsProvisional() {
		k.mu.Unlock()
		return w != nil
	}
	k.settleLocked(w)
	act := k.resolveLocked(w, answerError(sip.INFO, res))
	k.mu.Unlock()
	if act {
		w.finish()
	}
	return true
}

// take is answer for the fields the edge scanned from a stream
// connection's bytes, on that connection's reader goroutine. It reports
// whether the response answers one of our INFOs; one it does not take
// (a late answer, another dialog's) goes through sipgo and answer as before.
func (k *infoTable) take(a *sipedge.Answer) bool {
	k.mu.Lock()
	w := matchLocked(k.lookupLocked(a.Branch), a.Source, a.CallID, a.CSeq)
	if w == nil || a.Status < 200 {
		k.mu.Unlock()
		return w != nil
	}
	k.settleLocked(w)
	k.taken.Add(1)
	var err error
	if a.Status >= 300 {
		err = &RejectedError{Method: sip.INFO, Status: a.Status, Reason: string(a.Reason)}
	}
	act := k.resolveLocked(w, err)
	k.mu.Unlock()
	switch {
	case !act:
	case err == nil:
		w.finish() // counts the delivery: nothing that blocks the reader
	default:
		// The session may end (a 481) and send BYE, whose answer this
		// reader has to read: not on its goroutine.
		w.s.srv.work.Go(w.finish)
	}
	return true
}

// matchLocked (under infoTable.mu) returns w if the answer that named its branch may settle it:
// only the dialog's own connection may answer (a client on another
// connection cannot settle, say with a 481, another user's INFO), and the
// answer must name the dialog and the CSeq (RFC 3261 §17.1.3 lets a client
// transaction match on the branch alone; we check more).
func matchLocked[T string | []byte](w *kaWait, src string, callID T, cseq uint32) *kaWait {
	if w == nil || src != w.s.route.dest || string(callID) != w.s.callID || cseq != w.cseq {
		return nil
	}
	return w
}

// resolveLocked records w's outcome and reports whether the caller acts on
// it (no writer waits for it).
func (k *infoTable) resolveLocked(w *kaWait, err error) bool {
	w.done, w.err = true, err
	if w.notify != nil {
		close(w.notify)
		return false
	}
	return true
}

// expire gives up the keep-alives whose time is over (ErrNoAnswer) and
// re-arms the sweep while some are still awaited.
func (k *infoTable) expire(timeout time.Duration) {
	now := time.Now()
	var over []*kaWait
	k.mu.Lock()
	for _, w := range k.waiting {
		if now.Before(w.deadline) {
			continue
		}
		k.settleLocked(w)
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
// while the client answers promptly (keepAlive, with session.initial_window 1). It reports
// whether the answer came; if not, the answer is acted on when it comes.
func (k *infoTable) hold(w *kaWait, d time.Duration, quit <-chan struct{}) bool {
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
func (k *infoTable) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
	if k.sweep != nil {
		k.sweep.Stop()
		k.sweep = nil
	}
	clear(k.waiting)
	clear(k.bursts)
}

// settleLocked (under mu) stops awaiting w: its entry and its share of its
// connection's burst go.
func (k *infoTable) settleLocked(w *kaWait) {
	delete(k.waiting, w.n)
	b := w.burst
	if b == nil {
		return
	}
	w.burst = nil
	// A burst whose window ended is no longer in the map (dueAnswers): its
	// late answers count down an orphan, never the connection's next burst.
	if b.bytes -= int(w.floor); b.bytes <= 0 && k.bursts[w.s.route.dest] == b {
		delete(k.bursts, w.s.route.dest)
	}
}

// dueAnswers is sipedge.Answers.Due: the bytes of answers due soon on the
// connection to remote, and how long they are.
func (k *infoTable) dueAnswers(remote string) (int, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bursts[remote]
	if b == nil {
		return 0, 0
	}
	within := time.Until(b.until)
	if within <= 0 {
		delete(k.bursts, remote) // late answers are read as they come (settleLocked)
		return 0, 0
	}
	return b.bytes, within
}

// answerFloor is a lower bound of the size of the answer to a request
// that s sends with a Via branch of n bytes: a response copies the
// request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2). Counted
// in compact forms (§7.3.3), with an empty reason phrase, less a margin
// for a peer that renders the values shorter: an answer smaller still is
// read when the edge's wait ends, not lost.
func answerFloor(s *Session, n int) int32 {
	const (
		status = len("SIP/2.0 200 \r\n") + len("\r\n") // status line, end of headers
		via    = len("v:SIP/2.0/TCP ;branch=\r\n")
		cseq   = len("CSeq:1 INFO\r\n")
		long   = len("From: To: Call-ID: ") - len("f:t:i:") // r.head's long names
		margin = 32
	)
	r := &s.route
	return int32(max(status+via+len(r.local.sentBy)+n+len(r.head)-long+cseq-margin, 0))
}

// finish acts on the keep-alive's outcome unless its session has ended.
func (w *kaWait) finish() {
	if w.err == nil && w.m.keepalive {
		return // answered: nothing to do, and no need to touch the session
	}
	s := w.s
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if !ended {
		s.answered(w.m, w.err)
	}
}

// onUnmatchedResponse receives the responses sipgo matched to none of its
// client transactions: answers to our keep-alives (infoTable) and late
// retransmissions.
func (s *Server) onUnmatchedResponse(res *sip.Response) {
	if s.infos.answer(res) {
		return
	}
	s.log.Debug().Int("status", res.StatusCode).Str("peer", res.Source()).Msg("response to no transaction of ours: dropped (RFC 3261 §17.1.3)")
}

// keepAlive sends m, a keep-alive with CSeq cseq, through the keep-alive
// table. With the one-INFO-at-a-time rule (session.initial_window 1),
// while the client answers promptly and an INFO is queued behind it, the
// writer waits for its answer as for an event's (Session.drain); otherwise
// it does not wait.
func (s *Session) keepAlive(m outbound, cseq uint32) {
	ws, err := s.srv.infos.send([]*Session{s}, m, []uint32{cseq}, s.srv.cfg.RequestTimeout, false)
	if err != nil {
		s.answered(m, err)
		return
	}
	w := ws[0]
	s.mu.Lock()
	wait := !s.pipelined && s.srv.cfg.InitialWindow > 0 && s.initialWindow() == 1 && len(s.queue) > 0
	s.mu.Unlock()
	if wait && !s.srv.infos.hold(w, answerHold, s.ctx.Done()) && s.ctx.Err() == nil {
		s.mu.Lock()
		s.pipelined = true
		s.mu.Unlock()
		s.log.Info().Uint32("cseq", cseq).Str("event", m.root).Dur("hold", answerHold).
			Msg("client does not answer INFOs promptly: INFOs no longer wait for answers")
	}
}

// answerWait is the wait for the final answer to an INFO we sent: an entry
// of the INFO table, or a sipgo client transaction (UDP).
type answerWait interface {
	// wait blocks until the final answer (nil or its error), ctx ends
	// (ErrNoAnswer) or stop closes (errStopped).
	wait(ctx context.Context, stop <-chan struct{}) error
	// forget stops tracking the request: its answer, if it comes, is dropped.
	forget()
}

// startINFO writes m, an event INFO with CSeq cseq, in s's dialog and
// returns the wait for its answer.
func (srv *Server) startINFO(s *Session, m outbound, cseq uint32) (answerWait, error) {
	if srv.infos.applies(s) {
		ws, err := srv.infos.send([]*Session{s}, m, []uint32{cseq}, srv.cfg.RequestTimeout, true)
		if err != nil {
			return nil, err
		}
		return ws[0], nil
	}
	tx, err := srv.startInDialog(s, m.method, cseq, m.body)
	if err != nil {
		return nil, err
	}
	return sipgoWait{m.method, tx}, nil
}

func (w *kaWait) wait(ctx context.Context, stop <-chan struct{}) error {
	select {
	case <-w.notify:
		return w.err // written before notify closed
	case <-ctx.Done():
		return fmt.Errorf("%s: %w: %w", w.m.method, ErrNoAnswer, ctx.Err())
	case <-stop:
		return errStopped
	}
}

func (w *kaWait) forget() {
	k := w.k
	k.mu.Lock()
	if !w.done {
		w.done = true
		k.settleLocked(w)
	}
	k.mu.Unlock()
}

// sipgoWait waits on a sipgo client transaction.
type sipgoWait struct {
	method sip.RequestMethod
	tx     sip.ClientTransaction
}

func (w sipgoWait) wait(ctx context.Context, stop <-chan struct{}) error {
	return awaitFinal(ctx, w.method, w.tx, stop)
}

func (w sipgoWait) forget() { w.tx.Terminate() }
