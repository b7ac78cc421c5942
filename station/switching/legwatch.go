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
// device had sent BYE; no BYE is sent to the lost device.

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

// probe sends one OPTIONS on a confirmed leg and re-arms, or ends the leg.
func (sw *Switch) probe(l *leg) {
	if sw.legByCallID(l.callID) != l {
		return // forgotten: the call ended
	}
	confirmed, ended := l.state()
	if ended {
		return
	}
	if confirmed {
		if why, err := sw.ping(l); why != "" {
			if sw.ctx.Err() != nil {
				return // shutting down: Close clears the calls
			}
			if _, ended := l.state(); ended || sw.legByCallID(l.callID) != l {
				return // ended while we waited: not lost
			}
			sw.legLost(l, why, err)
			return
		}
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

// legLost logs, counts and clears a leg whose device is gone.
func (sw *Switch) legLost(l *leg, why string, err error) {
	sw.refusals.inc(CodePhoneLegLost)
	sw.log.Warn().Str("code", string(CodePhoneLegLost)).Str("reason", why).Str("device", l.device).
		Str("sip_call_id", l.callID).Str("peer", l.dest).Str("transport", l.transport).AnErr("error", err).
		Dur("probe_timeout", sw.cfg.LegProbeTimeout).
		Msg("call leg lost: the device did not answer the in-dialog OPTIONS probe; its connection is cleared")
	sw.legGone(l, CauseOutOfService)
}
