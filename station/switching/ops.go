package switching

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// Operations: the API the Lync side (rccserver) calls. Each one's SIP
// mechanics are written down in docs/switching.md. Operations that only
// start SIP work (MakeCall, Deflect, Consult, SingleStepTransfer) return
// once the model changed; progress arrives as events. Operations that
// change media (Hold, Retrieve, Alternate, Transfer) return when the
// re-INVITEs completed.

// station returns the configured station ext.
func (sw *Switch) station(ext string) (*Station, error) {
	st := sw.stationByExt(ext)
	if st == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDevice, ext)
	}
	return st, nil
}

func (sw *Switch) checkOpen() error {
	if sw.closing.Load() {
		return ErrClosed
	}
	return nil
}

// MakeCall places a call from station ext to dest by third-party call
// control (RFC 3725): the station is invited with auto-answer hints and no
// SDP; its offer goes to the destination; the destination's answer is
// given back to the station in a re-INVITE. The returned CallRef names the
// station's connection; EventInitiated, EventOriginated, EventDelivered and
// EventEstablished (or EventFailed) follow.
func (sw *Switch) MakeCall(ctx context.Context, ext, dest string) (CallRef, error) {
	return sw.makeCall(ctx, ext, dest, CauseMakeCall)
}

func (sw *Switch) makeCall(ctx context.Context, ext, dest string, cause Cause) (CallRef, error) {
	if err := sw.checkOpen(); err != nil {
		return CallRef{}, err
	}
	if err := ctx.Err(); err != nil {
		return CallRef{}, err
	}
	st, err := sw.station(ext)
	if err != nil {
		return CallRef{}, err
	}
	dest = strings.TrimSpace(dest)
	if dest == "" {
		return CallRef{}, fmt.Errorf("%w: empty destination", ErrInvalidArgument)
	}
	if _, err := sw.route(dest); err != nil {
		return CallRef{}, err
	}
	w, err := sw.reg.reach(st)
	if err != nil {
		return CallRef{}, err
	}
	m := sw.model
	m.mu.Lock()
	c := m.newCall(ext, dest)
	cn := m.addConn(c, ext)
	from := sw.sipURI(dest)
	l := sw.newStationLeg(ext, w, from)
	attach(c, cn, l)
	c.origin = cn
	_ = m.set(c, cn, ConnInitiated, EventInitiated, cause, nil)
	m.after(c, sw.cfg.NoAnswerTimeout, func() {
		if cn.leg == l && !cn.gone && cn.state == ConnInitiated {
			cn.cancelCause = CauseNoAnswer
			sw.spawn(func() { l.cancelPending() })
		}
	})
	ref := CallRef{CallID: c.id, Device: ext}
	m.mu.Unlock()
	sw.addLeg(l)
	sw.spawn(func() { sw.originate(c, cn, l, dest, st.AutoAnswer, cause) })
	return ref, nil
}

// originate gets the calling station off-hook (MakeCall step 1) and then
// delivers the call to the destination.
func (sw *Switch) originate(c *call, cn *connection, l *leg, dest string, hdrs []Header, cause Cause) {
	r := l.placeInvite(sw.ctx, nil, hdrs, nil)
	m := sw.model
	m.mu.Lock()
	if cn.leg != l || cn.gone {
		m.mu.Unlock()
		sw.forgetLeg(l)
		return
	}
	if r.err != nil || r.res == nil || !r.res.IsSuccess() || len(r.res.Body()) == 0 {
		fc := CauseUnreachable
		if r.res != nil {
			fc = causeOf(r.res.StatusCode, false)
		}
		if cn.cancelCause != CauseUnknown {
			fc = cn.cancelCause
		}
		cn.gone = true
		_ = m.set(c, cn, ConnFailed, EventFailed, fc, nil)
		_ = m.set(c, cn, ConnNull, EventCleared, fc, nil)
		m.mu.Unlock()
		if r.res != nil && r.res.IsSuccess() { // 2xx without an offer
			l.ack(nil)
			l.bye()
		}
		sw.forgetLeg(l)
		return
	}
	offer := r.res.Body()
	c.offer = offer
	m.mu.Unlock()
	// RFC 3725 §4.4: answer the station's offer with a "black hole" so its
	// 200 OK is acknowledged at once, whatever the destination takes.
	l.ack(sdpBlackHole(offer))
	m.mu.Lock()
	if cn.leg != l || cn.gone {
		m.mu.Unlock()
		return
	}
	_ = m.set(c, cn, ConnConnected, EventOriginated, cause, nil)
	m.mu.Unlock()
	sw.deliver(c, dest, cause, 0)
}

