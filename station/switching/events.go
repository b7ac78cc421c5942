package switching

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one state change, delivered to the subscribers of Device. One
// change in a call produces one Event per station in the call, each with
// that station's own connection State.
type Event struct {
	// Type is what happened.
	Type EventType
	// Seq is a switch-wide sequence number (increasing in publication order).
	Seq uint64
	// Time is when the switch saw the change (Config.Clock).
	Time time.Time
	// Device is the station this copy of the event is for (the monitored device).
	Device string
	// CallID is the call's stable ID: the same in every event of the call.
	// Empty for device events (EventForwarding, EventDND).
	CallID string
	// Subject is the device the event is about: the answering device of
	// EventEstablished, the clearing device of EventCleared, the holding
	// device of EventHeld, the transferring device of EventTransferred,
	// the diverting device of EventDiverted.
	Subject string
	// Calling and Called are the call's calling and (currently) called device.
	Calling, Called string
	// State is Device's connection state in CallID after the event
	// (ConnNull when it has left the call).
	State ConnState
	// Cause says why.
	Cause Cause
	// Connections are all connections of the call after the event.
	Connections []ConnectionInfo
	// PrimaryCallID and SecondaryCallID are the two calls joined by
	// EventTransferred (held call and consultation call); CallID is the call
	// that survives.
	PrimaryCallID, SecondaryCallID string
	// DivertedTo is the new destination of EventDiverted.
	DivertedTo string
	// Forwarding is Device's forwarding after EventForwarding.
	Forwarding []Forwarding
	// DND is Device's do-not-disturb after EventDND.
	DND bool
	// Digits are the digits of EventDigits.
	Digits string
}

// ConnectionInfo is one connection in a call snapshot or event.
type ConnectionInfo struct {
	// Device is the station extension, or the outside number for trunk parties.
	Device string
	// Station reports whether Device is a station of this switch.
	Station bool
	// State is the connection state.
	State ConnState
}

// Forwarding is one forwarding setting of a device.
type Forwarding struct {
	Type        ForwardType
	On          bool
	Destination string
}

// Subscription receives the events of one device (or of every device).
//
// Delivery never blocks the switch: each subscription has a bounded queue
// (Config.EventQueue). When it is full the event is dropped and counted in
// Dropped and in Switch.DroppedEvents, and one EventResync marker is queued
// after the events that made it (the queue keeps a slot for it): on that
// marker the subscriber takes a Switch.Snapshot. Further drops before the
// next event gets through are covered by the same marker.
type Subscription struct {
	device  string
	ch      chan Event
	dropped atomic.Uint64
	pub     *publisher
	once    sync.Once
	// resyncQueued: an EventResync is queued and no event came after it;
	// guarded by pub.mu.
	resyncQueued bool
}

// Events returns the channel the events arrive on. It is closed by Close
// and when the switch shuts down.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Device returns the subscribed device ("" for all devices).
func (s *Subscription) Device() string { return s.device }

// Dropped returns how many events were lost because the queue was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes the Events channel.
func (s *Subscription) Close() {
	s.once.Do(func() { s.pub.remove(s) })
}

// publisher fans events out to subscriptions without blocking.
type publisher struct {
	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{} // device ("" = all) -> subscriptions
	seq    uint64
	qlen   int
	closed bool
	// dropped counts all dropped events, for logs and metrics.
	dropped atomic.Uint64
}

func newPublisher(qlen int) *publisher {
	return &publisher{subs: map[string]map[*Subscription]struct{}{}, qlen: qlen}
}

func (p *publisher) add(device string) (*Subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	// One slot more than qlen for the EventResync marker.
	s := &Subscription{device: device, ch: make(chan Event, p.qlen+1), pub: p}
	m := p.subs[device]
	if m == nil {
		m = map[*Subscription]struct{}{}
		p.subs[device] = m
	}
	m[s] = struct{}{}
	return s, nil
}

func (p *publisher) remove(s *Subscription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.subs[s.device]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			close(s.ch)
		}
	}
}

// publish stamps ev with a sequence number and offers it to the device's
// subscribers and to the all-devices subscribers, dropping on a full queue.
func (p *publisher) publish(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.seq++
	ev.Seq = p.seq
	for _, dev := range [2]string{ev.Device, ""} {
		for s := range p.subs[dev] {
			p.offer(s, ev)
		}
		if ev.Device == "" {
			break
		}
	}
}

// offer queues ev for s, or drops it and queues an EventResync marker.
// Only publish sends, under p.mu, so len(s.ch) can only shrink meanwhile:
// events take at most qlen slots and the marker the one left.
func (p *publisher) offer(s *Subscription, ev Event) {
	if len(s.ch) < p.qlen {
		s.ch <- ev
		s.resyncQueued = false
		return
	}
	s.dropped.Add(1)
	p.dropped.Add(1)
	if s.resyncQueued {
		return
	}
	s.ch <- Event{Type: EventResync, Seq: ev.Seq, Time: ev.Time, Device: s.device}
	s.resyncQueued = true
}

func (p *publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, m := range p.subs {
		for s := range m {
			close(s.ch)
		}
	}
	p.subs = nil
}
