package rccserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// allowed is our Allow header: UPDATE and INFO are essential, a gateway that
// ignores UPDATE loses Communicator 2007 R2+ sessions (docs/protocol.md
// "Session refresh").
const allowed = "INVITE, ACK, BYE, CANCEL, INFO, UPDATE, OPTIONS"

// Options are what New needs besides the configuration.
type Options struct {
	Config    Config
	Log       zerolog.Logger
	Clock     Clock     // nil: SystemClock
	Admission Admission // required
	Handler   Handler   // required
	// Sessions, if set, keeps session records for adoption by other nodes
	// (docs/cluster.md "Session adoption"); nil: a single node.
	Sessions SessionStore
	// AdoptWait is how long an in-dialog request for a dialog another node
	// recorded waits for its adoption here (lease TTL + 2 s); 0: no wait.
	AdoptWait time.Duration
	// Acting, if set, says whether the node may send in its sessions now;
	// while it says no, nothing we originate leaves (split brain: a node
	// resumed after its lease expired must stay silent).
	Acting func() bool
}

// Server is the RCC side facing Lync: SIP listeners and the table of sessions.
type Server struct {
	cfg       Config
	log       zerolog.Logger
	clock     Clock
	admission Admission
	handler   Handler

	ua       *sipgo.UserAgent
	sip      *sipgo.Server
	cli      *sipgo.Client
	dialogUA sipgo.DialogUA

	listeners []*boundListener
	conns     sync.Map // remote addr of an accepted TCP connection -> *boundListener

	mu        sync.RWMutex
	sessions  map[string]*Session          // dialog ID -> session
	awaiting  sync.Map                     // dialog ID -> session whose 200 is not yet acknowledged
	ended     endedDialogs                 // dialogs just ended by the client's BYE (order.go)
	windows   connWindows                  // awaited INFOs per client connection (order.go)
	infos     *infoTable                   // INFOs sent without a sipgo transaction, keep-alive schedule (infotable.go)
	byPeer    map[string]map[*Session]bool // connection source -> sessions on it
	closing   atomic.Bool
	handlers  inflight       // sipgo handler calls in progress
	workers   *workers       // the CPU part of requests on long-lived goroutines
	wg        sync.WaitGroup // serve loops
	work      sync.WaitGroup // event drains and BYEs
	metrics   metrics
	guard     *guard // access list and TLS refusals (access.go, tls.go)
	edge      *sipedge.Edge
	parser    *sip.Parser                                // the edge's, for its fast path (fastinfo.go)
	fastInfos atomic.Uint64                              // INFOs taken by the fast path (tests)
	routes    map[sip.RequestMethod]sipgo.RequestHandler // what sipgo calls, by method
	ready     chan struct{}                              // closed by Serve once requests can be handled
	fronts    accessList                                 // listen.front_ends: peers that may carry any dialog

	store     SessionStore // nil: no session records
	adoptWait time.Duration
	acting    func() bool
	adopting  adoption
}

