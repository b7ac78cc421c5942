package switching

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"
)

// Leg watching: a device that vanishes mid-call (power lost, crashed,
// network gone) sends no BYE, and its registration may outlive the call by
// an hour. Every confirmed leg is therefore probed with an in-dialog
// OPTIONS (RFC 3261 §11; in a dialog it also proves the dialog still exists)
// every Config.LegProbeInterval. The leg is lost when the probe gets no
// answer within Config.LegProbeTimeout (UDP retransmits inside it, RFC 3261
// §17.1.2.2), fails on the transport, or is answered 481 or 408, which end
// the dialog (RFC 5057 §5.1). Any other answer, even 405 or 501, proves the
// device is there. A lost leg's connection is cleared with
// CauseOutOfService and the rest of a two-party call released, as if the
// device had sent BYE; no BYE is sent to the lost device. A leg whose
// INVITE of ours is still ringing is probed with an OPTIONS outside the
// dialog; when it is lost the INVITE is given up (no CANCEL) and the call
// fails with CauseUnreachable.

// watch arms the first probe of leg l. Probing runs while the leg is in
// Switch.legs and not ended; the timer's work runs as a goroutine owned by
// the switch (spawn), so Close waits for it.
func (sw *Switch) watch(l *leg) {
	if sw.cfg.LegProbeInterval <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	if l.probe != nil {
		l.probe.Stop()
	}
	l.probe = sw.cfg.Clock.AfterFunc(sw.cfg.LegProbeInterval, func() { sw.spawn(func() { sw.probe(l) }) })
}

// unwatch stops the probe timer of a leg the switch forgets.
func (l *leg) unwatch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.probe != nil {
		l.probe.Stop()
		l.probe = nil
	}
}

// errLegLost marks an INVITE given up because its device stopped answering.
var errLegLost = errors.New("the device stopped answering")

// probe sends one OPTIONS on a confirmed leg, or on a leg whose INVITE
// of ours is still ringing, and re-arms, or ends the leg.
func (sw *Switch) probe(l *leg) {
	if sw.legByCallID(l.callID) != l {
		return // forgotten: the call ended
	}
	l.mu.Lock()
	confirmed, ended := l.confirmed, l.ended
	ringing := l.uac && !confirmed && !ended && l.abandonInvite != nil
	l.mu.Unlock()
	if ended {
		return
	}
	var why string
	var err error
	switch {
	case confirmed:
		why, err = sw.ping(l)
	case ringing:
		why, err = sw.pingRinging(l)
	}
	if why != "" {
		if sw.ctx.Err() != nil {
			return // shutting down: Close clears the calls
		}
		nowConfirmed, ended := l.state()
		if ended || sw.legByCallID(l.callID) != l {
			return // ended while we waited: not lost
		}
		switch {
		case confirmed:
			sw.legLost(l, why, err)
			return
		case !nowConfirmed:
			sw.ringingLost(l, why, err)
			return
		}
		// Answered while the probe waited: the device is there.
	}
	sw.watch(l)
}

// ping sends the OPTIONS; it returns why the leg is lost, or "".
func (sw *Switch) ping(l *leg) (string, error) {
	ctx, cancel := context.WithTimeout(sw.ctx, sw.cfg.LegProbeTimeout)
	defer cancel()
	res, err := l.request(ctx, sip.OPTIONS, "", nil, sip.NewHeader("Accept", "application/sdp"))
	switch {
	case res != nil && (res.StatusCode == sip.StatusCallTransactionDoesNotExists || res.StatusCode == sip.StatusRequestTimeout):
		return "dialog_gone", err
	case res != nil:
		return "", nil
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout):
		return "no_answer", err
	default:
		return "transport_error", err
	}
}

// pingRinging probes the device of a ringing leg: the early dialog may
// not be one the device accepts requests in, so the OPTIONS goes outside
// any dialog (RFC 3261 §11) to the leg's remote target on its transport.
// Any answer proves the device is there.
func (sw *Switch) pingRinging(l *leg) (string, error) {
	l.mu.Lock()
	target, local := l.remoteTarget, l.localURI
	l.mu.Unlock()
	req := sip.NewRequest(sip.OPTIONS, target)
	from := &sip.FromHeader{Address: local}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: target})
	cid := sip.CallIDHeader(newCallID() + newCallID() + "@" + sw.cfg.Domain)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.AppendHeader(sip.NewHeader("User-Agent", sw.cfg.UserAgent))
	req.SetBody(nil)
	l.address(req)
	ctx, cancel := context.WithTimeout(sw.ctx, sw.cfg.LegProbeTimeout)
	defer cancel()
	if _, err := sw.transact(ctx, req, nil); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
			return "no_answer", err
		}
		return "transport_error", err
	}
	return "", nil
}

// ringingLost gives up a ringing INVITE whose device is gone: no CANCEL
// (nobody would answer it); the call fails as unreachable (EventFailed,
// CauseUnreachable) through the INVITE's own error path.
func (sw *Switch) ringingLost(l *leg, why string, err error) {
	m := sw.model
	m.mu.Lock()
	if cn := l.conn; cn != nil && cn.leg == l && !cn.gone {
		cn.cancelCause = CauseUnreachable
	}
	m.mu.Unlock()
	l.mu.Lock()
	abandon := !l.confirmed && !l.ended && l.abandonInvite != nil
	if abandon {
		l.ended = true
		l.abandonInvite()
	}
	l.mu.Unlock()
	if !abandon {
		return
	}
	sw.refusals.inc(CodePhoneLegLost)
	sw.log.Warn().Str("code", string(CodePhoneLegLost)).Str("reason", why).Bool("ringing", true).Str("device", l.device).
		Str("sip_call_id", l.callID).Str("peer", l.dest).Str("transport", l.transport).AnErr("error", err).
		Dur("probe_timeout", sw.cfg.LegProbeTimeout).
		Msg("ringing device lost: it did not answer the OPTIONS probe; the call fails as unreachable")
}

// legLost logs, counts and clears a leg whose device is gone.
func (sw *Switch) legLost(l *leg, why string, err error) {
	sw.refusals.inc(CodePhoneLegLost)
	sw.log.Warn().Str("code", string(CodePhoneLegLost)).Str("reason", why).Str("device", l.device).
		Str("sip_call_id", l.callID).Str("peer", l.dest).Str("transport", l.transport).AnErr("error", err).
		Dur("probe_timeout", sw.cfg.LegProbeTimeout).
		Msg("call leg lost: the device did not answer the in-dialog OPTIONS probe; its connection is cleared")
	sw.legGone(l, CauseOutOfService)
}
