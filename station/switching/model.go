package switching

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
)

// call is one call in the call model: a set of connections (device × call).
// The exported view is CallInfo. The SIP driver hangs its legs on the
// connections; the model itself never touches the network, so it is unit
// tested with a fake clock.
type call struct {
	id              string
	calling, called string
	created         time.Time
	conns           []*connection

	// Driver state, guarded by model.mu.
	offer   []byte      // the calling side's SDP, offered to whoever is rung next
	timers  []Timer     // ring / no-answer timers, stopped when the call ends
	origin  *connection // the calling side, connected to whoever answers
	inbound *leg        // the caller's INVITE we are still answering (nil for 3pcc)
	// fromPeer: another node placed the call here (peers.go); it is
	// never sent on to a node again.
	fromPeer bool
	ringing  *connection // the connection being rung, if any
}

// connection is one device's part in a call.
type connection struct {
	device  string
	station bool
	state   ConnState
	leg     *leg // SIP dialog with the device (nil in unit tests)

	// Driver state, guarded by model.mu.
	gone        bool  // released by the switch; late SIP outcomes are ignored
	trunk       bool  // the party is reached through the trunk
	peer        bool  // the party is a station served by another node (peers.go)
	hops        int   // forwarding hops that led to this connection
	cancelCause Cause // why the switch cancelled the connection's INVITE
}

// CallInfo is a snapshot of one call as seen from one device.
type CallInfo struct {
	// CallID is the call's stable ID.
	CallID string
	// State is the asking device's connection state.
	State ConnState
	// Calling and Called are the calling and called device.
	Calling, Called string
	// Connections are all connections of the call.
	Connections []ConnectionInfo
}

// CallRef names one connection: a device in a call.
type CallRef struct {
	CallID string
	Device string
}

// transitions lists the connection state changes the model accepts
// (ECMA-269 §6.1.5 connection state model, reduced to the states we use).
var transitions = map[ConnState][]ConnState{
	ConnNull:      {ConnInitiated, ConnAlerting, ConnConnected, ConnFailed},
	ConnInitiated: {ConnConnected, ConnAlerting, ConnFailed, ConnNull},
	ConnAlerting:  {ConnConnected, ConnFailed, ConnNull},
	ConnConnected: {ConnHeld, ConnFailed, ConnNull},
	ConnHeld:      {ConnConnected, ConnNull},
	ConnFailed:    {ConnNull},
}

// validTransition reports whether a connection may go from one state to another.
func validTransition(from, to ConnState) bool {
	if from == to {
		return true
	}
	return slices.Contains(transitions[from], to)
}

// deviceState is what the switch keeps per station beyond its calls.
type deviceState struct {
	forwarding map[ForwardType]Forwarding
	dnd        bool
}

// model is the call model: calls, connections, device features, and the
// event publisher. All methods expect m.mu held unless named otherwise.
type model struct {
	mu      sync.Mutex
	clock   Clock
	pub     *publisher
	calls   map[string]*call
	devices map[string]*deviceState
	// onFeatures records a changed forwarding or DND (persist.go); nil: none.
	onFeatures func(dev string, d *deviceState)
	// spawn runs the call timers' work in goroutines the switch owns
	// (Switch.spawn); nil runs it in the timer's own callback (unit tests).
	spawn func(func())
}

func newModel(clock Clock, pub *publisher, stations []string) *model {
	m := &model{clock: clock, pub: pub, calls: map[string]*call{}, devices: map[string]*deviceState{}}
	for _, s := range stations {
		m.devices[s] = &deviceState{forwarding: map[ForwardType]Forwarding{}}
	}
	return m
}

// newCallID returns a random, unique, stable call ID.
func newCallID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *model) newCall(calling, called string) *call {
	c := &call{id: newCallID(), calling: calling, called: called, created: m.clock.Now()}
	m.calls[c.id] = c
	return c
}

func (m *model) isStation(dev string) bool {
	_, ok := m.devices[dev]
	return ok
}

// addConn adds a device to a call in the null state.
func (m *model) addConn(c *call, dev string) *connection {
	cn := &connection{device: dev, station: m.isStation(dev), state: ConnNull}
	c.conns = append(c.conns, cn)
	return cn
}

// conn returns dev's live connection in c.
func (c *call) conn(dev string) *connection {
	for _, cn := range c.conns {
		if cn.device == dev && cn.state != ConnNull {
			return cn
		}
	}
	return nil
}

// other returns the first live connection in c that is not cn.
func (c *call) other(cn *connection) *connection {
	for _, o := range c.conns {
		if o != cn && o.state != ConnNull {
			return o
		}
	}
	return nil
}

// live reports whether any connection of c is not null.
func (c *call) live() bool {
	for _, cn := range c.conns {
		if cn.state != ConnNull {
			return true
		}
	}
	return false
}

// lookup returns the live call id in which dev has a live connection.
func (m *model) lookup(dev, id string) (*call, *connection, error) {
	if !m.isStation(dev) {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownDevice, dev)
	}
	c := m.calls[id]
	if c == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownCall, id)
	}
	cn := c.conn(dev)
	if cn == nil {
		return nil, nil, fmt.Errorf("%w: %q has no connection in call %q", ErrUnknownCall, dev, id)
	}
	return c, cn, nil
}

