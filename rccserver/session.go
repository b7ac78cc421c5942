package rccserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
)

// Session is one signed-in RCC client: one INVITE dialog (ECMA TR/87 §7.1).
// The rest of the server uses it to learn who the client is, to send events,
// and to be told when it ends.
type Session struct {
	srv *Server
	// dlg is sipgo's dialog until our 200 is acknowledged; then route keeps
	// what in-dialog work needs and dlg (with its copies of the INVITE and
	// the 200) is let go (guarded by mu).
	dlg    *sipgo.DialogServerSession
	route  dialogRoute
	id     string // dialog ID
	callID string
	peer   string // source address of the INVITE: the connection we answer on
	user   string
	line   string
	// lineServer is the INVITE's Request-URI, for the session record.
	lineServer string
	contact    sip.ContactHeader
	grant      *Grant
	log        zerolog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	mu         sync.Mutex
	localCSeq  uint32 // CSeq of requests we send; our own counter, not sipgo's dialog counter
	inviteCSeq uint32 // CSeq of the INVITE that created the dialog
	interval   time.Duration
	kaGen      uint32 // odd while its keep-alives are scheduled; under infoTable.mu (schedule.go)
	expiryGen  uint32 // odd while its session timer runs; under infoTable.mu
	queue      []outbound
	sending    bool          // a drain goroutine is running
	inflight   int           // requests being handled: events wait until their response is out
	pending    []*pending    // INFOs sent whose answer is awaited, oldest (lowest CSeq) first
	silent     bool          // an INFO went unanswered: later ones are logged at debug
	pipelined  bool          // the client left an INFO unanswered for answerHold: full window from now on
	room       chan struct{} // capacity 1: an outstanding INFO was settled (waitRoom)
	// confirmed: the 200 to the INVITE has been acknowledged (or given up
	// on); until then nothing we originate may leave (RFC 3261 §15: no BYE
	// before the ACK), and sipgo is still writing the dialog's response.
	confirmed bool
	acked     chan struct{} // closed when confirmed is set
	ackOK     bool
	ended     bool
	endHooks  []func(error)
	monitors  map[string]string // monitorCrossRefID -> monitored device, byte-exact
	order     requestOrder      // the client's requests, handled in CSeq order (order.go)

	// Session records and adoption (adopt.go).
	recMu      sync.Mutex  // serialises the writes of the session's record
	abandoned  atomic.Bool // dropped for another node: the record is not removed
	adopted    bool        // rebuilt from another node's record
	refreshed  bool        // adopted: the target refresh reached the client; under mu
	refreshing bool        // adopted: a target refresh is in flight; under mu
}

// dialogRoute is what requests we originate in the dialog need (RFC 3261
// §12.2.1.1): the client's Contact as remote target, both parties with
// their tags, the Call-ID, the route set, and the connection to use. The
// parts that never change are kept as the text they are written as,
// rendered once (newDialogRoute): an INFO only appends them, where
// rendering sipgo's parsed headers again cost most of a keep-alive
// (docs/performance.md, "Issue 16: keep-alive with pre-rendered dialog
// headers"). target and head share one allocation; the From and To
// values and the parts a session record needs are substrings of it, not
// copies (the Call-ID is Session.callID). A Session with its malloc
// header fits the 896-byte size class: a field more costs 128 bytes per
// held session (docs/performance.md).
type dialogRoute struct {
	target string // the Request-URI: the client's Contact URI
	// oddTarget is the parsed target, kept only if its text does not parse
	// back to the same URI (requestURI).
	oddTarget *sip.Uri
	// head is "From: …\r\nTo: …\r\nCall-ID: …\r\n": From is us (the To
	// of our 200, with our tag), To the client (the From of its INVITE).
	head string
	// fromEnd and toEnd are where the From and To values end in head
	// (from, to): offsets, not strings, keep a Session in a smaller size
	// class.
	fromEnd, toEnd int32
	// Our URI and tag and the client's, as the parsed headers held them
	// (session records): substrings of the same text.
	localURI, localTag, remoteURI, remoteTag string
	routes                                   []string // the INVITE's Record-Route values, in order
	// local is our Via sent-by and Contact line, rendered once per
	// listener (or accepted connection of a wildcard listener) and shared
	// by its sessions.
	local     *localLines
	transport string
	dest      string // the INVITE's source: the connection we answer on
	// conn is that connection, looked up once when the dialog is
	// confirmed, without holding a reference: the INFO table writes on it
	// without a pool lookup per INFO (sipgo's Ref and TryClose format two
	// addresses for a debug log each time, 12 allocations per INFO). If it
	// has closed, the write fails as the lookup would have (a transport
	// failure), and the session ends with its connection anyway.
	conn sip.Connection
}