// Answer answers a call ringing at station ext, using the station's
// AnswerMethod. With AnswerNone it returns ErrAnswerNotSupported (answering
// at the handset still produces EventEstablished).
func (sw *Switch) Answer(ctx context.Context, ext, callID string) error {
	st, err := sw.station(ext)
	if err != nil {
		return err
	}
	m := sw.model
	m.mu.Lock()
	c, cn, err := m.lookup(ext, callID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if cn.state != ConnAlerting || cn.leg == nil || c.ringing != cn {
		st := cn.state
		m.mu.Unlock()
		return fmt.Errorf("%w: %s is %s in call %s, not alerting", ErrInvalidState, ext, st, callID)
	}
	l := cn.leg
	switch st.AnswerMethod {
	case AnswerTalkEvent:
		m.mu.Unlock()
		// BroadSoft "talk" event package: an unsolicited NOTIFY in the early
		// dialog makes the phone go off-hook (the phone then sends 200 OK).
		_, err := l.request(ctx, sip.NOTIFY, "", nil,
			sip.NewHeader("Event", "talk"), sip.NewHeader("Subscription-State", "active"))
		return answerRefused(ext, st.AnswerMethod, err)
	case AnswerUACSTA:
		m.mu.Unlock()
		body, err := answerCallXML(callID, ext)
		if err != nil {
			return err
		}
		_, err = l.request(ctx, sip.INFO, csta.ContentType, body,
			sip.NewHeader("Content-Disposition", "signal;handling=required"))
		return answerRefused(ext, st.AnswerMethod, err)
	case AnswerAutoAnswerReoffer:
		// Offer the call again with the auto-answer hints; the old INVITE is
		// cancelled. The connection stays alerting until the phone answers.
		w, err := sw.reg.reach(st)
		if err != nil {
			m.mu.Unlock()
			return err
		}
		nl := sw.newStationLeg(ext, w, sw.callerURI(c))
		attach(c, cn, nl)
		offer := c.offer
		m.mu.Unlock()
		l.cancelPending()
		sw.forgetLeg(l)
		sw.spawn(func() {
			// The re-offer waits for the cancelled INVITE's final response
			// (its 487): a phone that still has the old call ringing takes
			// the new INVITE as a second, waiting call on another line, and
			// phones auto-answer only on the active line (twinkle does so).
			wait := sw.cfg.Clock.NewTimer(sip.Timer_B)
			select {
			case <-l.inviteDone:
			case <-wait.C():
			case <-sw.ctx.Done():
			}
			wait.Stop()
			sw.ring(c, cn, nl, offer, st.AutoAnswer, CauseNormal)
		})
		return nil
	default:
		m.mu.Unlock()
		return fmt.Errorf("%w: %s (answer method %s)", ErrAnswerNotSupported, ext, st.AnswerMethod)
	}
}

// answerRefused turns a phone's refusal of the answer request into
// ErrAnswerNotSupported: a phone without the event package or uaCSTA answers
// 481 (no dialog for an unsolicited NOTIFY, RFC 6665 §4.1.3), 489 (unknown
// event package, RFC 6665 §8.3.2), 405/501 (method not supported, RFC 3261
// §21.4.6, §21.5.2) or 415 (body type, RFC 3261 §21.4.13). The phone keeps
// ringing; other failures are returned as they are.
func answerRefused(ext string, m AnswerMethod, err error) error {
	code, ok := SIPStatus(err)
	if !ok {
		return err
	}
	switch code {
	case 405, 415, 481, 489, 501:
		return fmt.Errorf("%w: the phone of %s refused the %s answer request: %w", ErrAnswerNotSupported, ext, m, err)
	}
	return err
}

// answerCallXML is the uaCSTA AnswerCall request (ECMA-323 §17.1.1 in the
// ECMA TR/87 profile) for the station's alerting connection, encoded by csta.
func answerCallXML(callID, device string) ([]byte, error) {
	body, err := csta.Encode(&csta.AnswerCall{CallToBeAnswered: csta.ConnectionID{CallID: callID, DeviceID: device}})
	if err != nil {
		return nil, fmt.Errorf("%w: uaCSTA AnswerCall: %w", ErrInvalidArgument, err)
	}
	return body, nil
}

// Clear removes station ext from call callID (ClearConnection): its leg is
// cancelled, rejected or hung up. A call left with one party ends.
func (sw *Switch) Clear(ctx context.Context, ext, callID string) error {
	m := sw.model
	m.mu.Lock()
	c, cn, err := m.lookup(ext, callID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	acts := m.release(c, cn, CauseNormal)
	if c.origin == cn && c.ringing != nil {
		acts = append(acts, m.release(c, c.ringing, CauseNormal)...)
	}
	acts = append(acts, m.releaseIfAlone(c, CauseNormal)...)
	m.mu.Unlock()
	sw.run(acts)
	return nil
}

// pair returns ext's connection in callID and the other party's, both
// with confirmed legs.
func (sw *Switch) pair(ext, callID string, want ...ConnState) (*call, *connection, *connection, error) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	c, cn, err := m.lookup(ext, callID)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(want) > 0 && !containsState(want, cn.state) {
		return nil, nil, nil, fmt.Errorf("%w: %s is %s in call %s", ErrInvalidState, ext, cn.state, callID)
	}
	peer := c.other(cn)
	if peer == nil || peer.leg == nil || cn.leg == nil {
		return nil, nil, nil, fmt.Errorf("%w: call %s has no other party", ErrInvalidState, callID)
	}
	if ok, ended := peer.leg.state(); !ok || ended {
		return nil, nil, nil, fmt.Errorf("%w: %s is not connected", ErrInvalidState, peer.device)
	}
	return c, cn, peer, nil
}

func containsState(set []ConnState, s ConnState) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// Hold puts station ext's connection in callID on hold (RFC 3264 §8.4):
// the other party is re-INVITEd with the station's SDP as sendonly, the
// station with the other party's SDP as inactive. All or nothing: if the
// station refuses, the other party is re-INVITEd back to sendrecv and the
// connection stays connected (no HeldEvent).
func (sw *Switch) Hold(ctx context.Context, ext, callID string) error {
	c, cn, peer, err := sw.pair(ext, callID, ConnConnected)
	if err != nil {
		return err
	}
	if _, err := peer.leg.reInvite(ctx, sdpHoldOffer(cn.leg.sdp(), "sendonly")); err != nil {
		return err
	}
	if _, err := cn.leg.reInvite(ctx, sdpHoldOffer(peer.leg.sdp(), "inactive")); err != nil {
		return sw.rollback(ctx, err, "hold", peer.leg, sdpWithDirection(cn.leg.sdp(), "sendrecv"))
	}
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	if cn.state == ConnConnected {
		return m.set(c, cn, ConnHeld, EventHeld, CauseNormal, nil)
	}
	return nil
}

// rollback re-INVITEs leg with offer to undo the first half of a two-step
// media change whose second half failed with cause, and returns cause
// (ErrRollbackFailed joined in when the undo failed too). It runs on its
// own deadline: the request's context may be what ended.
func (sw *Switch) rollback(ctx context.Context, cause error, op string, l *leg, offer []byte) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sip.Timer_B)
	defer cancel()
	if _, err := l.reInvite(rctx, offer); err != nil {
		sw.log.Warn().Str("op", op).Err(err).Msg("rollback re-INVITE failed; the call is left half changed")
		return fmt.Errorf("%w (%w: %s: %w)", cause, ErrRollbackFailed, op, err)
	}
	return cause
}

