package switching

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// This file is the B2BUA's call logic: offering a call to its destination
// (dial plan, DND, forwarding, ringing, timeouts), connecting the two
// sides when the destination answers, failing, and releasing connections.
// State changes happen under model.mu; SIP I/O never does. Work that needs
// the network after a state change is returned as actions and run after
// the lock is released.

// maxHops bounds forwarding chains (a forwards to b forwards to a ...).
const maxHops = 5

// action is SIP work decided under the model lock and done after it.
type action func()

func (sw *Switch) run(acts []action) {
	for _, a := range acts {
		sw.spawn(a)
	}
}

// attach binds a leg to a connection.
func attach(c *call, cn *connection, l *leg) {
	cn.leg = l
	l.call, l.conn = c, cn
	l.callRef.Store(c.id)
}

// sipURI builds sip:user@domain.
func (sw *Switch) sipURI(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: sw.cfg.Domain}
}

// route applies the dial plan.
func (sw *Switch) route(dialled string) (Target, error) {
	if sw.cfg.Router != nil {
		t, err := sw.cfg.Router.Route(dialled)
		if err != nil {
			return Target{}, fmt.Errorf("%w: %q: %w", ErrNoRoute, dialled, err)
		}
		return t, nil
	}
	if sw.stationByExt(dialled) != nil {
		return Target{Kind: TargetStation, Extension: dialled}, nil
	}
	if sw.cfg.Trunk != nil {
		return Target{Kind: TargetTrunk, Dial: dialled}, nil
	}
	return Target{}, fmt.Errorf("%w: %q", ErrNoRoute, dialled)
}

// deliver offers call c, whose calling side is c.origin with SDP c.offer,
// to the dialled number: dial plan, then do-not-disturb and immediate
// forwarding of a station, then a new leg that rings. It runs in its own
// goroutine and returns when the destination answered or failed.
func (sw *Switch) deliver(c *call, dialled string, cause Cause, hops int) {
	tgt, err := sw.route(dialled)
	if err != nil {
		sw.log.Info().Err(err).Str("call_id", c.id).Msg("no route")
		sw.fail(c, nil, dialled, CauseInvalidNumber, sip.StatusNotFound, "Not Found")
		return
	}
	m := sw.model
	m.mu.Lock()
	if m.calls[c.id] != c || c.origin == nil || c.origin.state == ConnNull {
		m.mu.Unlock()
		return // the caller went away meanwhile
	}
	var l *leg
	var hdrs []Header
	switch tgt.Kind {
	case TargetStation:
		ext := tgt.Extension
		st := sw.stationByExt(ext)
		if st == nil {
			m.mu.Unlock()
			sw.fail(c, nil, ext, CauseInvalidNumber, sip.StatusNotFound, "Not Found")
			return
		}
		if l = sw.peerLeg(c, ext); l != nil {
			break // the station's user is on another node: its DND, forwarding and phone are handled there
		}
		if m.dnd(ext) {
			m.mu.Unlock()
			sw.fail(c, nil, ext, CauseDoNotDisturb, sip.StatusTemporarilyUnavailable, "Do Not Disturb")
			return
		}
		if fwd, ok := m.forwardTo(ext, ForwardImmediate); ok && hops < maxHops {
			m.divertedNotice(c, ext, fwd, CauseForwardImmediate)
			m.mu.Unlock()
			sw.deliver(c, fwd, CauseForwardImmediate, hops+1)
			return
		}
		w, err := sw.reg.reach(st)
		if err != nil {
			m.mu.Unlock()
			sw.fail(c, nil, ext, CauseUnreachable, sip.StatusTemporarilyUnavailable, "Not Registered")
			return
		}
		l = sw.newStationLeg(ext, w, sw.callerURI(c))
	case TargetTrunk:
		t := sw.cfg.Trunk
		if t == nil {
			m.mu.Unlock()
			sw.fail(c, nil, tgt.Dial, CauseTrunkDown, sip.StatusServiceUnavailable, "No Trunk")
			return
		}
		host, port, _ := sip.ParseAddr(t.Addr)
		target := sip.Uri{Scheme: "sip", User: tgt.Dial, Host: host, Port: port}
		to := sip.Uri{Scheme: "sip", User: tgt.Dial, Host: host}
		if t.Domain != "" {
			to.Host = t.Domain
		}
		l = sw.newUACLeg(tgt.Dial, target, sw.callerURI(c), to, t.Transport, t.Addr)
	default:
		m.mu.Unlock()
		sw.fail(c, nil, dialled, CauseInvalidNumber, sip.StatusNotFound, "Not Found")
		return
	}
	cn := m.addConn(c, l.device)
	cn.trunk = tgt.Kind == TargetTrunk
	cn.peer = l.peer
	cn.hops = hops
	attach(c, cn, l)
	c.called = l.device
	c.ringing = cn
	offer := c.offer
	m.mu.Unlock()
	sw.ring(c, cn, l, offer, hdrs, cause)
}

