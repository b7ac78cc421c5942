package rccserver

import (
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// gapWait bounds how long a client request waits for a lower CSeq that has
// not arrived: sipgo hands each message to its own goroutine, so a request
// read first from the connection may reach us a moment after the next one.
const gapWait = 200 * time.Millisecond

// requestOrder makes the requests of one dialog run one at a time in CSeq
// order, which is their order on the client's connection: RFC 3261
// §12.2.1.1 has a UAC number the requests of a dialog contiguously,
// increasing by one. Without it, a MonitorStop followed at once by a BYE
// could be handled BYE first, and the MonitorStop would get a 481.
//
// A request waits while the one before it (CSeq − 1) is being handled or
// waiting its own turn; if that one has not arrived at all, it waits at
// most gapWait, then the hole is skipped. Requests at or below the last
// handled CSeq (late or repeated) run at once. The zero value is ready; its
// fields are under the session's mutex.
type requestOrder struct {
	started bool
	done    uint32              // highest CSeq handled (or skipped) so far
	present map[uint32]struct{} // CSeqs arrived and not yet handled
	// changed is closed whenever done or present changes, and made again
	// only by a request that waits: most requests find their turn at once,
	// and a channel for each arrival and departure was 6 % of the bytes a
	// request allocated.
	changed chan struct{}
}

// enterTurn blocks until it is req's turn in s's dialog and returns the
// CSeq to pass to leaveTurn.
func (s *Session) enterTurn(req *sip.Request) uint32 {
	cs := req.CSeq()
	if cs == nil {
		return 0
	}
	s.arriveTurn(cs.SeqNo)
	s.waitTurn(cs.SeqNo)
	return cs.SeqNo
}

// arriveTurn records that the request with CSeq seq has arrived. The edge's
// fast path (fastinfo.go) calls it on the connection's reader, in wire
// order, and waitTurn later on the request's own goroutine.
func (s *Session) arriveTurn(seq uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.order
	if !o.started {
		o.started, o.done = true, s.inviteCSeq
		o.present = map[uint32]struct{}{}
	}
	o.present[seq] = struct{}{}
	o.notifyLocked()
}

// waitTurn blocks until it is the turn of the request with CSeq seq, which
// has arrived (arriveTurn).
func (s *Session) waitTurn(seq uint32) {
	s.mu.Lock()
	o := &s.order
	var gap Timer
	var gapped chan struct{}
	defer func() {
		if gap != nil {
			gap.Stop()
		}
	}()
	for seq > o.done+1 && !s.ended {
		if _, ok := o.present[o.done+1]; ok {
			// The previous request is here: wait for it, however long.
			if gap != nil {
				gap.Stop()
				gap, gapped = nil, nil
			}
		} else if gap == nil {
			// It has not arrived: wait a little, then skip the hole.
			gapped = make(chan struct{})
			ch := gapped
			gap = s.srv.clock.AfterFunc(gapWait, func() { close(ch) })
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		s.mu.Unlock()
		select {
		case <-changed:
			s.mu.Lock()
		case <-gapped:
			s.mu.Lock()
			gap, gapped = nil, nil
			if _, ok := o.present[o.done+1]; !ok && seq > o.done+1 {
				o.done = seq - 1 // the missing ones are not coming: skip them
				o.notifyLocked()
			}
		}
	}
	s.mu.Unlock()
}

// leaveTurn marks req (CSeq seq) handled and lets the next one run.
func (s *Session) leaveTurn(seq uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.order
	if !o.started {
		return
	}
	delete(o.present, seq)
	if seq > o.done {
		o.done = seq
	}
	o.notifyLocked()
}

// notifyLocked wakes the requests waiting for a change, if any.
func (o *requestOrder) notifyLocked() {
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
}

// inOrder wraps the handler of in-dialog requests so that the requests of
// one dialog run in CSeq order (requestOrder). Requests outside a known
// dialog (a new INVITE, a stray BYE) pass straight through.
func (s *Server) inOrder(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		sess, _ := s.matchWait(req, false) // another connection's request is refused by h, outside the order; an adoption is awaited by h
		if sess == nil {
			h(req, tx)
			return
		}
		seq := sess.enterTurn(req)
		defer sess.leaveTurn(seq)
		h(req, tx)
	}
}

// byeGrace is how long a dialog the client ended with BYE is remembered,
// so that a MonitorStop it sent just before its BYE still gets its answer.
const byeGrace = 5 * time.Second

// endedDialogs remembers the dialogs their clients just ended with BYE.
// Requests of one dialog are put in CSeq order (requestOrder), but not
// every client numbers them as RFC 3261 §12.2.1.1 asks (pidgin-sipe starts
// again after each 2xx to its INVITE), and a front end may pass on two
// requests in either order. A MonitorStop that comes after the BYE of its
// own sign-out is answered MonitorStopResponse: ending the session already
// stopped the monitor. Anything else in such a dialog gets 481 as usual.
type endedDialogs struct {
	mu   sync.Mutex
	byID map[string]struct{}
}

func (e *endedDialogs) add(clock Clock, id string) {
	e.mu.Lock()
	if e.byID == nil {
		e.byID = map[string]struct{}{}
	}
	e.byID[id] = struct{}{}
	e.mu.Unlock()
	clock.AfterFunc(byeGrace, func() {
		e.mu.Lock()
		delete(e.byID, id)
		e.mu.Unlock()
	})
}

func (e *endedDialogs) has(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.byID[id]
	return ok
}

// lateMonitorStop answers a MonitorStop that arrives in a dialog its client
// has just ended with BYE, and reports whether it did.
func (s *Server) lateMonitorStop(req *sip.Request, tx sip.ServerTransaction) bool {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil || !s.ended.has(id) || !isCSTA(req) {
		return false
	}
	msg, err := csta.Decode(req.Body())
	if _, ok := msg.(*csta.MonitorStop); err != nil || !ok {
		return false
	}
	body, err := csta.Encode(&csta.MonitorStopResponse{})
	if err != nil {
		return false
	}
	s.log.Debug().Str("call_id", req.CallID().Value()).Str("peer", req.Source()).Msg("MonitorStop after the BYE of its sign-out: answered (the monitor ended with the session)")
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	ct := sip.ContentTypeHeader(csta.ContentType)
	res.AppendHeader(&ct)
	res.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	_ = tx.Respond(res)
	return true
}

// connWindows counts, per client connection (the INVITE's source), the INFOs
// whose answer is awaited, for Config.ConnectionWindow.
type connWindows struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes a place on peer's connection if fewer than limit are taken.
func (w *connWindows) acquire(peer string, limit int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == nil {
		w.n = map[string]int{}
	}
	if w.n[peer] >= limit {
		return false
	}
	w.n[peer]++
	return true
}

func (w *connWindows) release(peer string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[peer]--; w.n[peer] <= 0 {
		delete(w.n, peer)
	}
}