// Retrieve takes station ext's held connection in callID off hold:
// both parties are re-INVITEd with the other's SDP as sendrecv. All or
// nothing: if the station refuses, the other party is put back on hold.
func (sw *Switch) Retrieve(ctx context.Context, ext, callID string) error {
	c, cn, peer, err := sw.pair(ext, callID, ConnHeld)
	if err != nil {
		return err
	}
	if err := sw.bridge(ctx, cn.leg, peer.leg, sdpHoldOffer(cn.leg.sdp(), "sendonly")); err != nil {
		return err
	}
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	if cn.state == ConnHeld {
		return m.set(c, cn, ConnConnected, EventRetrieved, CauseNormal, nil)
	}
	return nil
}

// bridge points the media of two confirmed legs at each other: b gets a's
// description as a sendrecv offer, then a gets b's answer as a sendrecv
// offer (RFC 3725 §4.4 style; each leg keeps its own SDP origin). If a
// refuses, b is re-INVITEd with undoB, its offer before the bridge.
func (sw *Switch) bridge(ctx context.Context, a, b *leg, undoB []byte) error {
	res, err := b.reInvite(ctx, sdpWithDirection(a.sdp(), "sendrecv"))
	if err != nil {
		return err
	}
	ans := res.Body()
	if len(ans) == 0 {
		ans = b.sdp()
	}
	if _, err = a.reInvite(ctx, sdpWithDirection(ans, "sendrecv")); err != nil {
		return sw.rollback(ctx, err, "bridge", b, undoB)
	}
	return nil
}

