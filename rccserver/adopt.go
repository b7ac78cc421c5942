package rccserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SessionRecord is what another node needs to go on with a session when
// this node dies (docs/cluster.md "Session adoption"): the dialog as RFC
// 3261 §12.2.1.1 needs it to send requests in it, who signed in on which
// line, and the monitors with their cross-reference IDs.
type SessionRecord struct {
	CallID    string `json:"call_id"`
	LocalTag  string `json:"local_tag"`  // our tag: the To tag of our 200
	RemoteTag string `json:"remote_tag"` // the client's From tag
	LocalURI  string `json:"local_uri"`  // the To URI of the INVITE (without tag)
	RemoteURI string `json:"remote_uri"` // the client's From URI (without tag)
	Target    string `json:"target"`     // the client's Contact: the remote target
	// Routes are the INVITE's Record-Route values, in order: our route set.
	Routes    []string `json:"routes,omitempty"`
	Transport string   `json:"transport"` // TCP, TLS or UDP
	Peer      string   `json:"peer"`      // the INVITE's source (a front end)
	// LocalCSeq is our CSeq when the record was written; an adopter jumps
	// far above it (events went out since).
	LocalCSeq  uint32            `json:"local_cseq"`
	InviteCSeq uint32            `json:"invite_cseq"`
	User       string            `json:"user"`
	Line       string            `json:"line"`
	LineServer string            `json:"line_server"`
	Monitors   map[string]string `json:"monitors,omitempty"` // cross-ref ID -> device, byte-exact
	// SessionExpires is the negotiated session interval (RFC 4028), seconds.
	SessionExpires int `json:"session_expires"`
	// Node is the node that wrote the record (filled in by the store).
	Node string `json:"node,omitempty"`
}

// Validate checks a record read from the shared store before it is used:
// it may come from another version of the server or be damaged.
func (r *SessionRecord) Validate() error {
	switch {
	case r.CallID == "" || r.LocalTag == "" || r.RemoteTag == "":
		return errors.New("call_id and both tags are required")
	case r.Peer == "":
		return errors.New("peer is required")
	case r.SessionExpires <= 0:
		return errors.New("session_expires must be positive")
	case len(r.Monitors) > 64:
		return fmt.Errorf("%d monitors: at most 64", len(r.Monitors))
	}
	switch r.Transport {
	case "TCP", "TLS", "UDP":
	default:
		return fmt.Errorf("transport %q", r.Transport)
	}
	for _, u := range []string{r.LocalURI, r.RemoteURI, r.Target} {
		var uri sip.Uri
		if err := sip.ParseUri(u, &uri); err != nil {
			return fmt.Errorf("uri %q: %w", u, err)
		}
		if uri.Host == "" {
			return fmt.Errorf("uri %q: no host", u)
		}
	}
	return nil
}

// SessionStore keeps the session records of this node where other nodes can
// read them (the daemon adapts station/cluster: etcd under the node lease).
// rccserver writes a record when a session is confirmed and on each monitor
// start and stop, and removes it when the session ends.
type SessionStore interface {
	Save(ctx context.Context, rec SessionRecord) error
	Remove(ctx context.Context, callID string) error
	// Elsewhere reports whether another node has a record for callID: an
	// in-dialog request for it may be waiting for an adoption.
	Elsewhere(ctx context.Context, callID string) (bool, error)
}

// Adopter is implemented by a Handler that keeps per-session state (the
// monitors' subscriptions): Adopted restarts it for a session rebuilt from
// a record, with the record's monitor IDs.
type Adopter interface {
	Adopted(s *Session) error
}

// cseqJump is how far above the recorded CSeq an adopted session's own
// requests start. The record is written at monitor changes, not at each
// event, and the client must see our CSeq rise (RFC 3261 §12.2.2); a
// million INFOs (events and keep-alives) between two monitor changes is
// far beyond any session.
const cseqJump = 1 << 20

// storeTimeout bounds one call to the SessionStore.
const storeTimeout = 3 * time.Second

// maxAdoptWaiters bounds the requests waiting for an adoption at once; more
// are answered 481 at once.
const maxAdoptWaiters = 1024

// adoption is the server's side of session records and adoption.
type adoption struct {
	mu      sync.Mutex
	waiters int
	changed chan struct{} // closed and replaced when a session is adopted
}

