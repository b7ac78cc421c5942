package callcontrol

import (
	"fmt"
	"github.com/rccserver/rccserver/rccserver"
	"sync"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/station/switching"
)

// lineHub fans the switch's events for one station out to every monitor
// on it: one user signed in from two endpoints has two sessions, and both
// see every event (docs/protocol.md "Monitors and events").
type lineHub struct {
	svc  *Service
	ext  string
	sub  *switching.Subscription
	mu   sync.Mutex
	mons map[string]monitor // cross-ref ID -> monitor
	done chan struct{}
	// calls are the calls this line is in, as its events said; a resync
	// clears on the monitors the ones the switch no longer has.
	calls map[string]bool
}

type monitor struct {
	sess   *rccserver.Session
	device string // as the client wrote it in MonitorStart: echoed byte-exact
}

func (svc *Service) monitorStart(s *rccserver.Session, l line, m *csta.MonitorStart) (csta.Message, error) {
	if !owns(s, l, m.MonitorObject) {
		return nil, privilege(m.MonitorObject)
	}
	xref := newCrossRefID()
	if err := svc.attach(s, l, xref, m.MonitorObject); err != nil {
		return nil, err
	}
	s.AddMonitor(xref, m.MonitorObject)
	s.Log().Info().Str("monitor", xref).Str("device", m.MonitorObject).Msg("monitor started")
	return &csta.MonitorStartResponse{MonitorCrossRefID: xref}, nil
}

// attach puts monitor xref of s on its line's fan-out, subscribing to the
// switch for the line's first monitor; the monitor leaves with the session.
func (svc *Service) attach(s *rccserver.Session, l line, xref, device string) error {
	svc.mu.Lock()
	hub := svc.hubs[l.ext]
	if hub == nil {
		sub, err := svc.sw.Subscribe(l.ext)
		if err != nil {
			svc.mu.Unlock()
			return switchError(err)
		}
		hub = &lineHub{svc: svc, ext: l.ext, sub: sub, mons: map[string]monitor{}, done: make(chan struct{}), calls: map[string]bool{}}
		svc.hubs[l.ext] = hub
		svc.hubsRunning.Go(hub.run) // Close waits for it
	}
	hub.mu.Lock()
	hub.mons[xref] = monitor{sess: s, device: device}
	hub.mu.Unlock()
	svc.mu.Unlock()
	s.OnEnd(func(error) { svc.dropMonitor(l.ext, xref) })
	return nil
}

var _ rccserver.Adopter = (*Service)(nil)

// Adopted implements rccserver.Adopter: the monitors of a session adopted
// from a dead node start again on this node's switch with the cross-ref
// IDs the client knows (docs/cluster.md "Session adoption"). A monitor of
// a device that is not the session's line is refused, as MonitorStart
// would refuse it.
func (svc *Service) Adopted(s *rccserver.Session) error {
	mons := s.Monitors()
	if len(mons) == 0 {
		return nil
	}
	l, err := svc.lineOf(s)
	if err != nil {
		return fmt.Errorf("monitors on a session without a line: %w", err)
	}
	for xref, device := range mons {
		if !owns(s, l, device) {
			return fmt.Errorf("monitor %s: device %q is not the session's line", xref, device)
		}
		if err := svc.attach(s, l, xref, device); err != nil {
			return fmt.Errorf("monitor %s: %w", xref, err)
		}
		s.Log().Info().Str("monitor", xref).Str("device", device).Msg("monitor restarted (adopted session)")
	}
	return nil
}

func (svc *Service) monitorStop(s *rccserver.Session, m *csta.MonitorStop) (csta.Message, error) {
	if !s.RemoveMonitor(m.MonitorCrossRefID) {
		return nil, &rccserver.RequestError{Code: rccserver.CodePrivilegeViolation, Answer: csta.OperationError(csta.OpInvalidMonitorCrossRefID),
			Err: fmt.Errorf("monitor %q is not this session's", m.MonitorCrossRefID)}
	}
	l, _ := svc.lineOf(s)
	svc.dropMonitor(l.ext, m.MonitorCrossRefID)
	s.Log().Info().Str("monitor", m.MonitorCrossRefID).Msg("monitor stopped")
	return &csta.MonitorStopResponse{}, nil
}

// dropMonitor removes a monitor; the last one on a line ends its subscription.
func (svc *Service) dropMonitor(ext, xref string) {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	hub := svc.hubs[ext]
	if hub == nil {
		return
	}
	hub.mu.Lock()
	delete(hub.mons, xref)
	empty := len(hub.mons) == 0
	hub.mu.Unlock()
	if empty {
		delete(svc.hubs, ext)
		hub.sub.Close()
	}
}