// Alternate holds station ext's active call and retrieves its held call.
// All or nothing: if the held call cannot be retrieved, the active call is
// retrieved again, so the station keeps talking to the same party (the
// client sees Held then Retrieved for it, as the phones went).
func (sw *Switch) Alternate(ctx context.Context, ext, activeCallID, heldCallID string) error {
	if _, _, _, err := sw.pair(ext, heldCallID, ConnHeld); err != nil {
		return err
	}
	if err := sw.Hold(ctx, ext, activeCallID); err != nil {
		return err
	}
	if err := sw.Retrieve(ctx, ext, heldCallID); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*sip.Timer_B)
		defer cancel()
		if rerr := sw.Retrieve(rctx, ext, activeCallID); rerr != nil {
			return fmt.Errorf("%w (%w: alternate: %w)", err, ErrRollbackFailed, rerr)
		}
		return err
	}
	return nil
}

// Reconnect clears station ext's active call and retrieves its held call
// (ECMA-269 ReconnectCall). The held call is retrieved first: if that
// fails, nothing has changed; clearing cannot fail once both are checked.
func (sw *Switch) Reconnect(ctx context.Context, ext, activeCallID, heldCallID string) error {
	m := sw.model
	m.mu.Lock()
	_, _, err := m.lookup(ext, activeCallID)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if err := sw.Retrieve(ctx, ext, heldCallID); err != nil {
		return err
	}
	return sw.Clear(ctx, ext, activeCallID)
}

