package switching

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/station/state"
)

// Persistence (Config.Store): the switch writes through to the store what
// it must not forget across a restart — registrations (registrar.go),
// forwarding and DND (model.onFeatures) and confirmed call legs (saveLeg,
// dropLeg) — and reads it back in New. With a nil Store nothing is kept.

// staleCSeqGap is added to a recorded leg's CSeq for the BYE that clears
// it after a restart: re-INVITEs, INFOs and probes sent after the record
// raised the CSeq the device last saw, and a lower one gets 500
// (RFC 3261 §12.2.2). Initial CSeqs are below 2^16 (newLegCommon), so the
// sum stays far below 2^31 (RFC 3261 §8.1.1.5).
const staleCSeqGap = 1 << 20

// CodeStaleCallCleared is logged for each call leg recorded before a
// restart and cleared on its device with a BYE when the switch starts.
const CodeStaleCallCleared LogCode = "Cs_StaleCallCleared"

// CodeStateStoreFailed is logged when a write to or a read from
// Config.Store fails; the switch goes on with what it has in memory.
const CodeStateStoreFailed LogCode = "Cs_StateStoreFailed"

func (sw *Switch) storeFailed(err error, what string) {
	sw.log.Error().Err(err).Str("code", string(CodeStateStoreFailed)).Msg("state store: " + what)
}

// restoreState loads the store into the switch: bindings not yet expired
// (so a phone is reachable at once), forwarding and DND; it then records
// every feature change. Records of stations no longer configured and
// expired bindings are deleted.
func (sw *Switch) restoreState() {
	st := sw.cfg.Store
	if st == nil {
		return
	}
	now := sw.cfg.Clock.Now()
	regs, err := st.Registrations()
	if err != nil {
		sw.storeFailed(err, "reading registrations")
	}
	for _, r := range regs {
		var uri sip.Uri
		left := r.Expires.Sub(now)
		if sw.stationByExt(r.Extension) == nil || left <= 0 || sip.ParseUri(r.Contact, &uri) != nil {
			if err := st.DeleteRegistration(r.Extension); err != nil {
				sw.storeFailed(err, "deleting a registration")
			}
			continue
		}
		sw.reg.mu.Lock()
		sw.reg.putLocked(r.Extension, &binding{contact: uri, source: r.Source, transport: r.Transport, expires: r.Expires, path: r.Path}, left)
		sw.reg.mu.Unlock()
		sw.log.Info().Str("device", r.Extension).Str("contact", r.Contact).Dur("expires", left).Msg("registration restored")
	}
	feats, err := st.Features()
	if err != nil {
		sw.storeFailed(err, "reading features")
	}
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range feats {
		d := m.devices[f.Extension]
		if d == nil {
			continue
		}
		d.dnd = f.DND
		for _, fw := range f.Forwarding {
			if t, err := ParseForwardType(fw.Type); err == nil {
				d.forwarding[t] = Forwarding{Type: t, On: fw.On, Destination: fw.Destination}
			}
		}
	}
	m.onFeatures = sw.saveFeatures
}

// saveFeatures records dev's forwarding and DND; m.mu is held.
func (sw *Switch) saveFeatures(dev string, d *deviceState) {
	f := state.Features{Extension: dev, DND: d.dnd}
	for _, fw := range sw.model.forwardingOf(d) {
		f.Forwarding = append(f.Forwarding, state.Forward{Type: fw.Type.String(), On: fw.On, Destination: fw.Destination})
	}
	if err := sw.cfg.Store.PutFeatures(f); err != nil {
		sw.storeFailed(err, "recording features")
	}
}

// saveBinding and dropBinding record the registrar's changes.
func (sw *Switch) saveBinding(ext string, b *binding) {
	if sw.cfg.Store == nil {
		return
	}
	err := sw.cfg.Store.PutRegistration(state.Registration{Extension: ext, Contact: b.contact.String(),
		Source: b.source, Transport: b.transport, Expires: b.expires, Path: b.path})
	if err != nil {
		sw.storeFailed(err, "recording a registration")
	}
}

func (sw *Switch) dropBinding(ext string) {
	if sw.cfg.Store == nil {
		return
	}
	if err := sw.cfg.Store.DeleteRegistration(ext); err != nil {
		sw.storeFailed(err, "deleting a registration")
	}
}