// Close ends every subscription (at shutdown) and waits for the lines'
// fan-out goroutines, which end when their subscription's channel closes.
func (svc *Service) Close() {
	svc.mu.Lock()
	for ext, hub := range svc.hubs {
		hub.sub.Close()
		delete(svc.hubs, ext)
	}
	svc.mu.Unlock()
	svc.hubsRunning.Wait()
}

func (h *lineHub) run() {
	for ev := range h.sub.Events() {
		if ev.Type == switching.EventResync {
			h.resync()
			continue
		}
		if ev.CallID != "" {
			if ev.State == switching.ConnNull {
				delete(h.calls, ev.CallID)
			} else {
				h.calls[ev.CallID] = true
			}
		}
		h.fanOut(ev)
	}
}

// fanOut sends the CSTA events of ev to every monitor of the line.
func (h *lineHub) fanOut(ev switching.Event) {
	h.mu.Lock()
	mons := make([]struct {
		xref string
		m    monitor
	}, 0, len(h.mons))
	for x, m := range h.mons {
		mons = append(mons, struct {
			xref string
			m    monitor
		}{x, m})
	}
	h.mu.Unlock()
	for _, t := range mons {
		for _, msg := range h.svc.cstaEvents(ev, t.xref, t.m.device) {
			if err := t.m.sess.Send(msg); err != nil {
				t.m.sess.Log().Warn().Err(err).Str("code", string(rccserver.CodeEventNotDelivered)).Str("event", msg.Root()).Msg("event not queued")
			}
		}
	}
}

// resync follows events the switch dropped for this slow line (its queue
// was full): the switch's snapshot is the truth, and every call the
// monitors were told of that it no longer has is cleared on them, so no
// ghost call stays in a client's window. Calls that began meanwhile show
// from their next event on; SnapshotDevice gives their state at once.
func (h *lineHub) resync() {
	h.svc.resyncs.Add(1)
	calls, err := h.svc.sw.Snapshot(h.ext)
	if err != nil {
		h.svc.log.Warn().Err(err).Str("code", string(CodeEventsResynced)).Str("device", h.ext).Msg("events dropped; snapshot failed")
		return
	}
	live := map[string]bool{}
	for _, c := range calls {
		live[c.CallID] = true
	}
	var cleared []string
	for id := range h.calls {
		if !live[id] {
			cleared = append(cleared, id)
			delete(h.calls, id)
			h.fanOut(switching.Event{Type: switching.EventCleared, Device: h.ext, CallID: id, Subject: h.ext,
				State: switching.ConnNull, Cause: switching.CauseNormal})
		}
	}
	h.svc.log.Warn().Str("code", string(CodeEventsResynced)).Str("device", h.ext).Strs("cleared", cleared).
		Msg("events dropped for a slow line: resynchronised from the switch's snapshot")
}

// snapshot answers SnapshotDevice inline (docs/protocol.md "Snapshot"): one entry per
// call, the line's own connection state first.
func (svc *Service) snapshot(s *rccserver.Session, l line, device string) (csta.Message, error) {
	if !owns(s, l, device) {
		return nil, privilege(device)
	}
	calls, err := svc.sw.Snapshot(l.ext)
	if err != nil {
		return nil, switchError(err)
	}
	data := &csta.SnapshotData{}
	for _, c := range calls {
		states := []csta.LocalConnectionState{localState(c.State)}
		for _, conn := range c.Connections {
			if conn.Device != l.ext {
				states = append(states, localState(conn.State))
			}
		}
		data.Items = append(data.Items, csta.SnapshotDeviceResponseInfo{
			ConnectionIdentifier: csta.ConnectionID{CallID: c.CallID, DeviceID: device},
			LocalCallState:       csta.LocalCallState{Compound: states},
		})
	}
	return &csta.SnapshotDeviceResponse{SnapshotData: data}, nil
}

func localState(s switching.ConnState) csta.LocalConnectionState {
	switch s {
	case switching.ConnNull:
		return csta.LCSNull
	case switching.ConnInitiated:
		return csta.LCSInitiated
	case switching.ConnAlerting:
		return csta.LCSAlerting
	case switching.ConnConnected:
		return csta.LCSConnected
	case switching.ConnHeld:
		return csta.LCSHold
	case switching.ConnFailed:
		return csta.LCSFail
	}
	return csta.LCSNull
}