// Consult holds station ext's active call activeCallID and makes a
// consultation call from ext to dest (Hold + MakeCall). It returns the
// consultation call.
func (sw *Switch) Consult(ctx context.Context, ext, activeCallID, dest string) (CallRef, error) {
	if _, err := sw.route(dest); err != nil {
		return CallRef{}, err // refused before anything changes
	}
	if err := sw.Hold(ctx, ext, activeCallID); err != nil {
		return CallRef{}, err
	}
	ref, err := sw.makeCall(ctx, ext, dest, CauseConsultation)
	if err != nil {
		// All or nothing: the consultation did not start, take the call off hold.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*sip.Timer_B)
		defer cancel()
		if rerr := sw.Retrieve(rctx, ext, activeCallID); rerr != nil {
			return CallRef{}, fmt.Errorf("%w (%w: consult: %w)", err, ErrRollbackFailed, rerr)
		}
		return CallRef{}, err
	}
	return ref, nil
}

// Transfer joins the other parties of station ext's held call heldCallID
// and its consultation call activeCallID, and drops ext from both. The
// held party is re-INVITEd with the consulted party's SDP and vice versa;
// the held call survives with the consulted party moved into it.
// EventTransferred goes to every station involved.
func (sw *Switch) Transfer(ctx context.Context, ext, heldCallID, activeCallID string) error {
	c1, a1, b, err := sw.pair(ext, heldCallID, ConnHeld, ConnConnected)
	if err != nil {
		return err
	}
	c2, a2, cc, err := sw.pair(ext, activeCallID, ConnConnected, ConnHeld)
	if err != nil {
		return err
	}
	if c1 == c2 {
		return fmt.Errorf("%w: held and active call are the same", ErrInvalidArgument)
	}
	// If b refuses, cc goes back to the station of the consultation call.
	sw.model.mu.Lock()
	held := a2.state == ConnHeld
	sw.model.mu.Unlock()
	undo := sdpWithDirection(a2.leg.sdp(), "sendrecv")
	if held {
		undo = sdpHoldOffer(a2.leg.sdp(), "sendonly")
	}
	if err := sw.bridge(ctx, b.leg, cc.leg, undo); err != nil {
		return err
	}
	m := sw.model
	m.mu.Lock()
	if a1.gone || a2.gone || b.gone || cc.gone {
		m.mu.Unlock()
		return fmt.Errorf("%w: a party left during the transfer", ErrInvalidState)
	}
	a1.gone, a2.gone = true, true
	l1, l2 := a1.leg, a2.leg
	a1.state, a2.state = ConnNull, ConnNull
	// Move the consulted party into the held call; the consultation call ends.
	c1.conns = append(c1.conns, cc)
	cc.leg.call = c1
	cc.leg.callRef.Store(c1.id)
	c2.conns = nil
	m.drop(c2)
	c1.called = cc.device
	c1.origin = b
	extra := func(e *Event) { e.PrimaryCallID, e.SecondaryCallID = c1.id, c2.id }
	m.emit(c1, EventTransferred, ext, CauseTransfer, extra)
	m.pub.publish(Event{
		Type: EventTransferred, Time: m.clock.Now(), Device: ext, CallID: c1.id, Subject: ext,
		Calling: c1.calling, Called: c1.called, State: ConnNull, Cause: CauseTransfer,
		Connections: c1.infos(), PrimaryCallID: c1.id, SecondaryCallID: c2.id,
	})
	m.mu.Unlock()
	sw.resaveLeg(cc.leg) // its record names the surviving call now
	sw.run([]action{l1.bye, l2.bye})
	return nil
}

// SingleStepTransfer moves the other party of station ext's call to dest
// in one step: ext is hung up at once, dest is rung with the other party's
// SDP, and when dest answers the other party is re-INVITEd with its answer.
func (sw *Switch) SingleStepTransfer(ctx context.Context, ext, callID, dest string) error {
	if _, err := sw.route(dest); err != nil {
		return err
	}
	c, cn, peer, err := sw.pair(ext, callID, ConnConnected, ConnHeld)
	if err != nil {
		return err
	}
	m := sw.model
	m.mu.Lock()
	if cn.gone || peer.gone {
		m.mu.Unlock()
		return fmt.Errorf("%w: a party left", ErrInvalidState)
	}
	cn.gone = true
	l := cn.leg
	_ = m.set(c, cn, ConnNull, EventTransferred, CauseSingleStepTransfer, func(e *Event) { e.PrimaryCallID = c.id })
	c.origin = peer
	c.inbound = nil
	c.offer = sdpWithDirection(peer.leg.sdp(), "sendrecv")
	m.mu.Unlock()
	sw.run([]action{l.bye})
	sw.spawn(func() { sw.deliver(c, dest, CauseSingleStepTransfer, 0) })
	return nil
}

