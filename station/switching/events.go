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
// Dropped; the subscriber should then resynchronise with Switch.Snapshot.
type Subscription struct {
	device  string
	ch      chan Event
	dropped atomic.Uint64
	pub     *publisher
	once    sync.Once
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
	s := &Subscription{device: device, ch: make(chan Event, p.qlen), pub: p}
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
			select {
			case s.ch <- ev:
			default:
				s.dropped.Add(1)
				p.dropped.Add(1)
			}
		}
		if ev.Device == "" {
			break
		}
	}
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