// New builds a server; Listen binds its sockets and Serve runs it.
func New(opts Options) (*Server, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Admission == nil || opts.Handler == nil {
		return nil, fmt.Errorf("%w: admission and handler are required", ErrConfig)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	s := &Server{}
	s.infos = newInfoTable(opts.Clock, opts.Config.KeepAlive)
	s.edge = sipedge.New(sipedge.Options{Limits: opts.Config.Limits, Log: opts.Log,
		Count: func(c sipedge.Code) { s.metrics.refusals.inc(string(c)) }, Busy: s.carriesDialog, Now: opts.Clock.Now,
		Answers: &sipedge.Answers{Branch: s.infos.branch, Take: s.infos.take, Due: s.infos.dueAnswers}, Requests: &sipedge.Requests{Take: s.takeInfo}})
	s.parser = s.edge.Parser()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("rccserver"), sipgo.WithUserAgentParser(s.edge.Parser()),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(s.onUnmatchedResponse)))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, err
	}
	s.cfg, s.log, s.clock = opts.Config, opts.Log, opts.Clock
	s.ready = make(chan struct{})
	s.admission, s.handler = opts.Admission, opts.Handler
	s.store, s.adoptWait, s.acting = opts.Sessions, opts.AdoptWait, opts.Acting
	s.ua, s.sip, s.cli = ua, srv, cli
	s.sessions = map[string]*Session{}
	s.byPeer = map[string]map[*Session]bool{}
	s.fronts, _ = parseNets("listen.front_ends", opts.Config.FrontEnds) // Validate reported errors
	s.guard = newGuard(opts.Config.Access, opts.Log, &s.metrics.refusals)
	// RewriteContact is moot: every request we originate goes through sendInDialog.
	s.dialogUA = sipgo.DialogUA{Client: cli, RewriteContact: true}
	// In-dialog requests run in the client's order (order.go).
	s.routes = map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE: s.track(s.inOrder(s.onInvite)), sip.ACK: s.track(s.onAck), sip.INFO: s.track(s.inOrder(s.onInfo)),
		sip.UPDATE: s.track(s.inOrder(s.onUpdate)), sip.BYE: s.track(s.inOrder(s.onBye)), sip.OPTIONS: s.track(s.onOptions),
		sip.CANCEL: s.track(func(req *sip.Request, tx sip.ServerTransaction) {
			// Our INVITE answers are final at once; nothing is left to cancel (RFC 3261 §9.2).
			s.respond(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}),
	}
	for method, h := range s.routes {
		srv.OnRequest(method, h)
	}
	return s, nil
}

// track counts a handler call so shutdown can wait for it. Once shutdown
// has begun, new requests are answered 503, except ACK and BYE: an ACK
// confirms a dialog we are about to BYE (RFC 3261 §15), and a BYE ends one.
// The edge (sipedge) lets no request without its mandatory headers through;
// track checks again so no handler can meet one, and a panic in a handler
// is logged as a bug with its stack instead of ending the process.
func (s *Server) track(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer s.recoverHandler(req, tx)
		if missing := sipedge.MissingHeader(req); missing != "" {
			if req.Method != sip.ACK {
				s.refuse(req, tx, sip.StatusBadRequest, LogCode(sipedge.CodeMalformed), "no "+missing)
			}
			return
		}
		if s.closing.Load() && req.Method != sip.ACK && req.Method != sip.BYE {
			s.respond(req, tx, sip.StatusServiceUnavailable, "Shutting Down")
			return
		}
		s.handlers.add()
		defer s.handlers.done()
		h(req, tx)
	}
}

// Handle runs the handler sipgo would run for req, on the caller's
// goroutine: for drivers without a transport, such as fuzz targets. It
// waits for Serve to be running. A method the server does not handle is ignored.
func (s *Server) Handle(req *sip.Request, tx sip.ServerTransaction) {
	<-s.ready
	if h := s.routes[req.Method]; h != nil {
		h(req, tx)
	}
}

// Edge returns the server's SIP edge (its checks and parser).
func (s *Server) Edge() *sipedge.Edge { return s.edge }

// logPanic counts and logs a handler's panic r as a bug, with its stack.
func (s *Server) logPanic(req *sip.Request, r any) {
	s.metrics.refusals.inc(string(CodeInternal))
	s.log.Error().Str("code", string(CodeInternal)).Str("method", string(req.Method)).Str("peer", req.Source()).
		Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("bug: handler panicked")
}

// recoverHandler is the last line of defence: a handler's panic is a bug,
// logged with its stack and answered 500; the process and every other
// session go on.
func (s *Server) recoverHandler(req *sip.Request, tx sip.ServerTransaction) {
	r := recover()
	if r == nil {
		return
	}
	s.logPanic(req, r)
	if req.Method != sip.ACK {
		func() {
			defer func() { _ = recover() }()
			s.respond(req, tx, sip.StatusInternalServerError, "Internal Error")
		}()
	}
}

// inflight counts calls in progress; unlike a WaitGroup it may be added to
// while someone waits, which late messages during shutdown do.
type inflight struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 && f.cond != nil {
		f.cond.Broadcast()
	}
	f.mu.Unlock()
}

func (f *inflight) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	for f.n > 0 {
		f.cond.Wait()
	}
}

