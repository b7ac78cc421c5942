package switching

import (
	"maps"
	"slices"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/station/state"
)

// Shared state of a cluster: several switches (one per node) share the
// phones' registrations and the stations' features through Config.Store;
// the daemon's watch of the store hands other nodes' changes to the
// methods below, which change this switch's tables without writing back.

// CodeDeadNodeCallCleared is logged for each call leg of a dead node that
// this switch cleared on its device with a BYE.
const CodeDeadNodeCallCleared LogCode = "Cs_DeadNodeCallCleared"

// ApplyRegistration installs a phone's registration made through another
// node, so that this switch reaches the phone without it registering
// again. A record of an unknown station, already expired, or with a bad
// Contact is ignored. The binding expires like a local one; its record is
// the other node's to delete.
func (sw *Switch) ApplyRegistration(r state.Registration) {
	left := r.Expires.Sub(sw.cfg.Clock.Now())
	var uri sip.Uri
	if sw.stationByExt(r.Extension) == nil || left <= 0 || sip.ParseUri(r.Contact, &uri) != nil {
		sw.log.Debug().Str("device", r.Extension).Msg("registration from another node ignored")
		return
	}
	sw.reg.mu.Lock()
	sw.reg.putLocked(r.Extension, &binding{contact: uri, source: r.Source, transport: r.Transport,
		expires: r.Expires, path: slices.Clone(r.Path), remote: true}, left)
	sw.reg.mu.Unlock()
	sw.log.Debug().Str("device", r.Extension).Str("contact", clip(r.Contact)).Dur("expires", left).Msg("registered through another node")
}

// ApplyUnregistration forgets ext's binding after another node removed it
// (unREGISTER or expiry there). Calls of this switch with the phone go on
// until they end or the phone stops answering (legwatch.go).
func (sw *Switch) ApplyUnregistration(ext string) {
	sw.reg.drop(ext)
	sw.log.Debug().Str("device", ext).Msg("unregistered through another node")
}

// ApplyFeatures sets a station's forwarding and DND as another node
// recorded them, and tells this switch's subscribers what changed
// (EventForwarding, EventDND), as a change made here would.
func (sw *Switch) ApplyFeatures(f state.Features) {
	m := sw.model
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[f.Extension]
	if d == nil {
		return
	}
	fw := map[ForwardType]Forwarding{}
	for _, x := range f.Forwarding {
		if t, err := ParseForwardType(x.Type); err == nil {
			fw[t] = Forwarding{Type: t, On: x.On, Destination: x.Destination}
		}
	}
	now := m.clock.Now()
	if !maps.Equal(fw, d.forwarding) {
		d.forwarding = fw
		m.pub.publish(Event{Type: EventForwarding, Time: now, Device: f.Extension, Subject: f.Extension, Forwarding: m.forwardingOf(d)})
	}
	if f.DND != d.dnd {
		d.dnd = f.DND
		m.pub.publish(Event{Type: EventDND, Time: now, Device: f.Extension, Subject: f.Extension, DND: f.DND})
	}
}

// ForeignLeg is a call leg recorded by another node that died.
type ForeignLeg struct {
	Leg state.Leg
	// Bye: this switch ends the dialog on the device (one node does).
	Bye bool
}

// ClearForeignLegs clears the call legs of a dead node: each leg's
// station gets EventCleared for the leg's call (its monitors here report
// ConnectionCleared for the call reference the client saw), and the legs
// marked Bye get a BYE in their dialog (in the background; a device that
// hung up already answers 481).
func (sw *Switch) ClearForeignLegs(legs []ForeignLeg) {
	m := sw.model
	now := m.clock.Now()
	m.mu.Lock()
	sent := map[[2]string]bool{}
	for _, fl := range legs {
		r := fl.Leg
		key := [2]string{r.Station, r.CallRef}
		if r.Station == "" || r.CallRef == "" || sent[key] || !m.isStation(r.Station) || m.calls[r.CallRef] != nil {
			continue
		}
		sent[key] = true
		m.pub.publish(Event{Type: EventCleared, Time: now, Device: r.Station, CallID: r.CallRef, Subject: r.Station,
			State: ConnNull, Cause: CauseNormal})
	}
	m.mu.Unlock()
	for _, fl := range legs {
		if !fl.Bye {
			continue
		}
		r := fl.Leg
		sw.spawn(func() {
			if sw.udpServing() {
				sw.byeRecorded(r, CodeDeadNodeCallCleared, "call of a dead node cleared")
			}
		})
	}
}