// set moves cn to state st and publishes an event of type typ about subject
// to every station in the call (and to cn's device if it just left).
// extra, if not nil, fills event-specific fields.
func (m *model) set(c *call, cn *connection, st ConnState, typ EventType, cause Cause, extra func(*Event)) error {
	if !validTransition(cn.state, st) {
		return fmt.Errorf("%w: %s: %s -> %s", ErrInvalidState, cn.device, cn.state, st)
	}
	cn.state = st
	if typ != EventUnknown {
		m.emit(c, typ, cn.device, cause, extra)
	}
	if !c.live() {
		m.drop(c)
	}
	return nil
}

// emit publishes one event per station connection of c that is live or is
// the subject.
func (m *model) emit(c *call, typ EventType, subject string, cause Cause, extra func(*Event)) {
	now := m.clock.Now()
	infos := c.infos()
	sent := map[string]bool{}
	for _, cn := range c.conns {
		if !cn.station || sent[cn.device] {
			continue
		}
		if cn.state == ConnNull && cn.device != subject {
			continue
		}
		// A device with several connections (e.g. a call to itself) gets
		// the state of its live one.
		st := cn.state
		if live := c.conn(cn.device); live != nil {
			st = live.state
		}
		sent[cn.device] = true
		ev := Event{
			Type: typ, Time: now, Device: cn.device, CallID: c.id, Subject: subject,
			Calling: c.calling, Called: c.called, State: st, Cause: cause, Connections: infos,
		}
		if extra != nil {
			extra(&ev)
		}
		m.pub.publish(ev)
	}
}

func (c *call) infos() []ConnectionInfo {
	out := make([]ConnectionInfo, 0, len(c.conns))
	for _, cn := range c.conns {
		if cn.state == ConnNull {
			continue
		}
		out = append(out, ConnectionInfo{Device: cn.device, Station: cn.station, State: cn.state})
	}
	return out
}

// drop forgets a call whose connections are all null.
func (m *model) drop(c *call) {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	delete(m.calls, c.id)
}

// after arms a timer bound to the call's life; f runs with m.mu held and
// only if the call is still live.
func (m *model) after(c *call, d time.Duration, f func()) {
	fire := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.calls[c.id] != c {
			return
		}
		f()
	}
	t := m.clock.AfterFunc(d, func() {
		if m.spawn != nil {
			m.spawn(fire)
			return
		}
		fire()
	})
	c.timers = append(c.timers, t)
}

// callsOf returns dev's live calls, oldest first.
func (m *model) callsOf(dev string) []*call {
	var out []*call
	for _, c := range m.calls {
		if c.conn(dev) != nil {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *call) int { return a.created.Compare(b.created) })
	return out
}

// snapshot returns dev's calls.
func (m *model) snapshot(dev string) ([]CallInfo, error) {
	if !m.isStation(dev) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDevice, dev)
	}
	var out []CallInfo
	for _, c := range m.callsOf(dev) {
		out = append(out, CallInfo{
			CallID: c.id, State: c.conn(dev).state, Calling: c.calling, Called: c.called, Connections: c.infos(),
		})
	}
	return out, nil
}

// setForwarding changes one forwarding setting and publishes EventForwarding.
func (m *model) setForwarding(dev string, f Forwarding) error {
	d := m.devices[dev]
	if d == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDevice, dev)
	}
	switch f.Type {
	case ForwardImmediate, ForwardBusy, ForwardNoAnswer:
	default:
		return fmt.Errorf("%w: forward type %s", ErrInvalidArgument, f.Type)
	}
	if f.On && f.Destination == "" {
		return fmt.Errorf("%w: forwarding %s on without destination", ErrInvalidArgument, f.Type)
	}
	d.forwarding[f.Type] = f
	if m.onFeatures != nil {
		m.onFeatures(dev, d)
	}
	m.pub.publish(Event{Type: EventForwarding, Time: m.clock.Now(), Device: dev, Subject: dev, Forwarding: m.forwardingOf(d)})
	return nil
}

func (m *model) forwardingOf(d *deviceState) []Forwarding {
	var out []Forwarding
	for _, t := range []ForwardType{ForwardImmediate, ForwardBusy, ForwardNoAnswer} {
		if f, ok := d.forwarding[t]; ok {
			out = append(out, f)
		}
	}
	return out
}

// forwardTo returns dev's active forwarding destination of type t, if any.
func (m *model) forwardTo(dev string, t ForwardType) (string, bool) {
	d := m.devices[dev]
	if d == nil {
		return "", false
	}
	f, ok := d.forwarding[t]
	if !ok || !f.On {
		return "", false
	}
	return f.Destination, true
}

// setDND changes do-not-disturb and publishes EventDND.
func (m *model) setDND(dev string, on bool) error {
	d := m.devices[dev]
	if d == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDevice, dev)
	}
	d.dnd = on
	if m.onFeatures != nil {
		m.onFeatures(dev, d)
	}
	m.pub.publish(Event{Type: EventDND, Time: m.clock.Now(), Device: dev, Subject: dev, DND: on})
	return nil
}

func (m *model) dnd(dev string) bool {
	d := m.devices[dev]
	return d != nil && d.dnd
}