// boundListener is one bound socket and the Contact advertised for it.
type boundListener struct {
	transport string // "TCP", "TLS" or "UDP", as sipgo names it
	tcp       net.Listener
	udp       net.PacketConn
	contact   sip.ContactHeader
	local     *localLines    // contact rendered for in-dialog requests
	wildcard  bool           // bound to 0.0.0.0 or :: with no advertised host
	mutual    bool           // mtls: a client certificate is required
	certs     *certs.Manager // TLS and MTLS: the certificate in service
}

// Listen binds every configured listener. It fails if any cannot be bound.
func (s *Server) Listen() error {
	for i, l := range s.cfg.Listeners {
		b := &boundListener{transport: sipTransport(l.Transport), mutual: strings.EqualFold(l.Transport, "mtls")}
		var addr net.Addr
		switch b.transport {
		case "TCP", "TLS":
			ln, err := s.listenStream(l, b)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("listen.listeners[%d]: %w", i, err)
			}
			b.tcp, addr = &trackingListener{Listener: ln, srv: s, bound: b, edge: s.edge}, ln.Addr()
		case "UDP":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("listen.listeners[%d]: %w", i, err)
			}
			b.udp, addr = s.edge.PacketConn(s.guard.packetConn(pc, b)), pc.LocalAddr()
			// sipgo refuses to send UDP messages over 1300 bytes (issue #206):
			// snapshots and large events would be lost.
			s.log.Warn().Str("addr", addr.String()).Msg("UDP listener enabled: CSTA messages over 1300 bytes cannot be sent over UDP; use TCP or TLS")
		}
		b.contact = contactFor(l, addr, b.transport)
		if ip := net.ParseIP(b.contact.Address.Host); ip != nil && ip.IsUnspecified() {
			b.wildcard = true
			if b.udp != nil {
				// No per-connection address on UDP: advertise this host's name.
				b.contact.Address.Host = s.ua.Hostname()
			}
		}
		b.local = newLocalLines(b.contact)
		s.listeners = append(s.listeners, b)
	}
	return nil
}

// contactFor builds <sip:host:port;transport=x> for a listener.
func contactFor(l Listener, bound net.Addr, transport string) sip.ContactHeader {
	host, portStr, _ := net.SplitHostPort(bound.String())
	port, _ := strconv.Atoi(portStr)
	if l.Advertise != "" {
		if h, p, err := net.SplitHostPort(l.Advertise); err == nil {
			host = h
			port, _ = strconv.Atoi(p)
		} else {
			host = l.Advertise
		}
	}
	uri := sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	uri.UriParams.Add("transport", strings.ToLower(transport))
	return sip.ContactHeader{Address: uri}
}

func (s *Server) closeListeners() {
	for _, b := range s.listeners {
		if b.tcp != nil {
			_ = b.tcp.Close()
		}
		if b.udp != nil {
			_ = b.udp.Close()
		}
	}
}

// Addrs returns the bound addresses, in configuration order (after Listen).
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, b := range s.listeners {
		if b.tcp != nil {
			out = append(out, b.tcp.Addr())
		} else {
			out = append(out, b.udp.LocalAddr())
		}
	}
	return out
}