// keepRoute copies the dialog's route from the INVITE and our 200, and lets
// sipgo's dialog (and its copies of both messages) go.
func (s *Session) keepRoute(inv *sip.Request, res *sip.Response) {
	var routes []string
	for _, rr := range inv.GetHeaders("Record-Route") {
		routes = append(routes, rr.Value())
	}
	from, to := res.To().AsFrom(), inv.From().AsTo()
	r := newDialogRoute(&inv.Contact().Address, &from, &to, inv.CallID().Value(), routes, s.srv.localOf(inv.Source(), inv.Transport(), s.contact))
	r.transport, r.dest = inv.Transport(), inv.Source()
	if pool := s.srv.ua.TransportLayer().Pool(r.transport); pool != nil && sip.IsReliable(r.transport) {
		if r.conn = pool.Get(r.dest); r.conn != nil {
			_, _ = r.conn.TryClose() // no reference kept: see dialogRoute.conn
		}
	}
	s.mu.Lock()
	s.route = r
	dlg := s.dlg
	s.dlg = nil
	s.mu.Unlock()
	if dlg != nil {
		_ = dlg.Close()
	}
}

type outbound struct {
	method    sip.RequestMethod
	body      []byte
	root      string
	keepalive bool
	sent      time.Time  // when it went out, for rcc_event_delivery_duration_seconds
	stages    stageTimes // -tags rccstages only; empty otherwise (stages_off.go)
}

// ID returns the dialog ID.
func (s *Session) ID() string { return s.id }

// Ref is a short, stable reference to the session for views and logs: a
// hash of the dialog ID, so that neither dialog tag is ever published.
func (s *Session) Ref() string {
	sum := sha256.Sum256([]byte(s.id))
	return hex.EncodeToString(sum[:6])
}

// CallID returns the SIP Call-ID of the dialog.
func (s *Session) CallID() string { return s.callID }

// User returns the From address of the INVITE, as sent.
func (s *Session) User() string { return s.user }

// Line returns the line URI from the INVITE's lcs:line private data, byte-exact.
func (s *Session) Line() string { return s.line }

// Peer returns the source address of the INVITE.
func (s *Session) Peer() string { return s.peer }

// Grant returns what admission granted.
func (s *Session) Grant() *Grant { return s.grant }

// Log returns the session's logger (call_id, peer, user, line).
func (s *Session) Log() *zerolog.Logger { return &s.log }

// Context is cancelled when the session ends; context.Cause tells why.
func (s *Session) Context() context.Context { return s.ctx }

// OnEnd registers f to run once when the session ends, with the reason. If
// the session already ended, f runs at once.
func (s *Session) OnEnd(f func(reason error)) {
	s.mu.Lock()
	if !s.ended {
		s.endHooks = append(s.endHooks, f)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	f(context.Cause(s.ctx))
}

// AddMonitor records a monitor of device under id; the device string is kept
// exactly as the client sent it, for echo in events.
func (s *Session) AddMonitor(id, device string) {
	s.mu.Lock()
	if s.monitors == nil {
		s.monitors = map[string]string{}
	}
	s.monitors[id] = device
	s.mu.Unlock()
	s.persist()
}

// RemoveMonitor drops a monitor and reports whether it existed.
func (s *Session) RemoveMonitor(id string) bool {
	s.mu.Lock()
	_, ok := s.monitors[id]
	delete(s.monitors, id)
	s.mu.Unlock()
	if ok {
		s.persist()
	}
	return ok
}

// Monitors returns a copy of the session's monitors (cross-ref ID → device).
func (s *Session) Monitors() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.monitors))
	for k, v := range s.monitors {
		out[k] = v
	}
	return out
}