// callerURI is the From of legs placed for c: the calling device.
func (sw *Switch) callerURI(c *call) sip.Uri {
	return sw.sipURI(c.calling)
}

// ring places the INVITE of leg l (connection cn of call c) and handles
// the outcome: alerting, answer, busy (forward on busy), failure. The
// connection may be re-targeted meanwhile (Deflect, forward on no answer,
// re-offer): then cn.leg is no longer l, or cn is gone, and ring just ends.
func (sw *Switch) ring(c *call, cn *connection, l *leg, offer []byte, hdrs []Header, cause Cause) {
	sw.addLeg(l)
	m := sw.model
	onProv := func(res *sip.Response) {
		if res.StatusCode != sip.StatusRinging && res.StatusCode != sip.StatusSessionInProgress {
			return
		}
		m.mu.Lock()
		if cn.leg != l || cn.gone || cn.state != ConnNull {
			m.mu.Unlock()
			return
		}
		_ = m.set(c, cn, ConnAlerting, EventDelivered, cause, nil)
		sw.armRingTimers(c, cn)
		inbound := c.inbound
		m.mu.Unlock()
		if inbound != nil {
			_ = inbound.respond(sip.StatusRinging, "Ringing", nil)
		}
	}
	r := l.placeInvite(sw.ctx, offer, hdrs, onProv)

	m.mu.Lock()
	if cn.leg != l || cn.gone {
		m.mu.Unlock()
		if cn.leg != l || r.res == nil || !r.res.IsSuccess() {
			sw.forgetLeg(l)
		}
		return
	}
	if r.err != nil || r.res == nil {
		fc := CauseUnreachable
		if cn.trunk {
			fc = CauseTrunkDown
		}
		if cn.cancelCause != CauseUnknown {
			fc = cn.cancelCause
		}
		m.mu.Unlock()
		sw.log.Info().Err(r.err).Str("call_id", c.id).Str("device", cn.device).Stringer("cause", fc).Msg("call failed")
		sw.forgetLeg(l)
		sw.fail(c, cn, cn.device, fc, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	}
	res := r.res
	if res.IsSuccess() {
		// ACK first (RFC 3261 §13.2.2.4), so that no request of ours in the
		// new dialog (INFO for DTMF, re-INVITE) can overtake it.
		m.mu.Unlock()
		l.ack(nil)
		m.mu.Lock()
		if cn.leg != l || cn.gone {
			m.mu.Unlock()
			l.bye()
			return
		}
		if cn.state == ConnNull {
			// Answered without a provisional response: the connection
			// still passed through alerting (ECMA-269 §17.2, Delivered
			// then Established), so monitors see the usual two states.
			_ = m.set(c, cn, ConnAlerting, EventDelivered, cause, nil)
		}
		_ = m.set(c, cn, ConnConnected, EventEstablished, CauseNormal, nil)
		c.ringing = nil
		m.mu.Unlock()
		sw.connect(c, cn, res.Body())
		return
	}
	sw.forgetLeg(l)
	code := res.StatusCode
	fc := causeOf(code, cn.trunk)
	if cn.cancelCause != CauseUnknown {
		fc = cn.cancelCause
	}
	if fc == CauseBusy && !cn.trunk && !cn.peer { // a peer node forwarded on busy itself
		if fwd, ok := m.forwardTo(cn.device, ForwardBusy); ok && cn.hops < maxHops {
			cn.gone = true
			c.ringing = nil
			_ = m.set(c, cn, ConnNull, EventDiverted, CauseForwardBusy, func(e *Event) { e.DivertedTo = fwd })
			m.divertedNotice(c, cn.device, fwd, CauseForwardBusy)
			hops := cn.hops
			m.mu.Unlock()
			sw.deliver(c, fwd, CauseForwardBusy, hops+1)
			return
		}
	}
	m.mu.Unlock()
	sw.fail(c, cn, cn.device, fc, code, res.Reason)
}

// causeOf maps a final SIP status of an INVITE onto a cause.
func causeOf(code int, trunk bool) Cause {
	switch code {
	case sip.StatusBusyHere, 600:
		return CauseBusy
	case sip.StatusGlobalDecline, sip.StatusRequestTerminated:
		return CauseRejected
	case sip.StatusNotFound, 484, 604:
		return CauseInvalidNumber
	case sip.StatusRequestTimeout:
		return CauseNoAnswer
	case sip.StatusServiceUnavailable, sip.StatusBadGateway, sip.StatusGatewayTimeout, sip.StatusInternalServerError:
		if trunk {
			return CauseTrunkDown
		}
	}
	return CauseUnreachable
}

// armRingTimers starts forward-on-no-answer (Config.RingTimeout, only if
// the station forwards on no answer) and the no-answer failure
// (Config.NoAnswerTimeout) for a ringing connection. m.mu is held.
func (sw *Switch) armRingTimers(c *call, cn *connection) {
	m := sw.model
	l := cn.leg
	if fwd, ok := m.forwardTo(cn.device, ForwardNoAnswer); ok && cn.station && !cn.peer && cn.hops < maxHops {
		m.after(c, sw.cfg.RingTimeout, func() {
			if cn.leg != l || cn.gone || cn.state != ConnAlerting {
				return
			}
			cn.gone = true
			c.ringing = nil
			_ = m.set(c, cn, ConnNull, EventDiverted, CauseForwardNoAnswer, func(e *Event) { e.DivertedTo = fwd })
			hops := cn.hops
			sw.spawn(func() {
				l.cancelPending()
				sw.deliver(c, fwd, CauseForwardNoAnswer, hops+1)
			})
		})
	}
	m.after(c, sw.cfg.NoAnswerTimeout, func() {
		if cn.leg != l || cn.gone || cn.state != ConnAlerting {
			return
		}
		cn.cancelCause = CauseNoAnswer
		sw.spawn(func() { l.cancelPending() })
	})
}

// divertedNotice tells the diverting station (which has no connection in
// the call, e.g. immediate forwarding) and the call's stations that the
// call went elsewhere. m.mu is held.
func (m *model) divertedNotice(c *call, from, to string, cause Cause) {
	if c.conn(from) == nil && m.isStation(from) {
		m.pub.publish(Event{
			Type: EventDiverted, Time: m.clock.Now(), Device: from, CallID: c.id, Subject: from,
			Calling: c.calling, Called: c.called, State: ConnNull, Cause: cause, Connections: c.infos(), DivertedTo: to,
		})
	}
	m.emit(c, EventDiverted, from, cause, func(e *Event) { e.DivertedTo = to })
}

// connect joins the calling side of c to connection cn, which just
// answered with SDP answer: a pending inbound INVITE gets its 200 OK with
// the answer; an established calling leg (MakeCall, single-step transfer)
// gets a re-INVITE offering the answer (RFC 3725 §4.4, see docs/switching.md).
func (sw *Switch) connect(c *call, cn *connection, answer []byte) {
	m := sw.model
	m.mu.Lock()
	origin := c.origin
	inbound := c.inbound
	c.inbound = nil
	if origin == nil || origin.gone || origin.state == ConnNull {
		m.mu.Unlock()
		sw.releaseCall(c, CauseNormal)
		return
	}
	m.mu.Unlock()
	var err error
	if inbound != nil && origin.leg == inbound {
		err = inbound.respond(sip.StatusOK, "OK", answer)
	} else {
		_, err = origin.leg.reInvite(sw.ctx, sdpWithDirection(answer, "sendrecv"))
	}
	if err != nil {
		sw.log.Info().Err(err).Str("call_id", c.id).Msg("connecting the calling side failed")
		sw.releaseCall(c, CauseNormal)
	}
}

// fail ends call c because its destination failed: EventFailed about
// device (cn, if the device got a connection, goes failed then null), then
// the calling side is released: a pending inbound INVITE is answered with
// code, an established leg gets a BYE.
func (sw *Switch) fail(c *call, cn *connection, device string, cause Cause, code int, reason string) {
	m := sw.model
	m.mu.Lock()
	if m.calls[c.id] != c {
		m.mu.Unlock()
		return
	}
	if cn != nil {
		cn.gone = true
		if c.ringing == cn {
			c.ringing = nil
		}
		_ = m.set(c, cn, ConnFailed, EventFailed, cause, nil)
		_ = m.set(c, cn, ConnNull, EventUnknown, cause, nil)
	} else {
		m.emit(c, EventFailed, device, cause, nil)
	}
	inbound := c.inbound
	c.inbound = nil
	var acts []action
	for _, o := range c.conns {
		if o.state == ConnNull || o.gone {
			continue
		}
		if inbound != nil && o.leg == inbound {
			o.gone = true
			_ = m.set(c, o, ConnNull, EventCleared, cause, nil)
			acts = append(acts, func() {
				_ = inbound.respond(code, reason, nil)
				sw.forgetLeg(inbound)
			})
			continue
		}
		acts = append(acts, m.release(c, o, cause)...)
	}
	m.mu.Unlock()
	sw.run(acts)
}

// release clears one connection: EventCleared, and the SIP to end its leg
// (CANCEL if ringing, 487 to a pending inbound INVITE, BYE if
// established). m.mu is held; the returned actions do the SIP.
func (m *model) release(c *call, cn *connection, cause Cause) []action {
	if cn.gone && cn.state == ConnNull {
		return nil
	}
	cn.gone = true
	if c.ringing == cn {
		c.ringing = nil
	}
	l := cn.leg
	if cn.state != ConnNull {
		_ = m.set(c, cn, ConnNull, EventCleared, cause, nil)
	}
	if l == nil {
		return nil
	}
	if c.inbound == l {
		c.inbound = nil
	}
	return []action{func() { l.end() }}
}

// end ends the leg whatever its state: CANCEL, 487, or BYE.
func (l *leg) end() {
	if l.cancelPending() {
		return
	}
	l.mu.Lock()
	pendingUAS := l.inviteTx != nil && l.finalSent != nil && !l.confirmed
	l.mu.Unlock()
	if pendingUAS {
		_ = l.respond(sip.StatusRequestTerminated, "Request Terminated", nil)
		l.sw.forgetLeg(l)
		return
	}
	l.bye()
}

// releaseCall clears every connection of c.
func (sw *Switch) releaseCall(c *call, cause Cause) {
	m := sw.model
	m.mu.Lock()
	var acts []action
	for _, cn := range c.conns {
		acts = append(acts, m.release(c, cn, cause)...)
	}
	m.mu.Unlock()
	sw.run(acts)
}

// legGone handles a leg that ended from the device's side (BYE, or a
// failed in-dialog request): its connection is cleared, and so is the
// rest of a call that is left with one party.
func (sw *Switch) legGone(l *leg, cause Cause) {
	l.markEnded()
	sw.forgetLeg(l)
	m := sw.model
	m.mu.Lock()
	c, cn := l.call, l.conn
	if c == nil || cn == nil || cn.leg != l || cn.gone {
		m.mu.Unlock()
		return
	}
	cn.gone = true
	if c.ringing == cn {
		c.ringing = nil
	}
	_ = m.set(c, cn, ConnNull, EventCleared, cause, nil)
	acts := m.releaseIfAlone(c, cause)
	m.mu.Unlock()
	sw.run(acts)
}

// releaseIfAlone releases the remaining connections of a call that has
// fewer than two live parties (two-party calls end when one side leaves).
func (m *model) releaseIfAlone(c *call, cause Cause) []action {
	n := 0
	for _, cn := range c.conns {
		if cn.state != ConnNull && !cn.gone {
			n++
		}
	}
	if n >= 2 {
		return nil
	}
	var acts []action
	for _, cn := range c.conns {
		acts = append(acts, m.release(c, cn, cause)...)
	}
	return acts
}

// stationGone clears the calls of a station that unregistered or whose
// registration expired (RFC 3261 §10.2.2): its legs are ended and the
// other parties released with CauseOutOfService.
func (sw *Switch) stationGone(ext string) {
	m := sw.model
	m.mu.Lock()
	var acts []action
	for _, c := range m.callsOf(ext) {
		for _, cn := range c.conns {
			if cn.device == ext && cn.state != ConnNull {
				acts = append(acts, m.release(c, cn, CauseOutOfService)...)
			}
		}
		acts = append(acts, m.releaseIfAlone(c, CauseOutOfService)...)
	}
	m.mu.Unlock()
	sw.run(acts)
}

// clearAll ends every call at shutdown and waits (bounded) for the SIP.
func (sw *Switch) clearAll() {
	m := sw.model
	m.mu.Lock()
	var acts []action
	for _, c := range m.calls {
		for _, cn := range c.conns {
			acts = append(acts, m.release(c, cn, CauseNormal)...)
		}
	}
	m.mu.Unlock()
	sw.run(acts)
}