// Serve answers SIP until ctx is cancelled, then shuts down: every session
// gets a BYE, answered or not within ShutdownTimeout, and the sockets close.
func (s *Server) Serve(ctx context.Context) error {
	if len(s.listeners) == 0 {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.workers = newWorkers() // before any request can arrive; closed by shutdown
	close(s.ready)
	errc := make(chan error, len(s.listeners))
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	s.watchCerts(watch)
	for _, b := range s.listeners {
		s.log.Info().Str("transport", b.transport).Str("addr", s.addrOf(b)).Str("contact", b.contact.Address.String()).Msg("listening for RCC clients")
		s.guard.warnOpen(s.log, b, s.addrOf(b))
		s.wg.Go(func() {
			var err error
			if b.tcp != nil && b.transport == "TLS" {
				err = s.sip.ServeTLS(b.tcp) // connections arrive with their handshake done (tls.go)
			} else if b.tcp != nil {
				err = s.sip.ServeTCP(b.tcp)
			} else {
				err = s.sip.ServeUDP(b.udp)
			}
			if err != nil && !s.closing.Load() {
				errc <- fmt.Errorf("%s %s: %w", b.transport, s.addrOf(b), err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopWatch()
	s.shutdown()
	return err
}

func (s *Server) addrOf(b *boundListener) string {
	if b.tcp != nil {
		return b.tcp.Addr().String()
	}
	return b.udp.LocalAddr().String()
}

// shutdown ends every session with BYE, waits for the answers up to
// ShutdownTimeout, then closes the sockets and the SIP stack.
func (s *Server) shutdown() {
	s.closing.Store(true)
	sessions := s.Sessions()
	s.log.Info().Int("sessions", len(sessions)).Msg("shutting down: ending sessions")
	for _, sess := range sessions {
		sess.end(ErrShutdown, true)
	}
	done := make(chan struct{})
	go func() {
		s.work.Wait()
		close(done)
	}()
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.log.Warn().Msg("shutdown timeout: some BYEs were not answered")
	}
	s.infos.stop()
	writeStages()
	s.closeListeners()
	sipedge.CloseUA(s.ua)
	s.wg.Wait()
	<-done // with the stack closed, pending transactions fail at once
	s.handlers.wait()
	s.workers.close()
}

// Sessions returns a snapshot of the live sessions.
func (s *Server) Sessions() []*Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

func (s *Server) addSession(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sess.id] = sess
	peers := s.byPeer[sess.peer]
	if peers == nil {
		peers = map[*Session]bool{}
		s.byPeer[sess.peer] = peers
	}
	peers[sess] = true
	s.metrics.sessions.Add(1)
}

func (s *Server) removeSession(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] != sess {
		return
	}
	delete(s.sessions, sess.id)
	if peers := s.byPeer[sess.peer]; peers != nil {
		delete(peers, sess)
		if len(peers) == 0 {
			delete(s.byPeer, sess.peer)
		}
	}
	s.metrics.sessions.Add(-1)
}

// match finds the session of an in-dialog request. A dialog belongs to the
// connection it was opened on: a request for it from anywhere else gets
// nothing (and CodeDialogElsewhere), unless both that connection and the
// sender are in the trusted front-end pool (listen.front_ends), whose
// members may hand a dialog to each other.
func (s *Server) match(req *sip.Request) (*Session, LogCode) {
	return s.matchWait(req, true)
}

// matchWait is match; with wait unset it does not wait for an adoption
// (awaitAdoption) of an unknown dialog.
func (s *Server) matchWait(req *sip.Request, wait bool) (*Session, LogCode) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil, CodeUnknownDialog
	}
	s.mu.RLock()
	sess := s.sessions[id]
	s.mu.RUnlock()
	if sess == nil && wait {
		sess = s.awaitAdoption(req, id)
	}
	if sess == nil {
		return nil, CodeUnknownDialog
	}
	sess.mu.Lock()
	peer := sess.peer
	sess.mu.Unlock()
	if !s.mayCarry(peer, req.Source()) {
		return nil, CodeDialogElsewhere
	}
	sess.repin(req)
	return sess, ""
}

// mayCarry reports whether a request from src may belong to a dialog
// opened from peer.
func (s *Server) mayCarry(peer, src string) bool {
	if peer == src {
		return true
	}
	if len(s.fronts) == 0 {
		return false
	}
	a, errA := netip.ParseAddrPort(peer)
	b, errB := netip.ParseAddrPort(src)
	return errA == nil && errB == nil && s.fronts.contains(a.Addr().Unmap()) && s.fronts.contains(b.Addr().Unmap())
}

// carriesDialog reports whether a session lives on the connection from
// remote: such a connection is never closed for idleness.
func (s *Server) carriesDialog(remote string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byPeer[remote]) > 0
}