// saveLeg records a leg that just got confirmed; l.mu is held.
func (sw *Switch) saveLeg(l *leg) {
	if sw.cfg.Store == nil {
		return
	}
	l.saved = true
	r := state.Leg{
		CallID: l.callID, Device: l.device, LocalTag: l.localTag, RemoteTag: l.remoteTag,
		LocalURI: l.localURI.String(), RemoteURI: l.remoteURI.String(), RemoteTarget: l.remoteTarget.String(),
		Routes: append([]string(nil), l.routes...), CSeq: l.cseq, Transport: l.transport, Dest: l.dest,
	}
	if sw.stationByExt(l.device) != nil && !l.peer {
		// A leg to or from another node is no station's: if this node
		// dies, that node ends its own side and tells its own monitors.
		r.Station = l.device
	}
	if ref, ok := l.callRef.Load().(string); ok {
		r.CallRef = ref
	}
	err := sw.cfg.Store.PutLeg(r)
	if err != nil {
		sw.storeFailed(err, "recording a call leg")
	}
}

// resaveLeg records l again if it is recorded: its call changed (transfer).
func (sw *Switch) resaveLeg(l *leg) {
	if sw.cfg.Store == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.saved {
		sw.saveLeg(l)
	}
}

// dropLeg forgets the record of a leg the switch forgets.
func (sw *Switch) dropLeg(l *leg) {
	if sw.cfg.Store == nil {
		return
	}
	l.mu.Lock()
	saved := l.saved
	l.saved = false
	l.mu.Unlock()
	if !saved {
		return
	}
	if err := sw.cfg.Store.DeleteLeg(l.callID); err != nil {
		sw.storeFailed(err, "deleting a call leg")
	}
}

// clearStaleLegs sends a BYE on every leg recorded before this start
// (calls a crash left up on the phones) and deletes the records. It runs
// once, from Serve, when the listeners receive the answers.
func (sw *Switch) clearStaleLegs() {
	st := sw.cfg.Store
	if st == nil {
		return
	}
	legs, err := st.Legs()
	if err != nil {
		sw.storeFailed(err, "reading call legs")
		return
	}
	if len(legs) > 0 && !sw.udpServing() {
		return // closed before the listener served
	}
	for _, r := range legs {
		if sw.legByCallID(r.CallID) != nil {
			continue // a leg of this run
		}
		sw.byeRecorded(r, CodeStaleCallCleared, "call left from before the restart cleared")
		if err := st.DeleteLeg(r.CallID); err != nil {
			sw.storeFailed(err, "deleting a call leg")
		}
	}
}

// byeRecorded sends a BYE in the dialog of a recorded leg r (one this
// switch no longer has: from before a restart, or of a dead node) with a
// CSeq far above the recorded one, and logs code with msg.
func (sw *Switch) byeRecorded(r state.Leg, code LogCode, msg string) {
	l := &leg{sw: sw, callID: r.CallID, device: r.Device, transport: strings.ToUpper(r.Transport), dest: r.Dest,
		localTag: r.LocalTag, remoteTag: r.RemoteTag, routes: r.Routes, cseq: r.CSeq + staleCSeqGap, confirmed: true}
	perr := sip.ParseUri(r.LocalURI, &l.localURI)
	if perr == nil {
		perr = sip.ParseUri(r.RemoteURI, &l.remoteURI)
	}
	if perr == nil {
		perr = sip.ParseUri(r.RemoteTarget, &l.remoteTarget)
	}
	ev := sw.log.Info()
	if perr != nil {
		ev = sw.log.Warn().Err(perr)
	} else {
		ctx, cancel := context.WithTimeout(sw.ctx, sip.Timer_F)
		_, err := l.request(ctx, sip.BYE, "", nil)
		cancel()
		if err != nil {
			ev = sw.log.Warn().Err(err) // the device is gone or knows the dialog no more (481)
		}
	}
	sw.refusals.inc(code)
	ev.Str("code", string(code)).Str("device", r.Device).Str("sip_call_id", clip(r.CallID)).
		Str("dest", r.Dest).Msg(msg)
}

// udpServing waits until sipgo serves our UDP listener, so that a request
// sent from it (leg.address sets Laddr) finds the socket instead of binding
// a second one; false if the switch closes first. This waits on a socket,
// not on model time, hence the real ticker.
func (sw *Switch) udpServing() bool {
	if sw.udpLaddr.Port == 0 {
		return true // no UDP listener: requests dial their own connections
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := sw.ua.TransportLayer().GetConnection("udp", sw.udpLaddr.String()); err == nil {
			return true
		}
		select {
		case <-sw.ctx.Done():
			return false
		case <-tick.C:
		}
	}
}