// Deflect re-targets a call ringing at station ext to dest: the ringing
// INVITE is cancelled and dest is offered the caller's SDP.
func (sw *Switch) Deflect(ctx context.Context, ext, callID, dest string) error {
	if _, err := sw.route(dest); err != nil {
		return err
	}
	m := sw.model
	m.mu.Lock()
	c, cn, err := m.lookup(ext, callID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if cn.state != ConnAlerting || c.ringing != cn {
		st := cn.state
		m.mu.Unlock()
		return fmt.Errorf("%w: %s is %s in call %s, not alerting", ErrInvalidState, ext, st, callID)
	}
	cn.gone = true
	c.ringing = nil
	l := cn.leg
	_ = m.set(c, cn, ConnNull, EventDiverted, CauseDeflected, func(e *Event) { e.DivertedTo = dest })
	m.mu.Unlock()
	sw.spawn(func() {
		l.cancelPending()
		sw.forgetLeg(l)
		sw.deliver(c, dest, CauseDeflected, 0)
	})
	return nil
}

// GenerateDigits sends DTMF digits from station ext into call callID: one
// SIP INFO per digit to the other party, body application/dtmf-relay
// ("Signal=5\r\nDuration=160"), the de-facto format of Cisco and most PBXs.
func (sw *Switch) GenerateDigits(ctx context.Context, ext, callID, digits string) error {
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			return fmt.Errorf("%w: digit %q", ErrInvalidArgument, d)
		}
	}
	if digits == "" {
		return fmt.Errorf("%w: no digits", ErrInvalidArgument)
	}
	c, _, peer, err := sw.pair(ext, callID, ConnConnected)
	if err != nil {
		return err
	}
	for _, d := range digits {
		body := []byte(fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", d))
		if _, err := peer.leg.request(ctx, sip.INFO, "application/dtmf-relay", body); err != nil {
			return err
		}
	}
	m := sw.model
	m.mu.Lock()
	m.emit(c, EventDigits, ext, CauseNormal, func(e *Event) { e.Digits = digits })
	m.mu.Unlock()
	return nil
}

// SetForwarding switches one forwarding setting of station ext on or off.
// The switch applies it: immediate forwarding diverts before ringing, busy
// forwarding on a 486 from the phone, no-answer forwarding after
// Config.RingTimeout.
func (sw *Switch) SetForwarding(ext string, typ ForwardType, on bool, dest string) error {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.setForwarding(ext, Forwarding{Type: typ, On: on, Destination: dest})
}

// Forwarding returns station ext's forwarding settings.
func (sw *Switch) Forwarding(ext string) ([]Forwarding, error) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[ext]
	if d == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDevice, ext)
	}
	return m.forwardingOf(d), nil
}

// SetDND switches do-not-disturb of station ext: while on, calls to it
// fail with CauseDoNotDisturb and the caller gets 480.
func (sw *Switch) SetDND(ext string, on bool) error {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.setDND(ext, on)
}

// DND reports station ext's do-not-disturb setting.
func (sw *Switch) DND(ext string) (bool, error) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.isStation(ext) {
		return false, fmt.Errorf("%w: %q", ErrUnknownDevice, ext)
	}
	return m.dnd(ext), nil
}

// Snapshot returns station ext's calls and their connection states.
func (sw *Switch) Snapshot(ext string) ([]CallInfo, error) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snapshot(ext)
}