// connectionClosed ends the sessions living on a closed TCP connection: no
// request can reach their client any more (guide: a closed connection ends
// the session and frees its station).
func (s *Server) connectionClosed(remote string) {
	s.conns.Delete(remote)
	s.mu.RLock()
	var victims []*Session
	for sess := range s.byPeer[remote] {
		victims = append(victims, sess)
	}
	s.mu.RUnlock()
	for _, sess := range victims {
		sess.log.Info().Msg("connection closed")
		sess.end(ErrConnectionClosed, false)
	}
}

// contactOf returns the Contact of the listener req arrived on.
func (s *Server) contactOf(req *sip.Request) sip.ContactHeader {
	if v, ok := s.conns.Load(req.Source()); ok {
		return v.(*connInfo).contact
	}
	return s.listenerFor(req.Transport()).contact
}

// localOf returns the shared rendering of contact, the Contact of a
// session whose INVITE came from src over transport, as contactOf found
// it. If the connection has closed since (its sessions end), or contact
// is another, it is rendered for the session alone.
func (s *Server) localOf(src, transport string, contact sip.ContactHeader) *localLines {
	var l *localLines
	if v, ok := s.conns.Load(src); ok {
		l = v.(*connInfo).local
	} else {
		l = s.listenerFor(transport).local
	}
	if !l.renders(&contact) {
		l = newLocalLines(contact)
	}
	return l
}

// listenerFor returns our first listener of transport, else the first.
func (s *Server) listenerFor(transport string) *boundListener {
	for _, b := range s.listeners {
		if strings.EqualFold(b.transport, transport) {
			return b
		}
	}
	return s.listeners[0]
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Sessions          int64
	EventsSent        int64
	EventsFailed      int64
	EventsDropped     int64
	KeepAliveFailures int64
	// Unanswered counts INFOs we sent (events and keep-alives) that got no
	// answer in time or a 408; they end no session (docs/sessions.md).
	Unanswered int64
	// WindowFull counts INFOs no longer awaited because the session's
	// window of outstanding INFOs was full.
	WindowFull int64
	Requests   int64
	// AccessDenied counts Cs_AccessDenied refusals at the transport:
	// addresses outside listen.access and MTLS certificates the policy refused.
	AccessDenied int64
	// TLSFailures counts other failed TLS connections (Cs_TLSFailure):
	// handshake timeouts, plaintext on a TLS port, TLS on a TCP port, alerts.
	TLSFailures int64
	// ByRequest counts CSTA requests by root element and result.
	ByRequest map[RequestKey]int64
	// Refusals counts refused sign-ins and requests by log code.
	Refusals map[string]int64
	// RequestLatency is the time from a decoded CSTA request to its answer.
	RequestLatency Histogram
	// EventLatency is the round trip of event INFOs answered 2xx.
	EventLatency Histogram
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Sessions:          s.metrics.sessions.Load(),
		EventsSent:        s.metrics.eventsSent.Load(),
		EventsFailed:      s.metrics.eventsFailed.Load(),
		EventsDropped:     s.metrics.eventsDropped.Load(),
		KeepAliveFailures: s.metrics.keepAliveFailures.Load(),
		Unanswered:        s.metrics.unanswered.Load(),
		WindowFull:        s.metrics.windowFull.Load(),
		Requests:          s.metrics.requests.Load(),
		AccessDenied:      s.guard.denied.Load(),
		TLSFailures:       s.guard.handshakeFailures.Load(),
		ByRequest:         map[RequestKey]int64{},
		Refusals:          s.metrics.refusals.snapshot(),
		RequestLatency:    s.metrics.requestLatency.snapshot(),
		EventLatency:      s.metrics.eventLatency.snapshot(),
	}
	for k, v := range s.metrics.byRequest.snapshot() {
		root, result, _ := strings.Cut(k, " ")
		st.ByRequest[RequestKey{Request: root, Result: result}] = v
	}
	return st
}

type metrics struct {
	sessions, eventsSent, eventsFailed, eventsDropped, keepAliveFailures, requests atomic.Int64
	unanswered, windowFull, adoptions                                              atomic.Int64
	byRequest                                                                      counters // "root result" -> count
	refusals                                                                       counters // log code -> count
	requestLatency, eventLatency                                                   latency
}

// errAs is errors.As for a target type, returning the match.
func errAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