// Send queues msg (an event or SystemStatus) for delivery as an INFO in this
// dialog. Messages of one session leave in order, in CSeq order on the
// dialog's connection; once the client has left one unanswered they no
// longer wait for each other's answers (Session.drain). A slow client
// delays only its own session.
func (s *Session) Send(msg csta.Message) error {
	var began time.Time
	if stagesOn {
		began = time.Now()
	}
	body, err := csta.Encode(msg)
	if err != nil {
		return err
	}
	m := outbound{method: sip.INFO, body: body, root: msg.Root()}
	if stagesOn {
		m.stages.mark(began)
	}
	return s.enqueue(m)
}

// Close ends the session from the server side: BYE is sent and end hooks run.
func (s *Session) Close(reason error) {
	if reason == nil {
		reason = ErrClosedByServer
	}
	s.end(reason, true)
}

func (s *Session) enqueue(m outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return ErrSessionClosed
	}
	if len(s.queue) >= s.srv.cfg.QueueSize {
		s.srv.metrics.eventsDropped.Add(1)
		return ErrQueueFull
	}
	s.queue = append(s.queue, m)
	s.kickLocked()
	return nil
}

// kickLocked starts a drain goroutine if there is work and none runs. No
// goroutine is parked per idle session, so idle sessions cost only memory.
func (s *Session) kickLocked() {
	if s.sending || !s.confirmed || s.inflight > 0 || len(s.queue) == 0 || s.ended {
		return
	}
	s.sending = true
	s.srv.work.Go(s.drain)
}

// pending is one INFO we sent whose final answer is awaited.
type pending struct {
	m       outbound
	cseq    uint32
	tx      answerWait
	stop    chan struct{} // closed when the wait is given up (window full)
	stopped bool          // stop is closed; under Session.mu
	slot    bool          // holds a place in its connection's window; under Session.mu
}

// answerHold applies only with Config.InitialWindow set: how long the
// writer waits for room in that window while the client answers promptly.
// A client whose oldest outstanding INFO stays unanswered this long has its
// session switched to the full window (Config.EventWindow) for good, so it
// waits at most this long, once.
const answerHold = 200 * time.Millisecond

// drain writes the queued INFOs one after another, each with the next CSeq,
// without waiting for their answers: a goroutine per outstanding INFO
// waits for its answer (Session.await). RFC 3261 §17.1 lets a UAC have
// several transactions in progress; the CSeq of each is higher than the
// last (§12.2.1.1), and one writer per session keeps that order on the
// wire, which is the order a UAS checks (§12.2.2). With
// Config.InitialWindow set (1 is the earlier one-at-a-time rule), at most
// that many are outstanding until the client first leaves one unanswered
// for answerHold (waitRoom); by default there is no such limit.
//
// At most cfg.EventWindow INFOs of a session, and cfg.ConnectionWindow of
// all the sessions on one client connection (a front end multiplexes its
// users), are outstanding. When a window is full the session's oldest
// outstanding INFO is given up: it was written already (on TCP the client
// has it), we only stop waiting for its answer, and count it
// (Stats.WindowFull); a session with none outstanding on a full connection
// sends its INFO without awaiting the answer. A client that never answers
// thus gets every event at once and costs a bounded number of transactions.
func (s *Session) drain() {
	for {
		s.mu.Lock()
		if s.inflight > 0 || len(s.queue) == 0 || s.ended {
			s.sending = false
			s.mu.Unlock()
			return
		}
		if !s.pipelined && s.srv.cfg.InitialWindow > 0 && len(s.pending) >= s.initialWindow() {
			oldest := s.pending[0]
			s.mu.Unlock()
			s.waitRoom(oldest)
			continue
		}
		m := s.queue[0]
		s.queue[0] = outbound{}
		s.queue = s.queue[1:]
		s.localCSeq++
		cseq := s.localCSeq
		if m.keepalive && s.srv.infos.applies(s) {
			s.mu.Unlock()
			s.keepAlive(m, cseq)
			continue
		}
		var oldest *pending
		slot := false
		switch {
		case len(s.pending) >= s.srv.cfg.EventWindow:
			oldest = s.giveUpOldestLocked()
		case s.srv.windows.acquire(s.peer, s.srv.cfg.ConnectionWindow):
			slot = true
		case len(s.pending) > 0:
			oldest = s.giveUpOldestLocked()
		}
		if oldest != nil {
			// The new INFO takes the given-up one's place on the connection.
			slot, oldest.slot = oldest.slot, false
		}
		s.mu.Unlock()
		if oldest != nil {
			s.srv.metrics.windowFull.Add(1)
			s.log.Debug().Uint32("cseq", oldest.cseq).Str("event", oldest.m.root).Msg("INFO window full: oldest answer no longer awaited")
		}

		m.sent = time.Now()
		tx, err := s.srv.startINFO(s, m, cseq)
		if err != nil {
			if slot {
				s.srv.windows.release(s.peer)
			}
			s.answered(m, err)
			continue
		}
		if stagesOn {
			recordStages(&m, time.Now())
		}
		if !slot {
			// The connection's window is full and this session awaits
			// nothing: the INFO is written, its answer not awaited.
			tx.forget()
			s.srv.metrics.windowFull.Add(1)
			s.log.Debug().Uint32("cseq", cseq).Str("event", m.root).Msg("connection's INFO window full: answer not awaited")
			continue
		}
		p := &pending{m: m, cseq: cseq, tx: tx, stop: make(chan struct{}), slot: true}
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			tx.forget()
			s.srv.windows.release(s.peer)
			continue // the loop ends at the top
		}
		s.pending = append(s.pending, p)
		s.mu.Unlock()
		s.srv.work.Go(func() { s.await(p) })
	}
}

