package api

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/station/switching"
)

// Event is one call or station event as the stream and the page see it.
// Digits of GenerateDigits are left out: they may be PINs.
type Event struct {
	// ID increases by one per event in this server's run; the SSE id.
	ID uint64 `json:"id"`
	// Type is the switch's event type ("delivered", "cleared", …), or
	// "overflow" when the switch dropped events before the API saw them.
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Station string    `json:"station,omitempty"`
	CallID  string    `json:"call_id,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Calling string    `json:"calling,omitempty"`
	Called  string    `json:"called,omitempty"`
	// State is Station's connection state in the call after the event.
	State       string       `json:"state,omitempty"`
	Cause       string       `json:"cause,omitempty"`
	Connections []Connection `json:"connections,omitempty"`
	DivertedTo  string       `json:"diverted_to,omitempty"`
	Primary     string       `json:"primary_call_id,omitempty"`
	Secondary   string       `json:"secondary_call_id,omitempty"`
	DND         *bool        `json:"dnd,omitempty"`
	Forwarding  []Forwarding `json:"forwarding,omitempty"`
	Dropped     uint64       `json:"dropped,omitempty"`
}

// Connection is one party of a call.
type Connection struct {
	Device  string `json:"device"`
	Station bool   `json:"station"`
	State   string `json:"state"`
}

// Forwarding is one forwarding setting of a station.
type Forwarding struct {
	Type        string `json:"type"`
	On          bool   `json:"on"`
	Destination string `json:"destination,omitempty"`
}

const eventOverflow = "overflow"

func fromSwitch(ev switching.Event) Event {
	e := Event{Type: ev.Type.String(), Time: ev.Time.UTC(), Station: ev.Device, CallID: ev.CallID, Subject: ev.Subject,
		Calling: ev.Calling, Called: ev.Called, Cause: ev.Cause.String(), DivertedTo: ev.DivertedTo,
		Primary: ev.PrimaryCallID, Secondary: ev.SecondaryCallID}
	if ev.CallID != "" {
		e.State = ev.State.String()
	}
	for _, c := range ev.Connections {
		e.Connections = append(e.Connections, Connection{Device: c.Device, Station: c.Station, State: c.State.String()})
	}
	switch ev.Type {
	case switching.EventDND:
		on := ev.DND
		e.DND = &on
	case switching.EventForwarding:
		e.Forwarding = forwardings(ev.Forwarding)
	}
	return e
}

func forwardings(fs []switching.Forwarding) []Forwarding {
	out := []Forwarding{}
	for _, f := range fs {
		out = append(out, Forwarding{Type: f.Type.String(), On: f.On, Destination: f.Destination})
	}
	return out
}

// ring is the bounded window of recent events. Consumers read from it at
// their own pace; one that falls behind by more than the window is told so
// (reset) instead of slowing the others. wake is closed and replaced on
// every append, so waiting consumers need no per-consumer queue.
type ring struct {
	mu     sync.Mutex
	buf    []Event
	next   uint64 // ID of the next event; the first is 1
	wake   chan struct{}
	closed bool
}

func newRing(size int) *ring {
	return &ring{buf: make([]Event, size), next: 1, wake: make(chan struct{})}
}

func (r *ring) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.ID = r.next
	r.buf[e.ID%uint64(len(r.buf))] = e
	r.next++
	close(r.wake)
	r.wake = make(chan struct{})
}

// oldestLocked is the ID of the oldest event still held.
func (r *ring) oldestLocked() uint64 {
	if n := uint64(len(r.buf)); r.next > n {
		return r.next - n
	}
	return 1
}

// since returns the events after ID after; gap reports that some of them
// are no longer held (or after is from another run), in which case the
// events start at the oldest held. wake is closed by the next add; done by close.
func (r *ring) since(after uint64) (evs []Event, gap bool, wake <-chan struct{}, done bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := after + 1
	if after >= r.next {
		gap, from = true, r.oldestLocked()
	} else if oldest := r.oldestLocked(); from < oldest {
		gap, from = true, oldest
	}
	for id := from; id < r.next; id++ {
		evs = append(evs, r.buf[id%uint64(len(r.buf))])
	}
	return evs, gap, r.wake, r.closed
}

// last is the ID of the newest event, 0 if none.
func (r *ring) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next - 1
}

func (r *ring) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.wake)
	}
}

// feed copies the switch-wide subscription into the ring until it closes.
// The switch drops events for a full subscription queue; the loss is put in
// the stream as an overflow event so consumers resynchronise.
func feed(sub *switching.Subscription, r *ring, log zerolog.Logger, now func() time.Time) {
	var seen uint64
	for ev := range sub.Events() {
		if d := sub.Dropped(); d > seen {
			log.Warn().Uint64("dropped", d-seen).Msg("switch dropped events before the API stream")
			r.add(Event{Type: eventOverflow, Time: now().UTC(), Dropped: d - seen})
			seen = d
		}
		if ev.Type == switching.EventDigits {
			continue
		}
		r.add(fromSwitch(ev))
	}
}
