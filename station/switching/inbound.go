package switching

import (
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// routes registers the SIP request handlers.
func (sw *Switch) routes() {
	sw.handlers = map[sip.RequestMethod]sipgo.RequestHandler{
		sip.REGISTER: sw.guarded(sw.handler(sw.onRegister)),
		sip.INVITE:   sw.guarded(sw.handler(sw.onInvite)),
		sip.ACK:      sw.guarded(sw.onAck),
		sip.BYE:      sw.guarded(sw.handler(sw.onBye)),
		sip.CANCEL:   sw.guarded(sw.handler(sw.onStrayCancel)),
		sip.OPTIONS:  sw.guarded(sw.handler(sw.onOptions)),
		sip.INFO:     sw.guarded(sw.handler(sw.onInDialog)),
		sip.NOTIFY:   sw.guarded(sw.handler(sw.onInDialog)),
	}
	for method, h := range sw.handlers {
		sw.srv.OnRequest(method, h)
	}
}

// handler adapts an error-returning handler to sipgo and logs its error in
// one place.
func (sw *Switch) handler(h func(*sip.Request, sip.ServerTransaction) error) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if err := h(req, tx); err != nil {
			sw.log.Warn().Err(err).Str("method", string(req.Method)).Str("sip_call_id", req.CallID().Value()).
				Str("peer", req.Source()).Msg("SIP request handling failed")
		}
	}
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) error {
	return tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

// onOptions answers capability queries and keep-alives (RFC 3261 §11).
func (sw *Switch) onOptions(req *sip.Request, tx sip.ServerTransaction) error {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Server", sw.cfg.UserAgent))
	return tx.Respond(res)
}

// onAck completes the three-way handshake of a 2xx we sent (RFC 3261 §13.3.1.4).
func (sw *Switch) onAck(req *sip.Request, tx sip.ServerTransaction) {
	key := ackKey(req.CallID().Value(), req.CSeq().SeqNo)
	sw.acksMu.Lock()
	ch := sw.acks[key]
	delete(sw.acks, key)
	sw.acksMu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// onStrayCancel answers a CANCEL that matches no pending INVITE (RFC 3261 §9.2).
func (sw *Switch) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) error {
	return respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// dialogLeg returns the leg an in-dialog request belongs to, or nil. (One
// lookup for UAC and UAS legs; sipgo's dialog caches are per role.)
func (sw *Switch) dialogLeg(req *sip.Request) *leg {
	l := sw.legByCallID(req.CallID().Value())
	if l == nil {
		return nil
	}
	fromTag, _ := req.From().Params.Get("tag")
	toTag, _ := req.To().Params.Get("tag")
	l.mu.Lock()
	defer l.mu.Unlock()
	if toTag != l.localTag || (l.remoteTag != "" && fromTag != l.remoteTag) {
		return nil
	}
	return l
}

// onBye ends a dialog from the device's side (RFC 3261 §15.1.2).
func (sw *Switch) onBye(req *sip.Request, tx sip.ServerTransaction) error {
	l := sw.dialogLeg(req)
	if l == nil {
		return respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
	err := respond(tx, req, sip.StatusOK, "OK")
	sw.legGone(l, CauseNormal)
	return err
}

// onInDialog accepts INFO and NOTIFY inside a known dialog (DTMF, phone
// status) and refuses them outside one.
func (sw *Switch) onInDialog(req *sip.Request, tx sip.ServerTransaction) error {
	if sw.dialogLeg(req) == nil {
		return respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
	return respond(tx, req, sip.StatusOK, "OK")
}

// onInvite takes a new call from a station or the trunk, or a re-INVITE.
func (sw *Switch) onInvite(req *sip.Request, tx sip.ServerTransaction) error {
	if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
		return sw.onReInvite(req, tx)
	}
	if sw.closing.Load() {
		return respond(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
	}
	var calling string
	fromTrunk := sw.trunkAddr != "" && req.Source() == sw.trunkAddr
	fromPeer := !fromTrunk && sw.cfg.Peers != nil && sw.cfg.Peers.IsPeer(req.Source())
	if fromTrunk || fromPeer {
		calling = req.From().Address.User
		if calling == "" {
			calling = "anonymous"
		}
	} else {
		// An unknown caller is challenged like a station (407), see onRegister.
		st := sw.stationByUser(req.From().Address.User)
		if ok, err := sw.authenticate(req, tx, st); !ok || st == nil {
			return err
		}
		calling = st.Extension
	}
	dialled := req.Recipient.User
	if dialled == "" {
		return respond(tx, req, sip.StatusNotFound, "No Number")
	}
	if len(req.Body()) == 0 {
		// Delayed offer from a caller is not supported: the callee leg would
		// need the caller's answer in its ACK (see docs/switching.md).
		return respond(tx, req, sip.StatusNotAcceptableHere, "Offer Required")
	}
	if err := respond(tx, req, sip.StatusTrying, "Trying"); err != nil {
		return err
	}

	m := sw.model
	m.mu.Lock()
	c := m.newCall(calling, dialled)
	c.fromPeer = fromPeer
	cn := m.addConn(c, calling)
	cn.trunk = fromTrunk
	cn.peer = fromPeer
	l := sw.newUASLeg(calling, req, tx)
	l.peer = fromPeer
	attach(c, cn, l)
	c.origin, c.inbound, c.offer = cn, l, req.Body()
	_ = m.set(c, cn, ConnConnected, EventOriginated, CauseNewCall, nil)
	m.mu.Unlock()
	sw.addLeg(l)
	sw.spawn(func() { sw.deliver(c, dialled, CauseNewCall, 0) })

	// Stay in the handler until the INVITE is answered: sipgo terminates
	// the server transaction when the handler returns.
	select {
	case <-l.finalSent:
	case <-tx.Done():
		// CANCEL from the caller (sipgo answered 200 and 487 already).
		l.markEnded()
		sw.legGone(l, CauseNormal)
	case <-sw.ctx.Done():
		_ = l.respond(sip.StatusServiceUnavailable, "Shutting Down", nil)
	}
	return nil
}

// onReInvite handles a re-INVITE from a device (RFC 3261 §14.2): the offer
// is passed to the other party of the call with our own re-INVITE and its
// answer returned. A hold or retrieve from the handset (RFC 3264 §8.4)
// produces EventHeld / EventRetrieved.
func (sw *Switch) onReInvite(req *sip.Request, tx sip.ServerTransaction) error {
	l := sw.dialogLeg(req)
	if l == nil {
		return respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
	if !l.reinvite.TryLock() {
		return respond(tx, req, sip.StatusRequestPending, "Request Pending")
	}
	defer l.reinvite.Unlock()
	offer := req.Body()
	l.mu.Lock()
	if c := req.Contact(); c != nil {
		l.remoteTarget = c.Address
	}
	answer := l.localSDP
	l.mu.Unlock()

	m := sw.model
	m.mu.Lock()
	c, cn := l.call, l.conn
	var peer *connection
	if c != nil && cn != nil {
		peer = c.other(cn)
	}
	m.mu.Unlock()

	if len(offer) > 0 && peer != nil && peer.leg != nil {
		if confirmed, ended := peer.leg.state(); confirmed && !ended {
			res, err := peer.leg.reInvite(sw.ctx, offer)
			if err != nil {
				code := sip.StatusServiceUnavailable
				if res != nil {
					code = res.StatusCode
				}
				return respond(tx, req, code, "Peer Refused")
			}
			answer = res.Body()
		}
	}
	if len(offer) > 0 {
		l.mu.Lock()
		l.remoteSDP = offer
		l.mu.Unlock()
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sw.contact(l.transport))
	l.mu.Lock()
	if len(answer) > 0 {
		answer = l.origin.stamp(answer)
		l.localSDP = answer
	}
	l.mu.Unlock()
	setBody(res, "application/sdp", answer)
	if len(offer) > 0 && c != nil && cn != nil {
		sw.handsetHold(c, cn, sdpHeld(offer))
	}
	return sw.respond2xx(tx, req, res, nil)
}

// handsetHold records a hold or retrieve done at the phone.
func (sw *Switch) handsetHold(c *call, cn *connection, held bool) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case held && cn.state == ConnConnected:
		_ = m.set(c, cn, ConnHeld, EventHeld, CauseNormal, nil)
	case !held && cn.state == ConnHeld:
		_ = m.set(c, cn, ConnConnected, EventRetrieved, CauseNormal, nil)
	}
}