// initialWindow is how many INFOs may be outstanding before the writer
// waits for an answer, while the session is not pipelined for good:
// Config.InitialWindow, capped by Config.EventWindow; 0 when there is no
// initial window (the default).
func (s *Session) initialWindow() int {
	return min(s.srv.cfg.InitialWindow, s.srv.cfg.EventWindow)
}

// waitRoom waits, with the initial window full, until an answer frees a
// place in it, or until oldest has gone answerHold without an answer; then
// the session is pipelined for good (full window). It returns at once when
// the session ends.
func (s *Session) waitRoom(oldest *pending) {
	t := time.NewTimer(time.Until(oldest.m.sent.Add(answerHold)))
	defer t.Stop()
	for {
		s.mu.Lock()
		if s.pipelined || s.ended || len(s.pending) < s.initialWindow() {
			s.mu.Unlock()
			return
		}
		if s.room == nil {
			s.room = make(chan struct{}, 1) // only for a session that ever fills its window
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
			continue
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		held := !s.pipelined && !s.ended && len(s.pending) >= s.initialWindow()
		if held {
			s.pipelined = true
		}
		s.mu.Unlock()
		if held {
			s.log.Info().Uint32("cseq", oldest.cseq).Str("event", oldest.m.root).Dur("hold", answerHold).
				Msg("client does not answer INFOs promptly: INFOs no longer wait for answers")
		}
		return
	}
}

// giveUpOldestLocked stops waiting for the session's oldest outstanding INFO
// and returns it.
func (s *Session) giveUpOldestLocked() *pending {
	oldest := s.pending[0]
	s.pending = s.pending[1:]
	oldest.stopped = true
	close(oldest.stop)
	return oldest
}

// await waits for one outstanding INFO's answer, up to RequestTimeout, and
// acts on it. It returns early when the session ends or the window gives
// the INFO up.
func (s *Session) await(p *pending) {
	if _, timed := p.tx.(*kaWait); timed {
		// The INFO table's sweep gives it up after RequestTimeout: no
		// timer of our own (one allocation less per event).
		s.finish(p, p.tx.wait(s.ctx, p.stop))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.cfg.RequestTimeout)
	err := p.tx.wait(ctx, p.stop)
	cancel()
	s.finish(p, err)
}

// finish ends p's transaction, frees its places in the windows and acts on
// its outcome.
func (s *Session) finish(p *pending, err error) {
	p.tx.forget()
	s.mu.Lock()
	if i := slices.Index(s.pending, p); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	ended, slot := s.ended, p.slot
	p.slot = false
	select {
	case s.room <- struct{}{}: // a writer waiting in waitRoom looks again
	default:
	}
	s.mu.Unlock()
	if slot {
		s.srv.windows.release(s.peer)
	}
	if errors.Is(err, errStopped) || ended {
		return
	}
	s.answered(p.m, err)
}

// answered acts on the outcome of an INFO we sent (docs/sessions.md,
// "Liveness"). The session ends on a 481 (the client no longer knows the
// dialog, RFC 3261 §12.2.2) and on a transport failure. No answer in time,
// or a 408, is counted and logged but ends nothing: the connection is
// alive, and the session timer (RFC 4028) is what proves the client is
// still there — unless session.strict_keepalive asks to end the session
// on an unanswered keep-alive, as earlier versions did.
func (s *Session) answered(m outbound, err error) {
	if err == nil {
		if !m.keepalive {
			s.srv.metrics.eventsSent.Add(1)
			s.srv.metrics.eventLatency.observe(time.Since(m.sent))
		}
		return
	}
	rej, rejected := errAs[*RejectedError](err) // after the common case: errAs allocates
	switch {
	case rejected && rej.dialogGone():
		s.fail(m, fmt.Errorf("%w: %w", ErrDialogGone, err))
		return
	case errors.Is(err, ErrTransport):
		s.fail(m, err)
		return
	case errors.Is(err, ErrNotActing):
		if !m.keepalive {
			s.srv.metrics.eventsFailed.Add(1)
		}
		s.log.Debug().Str("event", m.root).Msg("not sent: this node may not act for its sessions now (cluster lease)")
		return
	case errors.Is(err, ErrNoAnswer) || (rejected && rej.timedOut()):
		s.srv.metrics.unanswered.Add(1)
		if !m.keepalive {
			s.srv.metrics.eventsFailed.Add(1)
		}
		if m.keepalive && s.srv.cfg.StrictKeepAlive {
			s.fail(m, err)
			return
		}
		s.mu.Lock()
		first := !s.silent
		s.silent = true
		s.mu.Unlock()
		code := CodeEventNotDelivered
		if m.keepalive {
			code = CodeKeepAliveUnanswered
		}
		ev := s.log.Debug()
		if first {
			ev = s.log.Warn() // once per session: a client that never answers would flood the log
		}
		ev.Err(err).Str("code", string(code)).Str("event", m.root).Msg("INFO not answered; session kept (its connection and session timer say it is alive)")
		return
	}
	// Any other answer (415, 501, …) proves the client is there.
	if m.keepalive {
		s.log.Info().Err(err).Msg("keep-alive answered with an error status; session kept")
		return
	}
	s.srv.metrics.eventsFailed.Add(1)
	s.log.Warn().Err(err).Str("code", string(CodeEventNotDelivered)).Str("event", m.root).Msg("event not delivered")
}

// fail ends the session because an INFO we sent showed it is gone. No BYE
// follows a 481 (the client has no dialog to end, RFC 3261 §12.2.1.2) or a
// transport failure (nothing can reach it).
func (s *Session) fail(m outbound, err error) {
	bye := !errors.Is(err, ErrDialogGone) && !errors.Is(err, ErrTransport)
	if m.keepalive {
		s.srv.metrics.keepAliveFailures.Add(1)
		s.log.Warn().Err(err).Str("code", string(CodeKeepAliveFailed)).Msg("keep-alive failed: ending session")
		s.end(fmt.Errorf("%w: %w", ErrKeepAliveFailed, err), bye)
		return
	}
	s.srv.metrics.eventsFailed.Add(1)
	s.log.Warn().Err(err).Str("code", string(CodeEventNotDelivered)).Str("event", m.root).Msg("event INFO failed: ending session")
	s.end(err, bye)
}

// confirm records the end of the INVITE's 200 OK: acknowledged (ok) or not.
// Queued events may leave from now on.
func (s *Session) confirm(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmed, s.ackOK = true, ok
	close(s.acked)
	s.kickLocked()
}

// closeDialog closes sipgo's dialog if the session still has it (it ended
// before its 200 was acknowledged).
func (s *Session) closeDialog() {
	s.mu.Lock()
	dlg := s.dlg
	s.dlg = nil
	s.mu.Unlock()
	if dlg != nil {
		_ = dlg.Close()
	}
}

// beginRequest holds outbound events while a client request is handled, so
// its response leaves before the events it caused (docs/protocol.md
// "Order: the response before its events").
func (s *Session) beginRequest() {
	s.mu.Lock()
	s.inflight++
	s.mu.Unlock()
}

func (s *Session) endRequest() {
	s.mu.Lock()
	s.inflight--
	s.kickLocked()
	s.mu.Unlock()
}

// checkCSeq applies our own in-dialog CSeq rule. sipgo hands each message to
// its own goroutine, so two requests sent in order may be handled out of
// order; a strict "greater than the last" rule (RFC 3261 §12.2.2) would then
// refuse good requests. We refuse only requests that claim to precede the
// dialog's INVITE, and never call sipgo's ReadRequest, whose check races the
// ACK (sipgo hands each incoming message to its own goroutine).
func (s *Session) checkCSeq(req *sip.Request) error {
	cs := req.CSeq()
	if cs == nil {
		return errors.New("no CSeq")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs.SeqNo <= s.inviteCSeq && req.Method != sip.ACK && req.Method != sip.CANCEL {
		return fmt.Errorf("CSeq %d does not follow the INVITE's %d", cs.SeqNo, s.inviteCSeq)
	}
	return nil
}

// addDialogRoute gives res, the 200 to a re-INVITE, the dialog's
// Record-Route set when the request brought none of its own (sipgo copies
// a request's Record-Route into its 2xx, RFC 3261 §12.1.1). The route set
// of a dialog does not change on a target refresh (§12.2), so repeating it
// is harmless; a client that rebuilds its route set from every 2xx to an
// INVITE (pidgin-sipe does) would otherwise lose it and send its next
// refresh without Route, past the front end.
func (s *Session) addDialogRoute(req *sip.Request, res *sip.Response) {
	if req.GetHeader("Record-Route") != nil {
		return
	}
	for _, rr := range s.route.routes {
		res.AppendHeader(sip.NewHeader("Record-Route", rr))
	}
}

// refresh (re)arms the session timer. Without a refresh, the side that does
// not refresh sends BYE shortly before expiry: at the interval minus
// min(32 s, interval/3) (RFC 4028 §10).
func (s *Session) refresh(interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.interval = interval
	after := interval - min(32*time.Second, interval/3)
	s.srv.infos.expireAt(s, s.srv.clock.Now().Add(after))
}

func (s *Session) expired() {
	s.log.Warn().Str("code", string(CodeSessionExpired)).Dur("interval", s.interval).Msg("no session refresh: ending session")
	s.end(ErrSessionExpired, true)
}

// scheduleKeepAlive arms the session's keep-alive INFOs (guide: every n
// seconds) in the server's keep-alive schedule (schedule.go). The period
// runs from one keep-alive to the next, whether or not the last one was
// answered: an unanswered keep-alive never delays the next.
func (s *Session) scheduleKeepAlive() {
	period := s.srv.cfg.KeepAlive
	if period <= 0 {
		return
	}
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if !ended {
		s.srv.infos.schedule(s, s.srv.clock.Now().Add(period))
	}
}

// keepAliveMsg is the keep-alive: CSTA SystemStatus normal
// (docs/sessions.md). It also tells the client the switch is still in
// service.
var keepAliveMsg = outbound{method: sip.INFO, body: keepAliveBody, root: "SystemStatus", keepalive: true}

var keepAliveBody = func() []byte {
	b, err := csta.Encode(&csta.SystemStatusMsg{SystemStatus: csta.StatusNormal})
	if err != nil {
		panic(err)
	}
	return b
}()

// end finishes the session once: timers stop, the dialog leaves the table,
// hooks run, and if bye is set a BYE goes to the client.
func (s *Session) end(reason error, bye bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.queue = nil
	if s.order.started {
		s.order.notifyLocked() // requests waiting their turn run now (and find the session gone)
	}
	hooks := s.endHooks
	s.endHooks = nil
	s.localCSeq++
	cseq := s.localCSeq
	s.mu.Unlock()

	s.srv.infos.unschedule(s)
	s.cancel(reason)
	if errors.Is(reason, ErrRemoteBye) {
		s.srv.ended.add(s.srv.clock, s.id) // for a MonitorStop just behind the BYE (order.go)
	}
	s.srv.removeSession(s)
	s.unrecord()
	if bye {
		s.srv.work.Go(func() {
			// A BYE must wait for the ACK of our 200 (RFC 3261 §15); the
			// wait is bounded by the 2xx retransmission limit (64·T1).
			<-s.acked
			s.mu.Lock()
			ok := s.ackOK
			s.mu.Unlock()
			if ok {
				if err := s.srv.sendInDialog(s, sip.BYE, cseq, nil); err != nil {
					s.log.Debug().Err(err).Msg("BYE not answered")
				}
			}
			s.closeDialog()
		})
	} else {
		s.closeDialog()
	}
	if s.grant != nil && s.grant.Release != nil {
		s.grant.Release()
	}
	for _, h := range hooks {
		h(reason)
	}
	s.log.Info().Str("reason", reason.Error()).Msg("session ended")
}