func (a *adoption) notify() {
	a.mu.Lock()
	if a.changed != nil {
		close(a.changed)
	}
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

func (a *adoption) wait() (<-chan struct{}, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiters >= maxAdoptWaiters {
		return nil, false
	}
	a.waiters++
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.changed, true
}

func (a *adoption) done() {
	a.mu.Lock()
	a.waiters--
	a.mu.Unlock()
}

// Adoptions returns how many sessions this server adopted.
func (s *Server) Adoptions() int64 { return s.metrics.adoptions.Load() }

// record builds the session's record; ok is false before the dialog is confirmed.
func (s *Session) record() (SessionRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.route
	if (!s.confirmed && !s.adopted) || !s.ackOK || s.ended || r.head == "" {
		return SessionRecord{}, false
	}
	rec := SessionRecord{CallID: s.callID, LocalTag: r.localTag, RemoteTag: r.remoteTag, LocalURI: r.localURI,
		RemoteURI: r.remoteURI, Target: r.target, Routes: r.routes, Transport: r.transport,
		Peer: s.peer, LocalCSeq: s.localCSeq, InviteCSeq: s.inviteCSeq, User: s.user, Line: s.line,
		LineServer: s.lineServer, SessionExpires: int(s.interval / time.Second), Monitors: map[string]string{}}
	for k, v := range s.monitors {
		rec.Monitors[k] = v
	}
	return rec, true
}

// persist writes the session's record to the store, if there is one.
// Writes of one session are serialised and none follows its removal.
func (s *Session) persist() {
	st := s.srv.store
	if st == nil {
		return
	}
	// A request of the dialog (a MonitorStart just behind the ACK) may be
	// handled before onInvite confirms the dialog: wait for that, so that
	// the record holds its monitor before the client learns the ID. The
	// wait is bounded: confirm follows the ACK or the 2xx's timeout (64·T1).
	<-s.acked
	s.recMu.Lock()
	defer s.recMu.Unlock()
	rec, ok := s.record()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := st.Save(ctx, rec); err != nil {
		s.srv.metrics.refusals.inc(string(CodeSessionNotRecorded))
		s.log.Warn().Err(err).Str("code", string(CodeSessionNotRecorded)).Msg("session record not written: another node could not adopt this session")
	}
}

// unrecord removes the session's record after it ended (in the work group:
// end may run where blocking on the store is not welcome).
func (s *Session) unrecord() {
	st := s.srv.store
	if st == nil || s.abandoned.Load() {
		return
	}
	s.srv.work.Go(func() {
		s.recMu.Lock()
		defer s.recMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := st.Remove(ctx, s.callID); err != nil {
			s.log.Debug().Err(err).Msg("session record not removed (it ends with the node's lease)")
		}
	})
}

// Abandon drops the session without a word to the client and without
// touching its record: this node may no longer act for it (its cluster
// lease is lost; another node may have adopted the dialog). End hooks run.
func (s *Session) Abandon(reason error) {
	s.abandoned.Store(true)
	s.end(reason, false)
}

// Adopt rebuilds a session another node recorded (docs/cluster.md "Session
// adoption"): the same dialog — tags, route set, remote target, our CSeq
// far above the recorded one (RFC 3261 §12.2.1.1) — admitted through the
// same admission as a sign-in (same user, line and line server), with its
// session timer and keep-alive restarted and the Handler's per-session
// state restarted (Adopter). Then a target refresh (UPDATE, RFC 3311,
// with our Contact) is sent so the client's next requests come here. The
// caller has claimed the record for this node.
func (s *Server) Adopt(ctx context.Context, rec SessionRecord) (*Session, error) {
	sess, err := s.adopt(ctx, rec)
	log := s.log.With().Str("call_id", rec.CallID).Str("user", rec.User).Str("line", rec.Line).Str("from_node", rec.Node).Logger()
	if err != nil {
		s.metrics.refusals.inc(string(CodeAdoptionFailed))
		log.Warn().Err(err).Str("code", string(CodeAdoptionFailed)).Msg("session not adopted")
		return nil, err
	}
	s.metrics.adoptions.Add(1)
	log.Info().Str("code", string(CodeSessionAdopted)).Int("monitors", len(rec.Monitors)).Msg("session adopted from another node")
	s.adopting.notify()
	sess.persist()
	s.work.Go(sess.targetRefresh)
	return sess, nil
}

func (s *Server) adopt(ctx context.Context, rec SessionRecord) (*Session, error) {
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if s.closing.Load() {
		return nil, ErrShutdown
	}
	var from sip.FromHeader
	var to sip.ToHeader
	var target sip.Uri
	_ = sip.ParseUri(rec.LocalURI, &from.Address) // Validate parsed them
	_ = sip.ParseUri(rec.RemoteURI, &to.Address)
	_ = sip.ParseUri(rec.Target, &target)
	from.Params, to.Params = sip.NewParams(), sip.NewParams()
	from.Params.Add("tag", rec.LocalTag)
	to.Params.Add("tag", rec.RemoteTag)
	// The dialog ID as sipgo computes it for requests from the client (UAS side).
	id := sip.DialogIDMake(rec.CallID, rec.LocalTag, rec.RemoteTag)
	s.mu.RLock()
	_, dup := s.sessions[id]
	s.mu.RUnlock()
	if dup {
		return nil, fmt.Errorf("%w: dialog already here", ErrBadRecord)
	}
	grant, err := s.admission.Admit(ctx, AdmitRequest{User: rec.User, Line: rec.Line, LineServer: rec.LineServer,
		Peer: rec.Peer, CallID: rec.CallID, Adopted: true})
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	l := s.listenerFor(rec.Transport)
	route := newDialogRoute(&target, &from, &to, rec.CallID, rec.Routes, l.local)
	route.transport, route.dest = rec.Transport, nextHop(rec.Routes, target, rec.Peer)
	sess := &Session{
		srv: s, route: route, id: id, callID: rec.CallID, peer: rec.Peer, user: rec.User, line: rec.Line,
		lineServer: rec.LineServer, contact: l.contact, grant: grant,
		log:        s.log.With().Str("call_id", rec.CallID).Str("peer", rec.Peer).Str("user", rec.User).Str("line", rec.Line).Logger(),
		inviteCSeq: rec.InviteCSeq, localCSeq: rec.LocalCSeq + cseqJump, acked: make(chan struct{}), ackOK: true,
		adopted: true, refreshing: true, monitors: map[string]string{},
	}
	close(sess.acked) // the 200 was acknowledged on the other node
	for k, v := range rec.Monitors {
		sess.monitors[k] = v
	}
	sess.ctx, sess.cancel = context.WithCancelCause(context.Background())
	s.addSession(sess)
	sess.refresh(time.Duration(rec.SessionExpires) * time.Second)
	if a, ok := s.handler.(Adopter); ok {
		if err := a.Adopted(sess); err != nil {
			sess.Abandon(fmt.Errorf("%w: %w", ErrBadRecord, err))
			return nil, err
		}
	}
	sess.scheduleKeepAlive()
	return sess, nil
}

// nextHop is where requests of an adopted dialog go until the client's
// first request shows its connection: the first Route's host (loose
// routing, RFC 3261 §12.2.1.1), else the remote target's, else the peer.
func nextHop(routes []string, target sip.Uri, peer string) string {
	if len(routes) > 0 {
		v := strings.TrimSpace(routes[0])
		v = strings.TrimPrefix(v, "<")
		if i := strings.IndexAny(v, ">"); i >= 0 {
			v = v[:i]
		}
		var u sip.Uri
		if err := sip.ParseUri(v, &u); err == nil && u.Host != "" {
			return hostPort(u)
		}
	}
	if ip := net.ParseIP(target.Host); ip != nil {
		return hostPort(target)
	}
	return peer
}

func hostPort(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if u.IsEncrypted() {
			port = 5061
		}
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

// targetRefresh sends an UPDATE with our Contact (RFC 3311 §5.1: UPDATE is
// a target refresh request). Any final answer shows the client is reached
// from here: events flow from then on. A client that does not implement
// UPDATE (pidgin-sipe answers 501) keeps its remote target; its requests
// still come here through the front end. A 481 ends the session: the
// client no longer knows the dialog. No answer or a transport failure
// leaves the session waiting (events queued) for the client's next
// request, whose connection then becomes the dialog's (repin).
func (s *Session) targetRefresh() {
	s.mu.Lock()
	s.localCSeq++
	cseq := s.localCSeq
	s.mu.Unlock()
	err := s.srv.sendInDialog(s, sip.UPDATE, cseq, nil)
	rej, rejected := errAs[*RejectedError](err)
	switch {
	case err == nil:
		s.log.Info().Msg("target refresh (UPDATE) answered: the client's requests come here now")
	case rejected && rej.dialogGone():
		s.log.Warn().Err(err).Msg("target refresh: the client no longer knows the dialog")
		s.end(fmt.Errorf("%w: %w", ErrDialogGone, err), false)
		return
	case rejected:
		s.log.Info().Err(err).Msg("target refresh refused by the client: it keeps its remote target (its requests reach us through the front end)")
	default:
		s.mu.Lock()
		s.refreshing = false
		s.mu.Unlock()
		s.log.Info().Err(err).Msg("target refresh not delivered: waiting for the client's next request")
		return
	}
	s.mu.Lock()
	s.refreshed, s.refreshing = true, false
	s.confirmed = true
	s.kickLocked()
	s.mu.Unlock()
	s.persist() // the connection and CSeq as they are now
}

// repin is called for a request of an adopted session not yet reached by
// its target refresh: the request's connection becomes the dialog's (the
// old node's is gone), and the target refresh is sent on it — unless one
// is already being tried there.
func (s *Session) repin(req *sip.Request) {
	if !s.adopted {
		return
	}
	src := req.Source()
	s.mu.Lock()
	if s.refreshed || s.ended || (s.refreshing && s.route.dest == src) {
		s.mu.Unlock()
		return // reached, or being tried on this very connection
	}
	old := s.peer
	s.route.dest, s.route.transport = src, req.Transport()
	s.peer = src
	if cs := req.CSeq(); cs != nil && !s.order.started {
		// The client's CSeq went on on the other node: no gap to wait for.
		s.order.started, s.order.done = true, cs.SeqNo-1
		s.order.present, s.order.changed = map[uint32]struct{}{}, make(chan struct{})
	}
	s.refreshing = true
	s.mu.Unlock()
	if old != src {
		s.srv.movePeer(s, old, src)
	}
	s.srv.work.Go(s.targetRefresh)
}

// movePeer files s under its new connection.
func (s *Server) movePeer(sess *Session, old, src string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if peers := s.byPeer[old]; peers != nil {
		delete(peers, sess)
		if len(peers) == 0 {
			delete(s.byPeer, old)
		}
	}
	peers := s.byPeer[src]
	if peers == nil {
		peers = map[*Session]bool{}
		s.byPeer[src] = peers
	}
	peers[sess] = true
}

// awaitAdoption waits, for an in-dialog request of a dialog this node does
// not know, for the dialog to be adopted here if another node has a record
// of it (its owner may be dead and its lease not yet expired). It returns
// the session, or nil after Options.AdoptWait.
func (s *Server) awaitAdoption(req *sip.Request, id string) *Session {
	if s.store == nil || s.adoptWait <= 0 || req.Method == sip.ACK {
		return nil
	}
	// Only a trusted front end can bring a dialog from another node (an
	// adopted session matches no other source, see mayCarry): anyone else
	// must not cost an etcd read per made-up Call-ID.
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil || !s.fronts.contains(src.Addr().Unmap()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	elsewhere, err := s.store.Elsewhere(ctx, req.CallID().Value())
	cancel()
	if err != nil || !elsewhere {
		return nil
	}
	deadline := s.clock.Now().Add(s.adoptWait)
	s.log.Info().Str("call_id", req.CallID().Value()).Str("method", string(req.Method)).Dur("wait", s.adoptWait).
		Msg("request for a dialog another node recorded: waiting for its adoption")
	for {
		ch, ok := s.adopting.wait()
		if !ok {
			return nil
		}
		s.mu.RLock()
		sess := s.sessions[id]
		s.mu.RUnlock()
		if sess != nil {
			s.adopting.done()
			return sess
		}
		left := deadline.Sub(s.clock.Now())
		if left <= 0 {
			s.adopting.done()
			return nil
		}
		t := s.clock.AfterFunc(left, s.adopting.notify)
		<-ch
		t.Stop()
		s.adopting.done()
	}
}
