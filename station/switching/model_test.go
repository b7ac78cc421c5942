package switching

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidTransition(t *testing.T) {
	for _, tc := range []struct {
		from, to ConnState
		ok       bool
	}{
		{ConnNull, ConnInitiated, true},
		{ConnNull, ConnAlerting, true},
		{ConnInitiated, ConnConnected, true},
		{ConnAlerting, ConnConnected, true},
		{ConnAlerting, ConnHeld, false},
		{ConnConnected, ConnHeld, true},
		{ConnHeld, ConnConnected, true},
		{ConnHeld, ConnFailed, false},
		{ConnFailed, ConnConnected, false},
		{ConnFailed, ConnNull, true},
		{ConnConnected, ConnConnected, true},
		{ConnNull, ConnHeld, false},
	} {
		if got := validTransition(tc.from, tc.to); got != tc.ok {
			t.Errorf("validTransition(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

// step is one change applied to the model in a table test.
type step struct {
	dev   string
	state ConnState
	typ   EventType
	cause Cause
}

// got is the part of an Event the tables compare.
type got struct {
	Device  string
	Type    EventType
	Subject string
	State   ConnState
}

func TestModelEventSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		steps   []step
		want    []got
		wantErr bool
		live    bool // the call is still in the model at the end
	}{{
		name: "make call answered and cleared",
		steps: []step{
			{"1010", ConnInitiated, EventInitiated, CauseMakeCall},
			{"1010", ConnConnected, EventOriginated, CauseMakeCall},
			{"1020", ConnAlerting, EventDelivered, CauseMakeCall},
			{"1020", ConnConnected, EventEstablished, CauseNormal},
			{"1010", ConnNull, EventCleared, CauseNormal},
			{"1020", ConnNull, EventCleared, CauseNormal},
		},
		want: []got{
			{"1010", EventInitiated, "1010", ConnInitiated},
			{"1010", EventOriginated, "1010", ConnConnected},
			{"1010", EventDelivered, "1020", ConnConnected},
			{"1020", EventDelivered, "1020", ConnAlerting},
			{"1010", EventEstablished, "1020", ConnConnected},
			{"1020", EventEstablished, "1020", ConnConnected},
			{"1010", EventCleared, "1010", ConnNull},
			{"1020", EventCleared, "1010", ConnConnected},
			{"1020", EventCleared, "1020", ConnNull},
		},
	}, {
		name: "hold and retrieve",
		steps: []step{
			{"1010", ConnConnected, EventOriginated, CauseNewCall},
			{"1020", ConnConnected, EventEstablished, CauseNormal},
			{"1010", ConnHeld, EventHeld, CauseNormal},
			{"1010", ConnConnected, EventRetrieved, CauseNormal},
		},
		want: []got{
			{"1010", EventOriginated, "1010", ConnConnected},
			{"1010", EventEstablished, "1020", ConnConnected},
			{"1020", EventEstablished, "1020", ConnConnected},
			{"1010", EventHeld, "1010", ConnHeld},
			{"1020", EventHeld, "1010", ConnConnected},
			{"1010", EventRetrieved, "1010", ConnConnected},
			{"1020", EventRetrieved, "1010", ConnConnected},
		},
		live: true,
	}, {
		name: "failed then cleared",
		steps: []step{
			{"1010", ConnConnected, EventOriginated, CauseNewCall},
			{"1020", ConnFailed, EventFailed, CauseBusy},
			{"1020", ConnNull, EventUnknown, CauseBusy},
			{"1010", ConnNull, EventCleared, CauseBusy},
		},
		want: []got{
			{"1010", EventOriginated, "1010", ConnConnected},
			{"1010", EventFailed, "1020", ConnConnected},
			{"1020", EventFailed, "1020", ConnFailed},
			{"1010", EventCleared, "1010", ConnNull},
		},
	}, {
		name: "hold while alerting is refused",
		steps: []step{
			{"1020", ConnAlerting, EventDelivered, CauseNewCall},
			{"1020", ConnHeld, EventHeld, CauseNormal},
		},
		want:    []got{{"1020", EventDelivered, "1020", ConnAlerting}},
		wantErr: true,
		live:    true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			pub := newPublisher(64)
			m := newModel(clock, pub, []string{"1010", "1020"})
			s10, _ := pub.add("1010")
			s20, _ := pub.add("1020")
			c := m.newCall("1010", "1020")
			conns := map[string]*connection{"1010": m.addConn(c, "1010"), "1020": m.addConn(c, "1020")}
			var err error
			for _, s := range tc.steps {
				if err = m.set(c, conns[s.dev], s.state, s.typ, s.cause, nil); err != nil {
					break
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidState) {
				t.Errorf("err = %v, want ErrInvalidState", err)
			}
			var evs []got
			var seq []uint64
			for _, s := range []*Subscription{s10, s20} {
				for len(s.ch) > 0 {
					ev := <-s.ch
					if ev.CallID != c.id || !ev.Time.Equal(clock.Now()) {
						t.Errorf("event %+v: wrong call ID or time", ev)
					}
					evs = append(evs, got{ev.Device, ev.Type, ev.Subject, ev.State})
					seq = append(seq, ev.Seq)
				}
			}
			// Order the two devices' events by publication order.
			order := make([]got, len(evs))
			idx := make([]int, len(evs))
			for i := range idx {
				idx[i] = i
			}
			for i := range idx {
				for j := i + 1; j < len(idx); j++ {
					if seq[idx[j]] < seq[idx[i]] {
						idx[i], idx[j] = idx[j], idx[i]
					}
				}
			}
			for i, k := range idx {
				order[i] = evs[k]
			}
			if diff := cmp.Diff(tc.want, order); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if _, ok := m.calls[c.id]; ok != tc.live {
				t.Errorf("call live = %v, want %v", ok, tc.live)
			}
		})
	}
}

func TestModelTimersFollowTheCall(t *testing.T) {
	clock := newFakeClock()
	m := newModel(clock, newPublisher(8), []string{"1010"})
	c := m.newCall("1010", "1020")
	cn := m.addConn(c, "1010")
	_ = m.set(c, cn, ConnAlerting, EventDelivered, CauseNewCall, nil)
	fired := 0
	m.after(c, 15*time.Second, func() { fired++ })
	clock.Advance(14 * time.Second)
	if fired != 0 {
		t.Fatalf("timer fired early")
	}
	clock.Advance(time.Second)
	if fired != 1 {
		t.Fatalf("timer did not fire at its deadline")
	}
	m.after(c, time.Second, func() { fired++ })
	_ = m.set(c, cn, ConnNull, EventCleared, CauseNormal, nil) // call ends: timers stop
	clock.Advance(time.Minute)
	if fired != 1 {
		t.Fatalf("timer of an ended call fired")
	}
}

func TestSubscriberOverflowDropsAndCounts(t *testing.T) {
	pub := newPublisher(2)
	s, _ := pub.add("1010")
	all, _ := pub.add("")
	for i := 0; i < 5; i++ {
		pub.publish(Event{Type: EventDND, Device: "1010"})
	}
	if len(s.ch) != 3 || s.Dropped() != 3 || all.Dropped() != 3 || pub.dropped.Load() != 6 {
		t.Fatalf("queued %d dropped %d/%d total %d", len(s.ch), s.Dropped(), all.Dropped(), pub.dropped.Load())
	}
	// Two events, then one marker for the three drops, carrying the first
	// dropped Seq and the subscription's device.
	for _, tc := range []struct {
		sub    *Subscription
		device string
	}{{s, "1010"}, {all, ""}} {
		got := drain(tc.sub)
		if len(got) != 3 || got[0].Type != EventDND || got[1].Type != EventDND ||
			got[2].Type != EventResync || got[2].Seq != 3 || got[2].Device != tc.device {
			t.Fatalf("subscription %q got %+v", tc.device, got)
		}
	}
	// After the marker an event gets through; a new overflow queues a new marker.
	for i := 0; i < 4; i++ {
		pub.publish(Event{Type: EventDND, Device: "1010"})
	}
	got := drain(s)
	if len(got) != 3 || got[2].Type != EventResync || got[2].Seq != 8 || s.Dropped() != 5 {
		t.Fatalf("second overflow: %+v, dropped %d", got, s.Dropped())
	}
	pub.publish(Event{Type: EventDND, Device: "1010"})
	s.Close()
	s.Close()
	pub.publish(Event{Type: EventDND, Device: "1010"})
	if _, ok := <-s.Events(); !ok {
		t.Fatalf("queued events lost on Close")
	}
	if _, ok := <-s.Events(); ok {
		t.Fatalf("event after Close")
	}
	pub.close()
	if _, err := pub.add("1010"); !errors.Is(err, ErrClosed) {
		t.Fatalf("add after close = %v", err)
	}
}

// drain returns the events queued on s.
func drain(s *Subscription) []Event {
	var out []Event
	for len(s.ch) > 0 {
		out = append(out, <-s.ch)
	}
	return out
}

func TestFeaturesValidation(t *testing.T) {
	m := newModel(newFakeClock(), newPublisher(8), []string{"1010"})
	for _, tc := range []struct {
		dev  string
		f    Forwarding
		want error
	}{
		{"1010", Forwarding{Type: ForwardImmediate, On: true, Destination: "1020"}, nil},
		{"1010", Forwarding{Type: ForwardBusy, On: true}, ErrInvalidArgument},
		{"1010", Forwarding{Type: ForwardUnknown, On: true, Destination: "1"}, ErrInvalidArgument},
		{"9999", Forwarding{Type: ForwardNoAnswer, On: true, Destination: "1"}, ErrUnknownDevice},
	} {
		if err := m.setForwarding(tc.dev, tc.f); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("setForwarding(%s, %+v) = %v, want %v", tc.dev, tc.f, err, tc.want)
		}
	}
	if to, ok := m.forwardTo("1010", ForwardImmediate); !ok || to != "1020" {
		t.Errorf("forwardTo = %q, %v", to, ok)
	}
	if err := m.setDND("9999", true); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("setDND(unknown) = %v", err)
	}
	if _, err := m.snapshot("9999"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("snapshot(unknown) = %v", err)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := ConnUnknown; s <= ConnFailed; s++ {
		if p, err := ParseConnState(s.String()); err != nil || p != s {
			t.Errorf("ConnState %d round trip: %v %v", s, p, err)
		}
	}
	for c := CauseUnknown; c <= CauseOutOfService; c++ {
		if p, err := ParseCause(c.String()); err != nil || p != c {
			t.Errorf("Cause %d round trip: %v %v", c, p, err)
		}
	}
	for e := EventUnknown; e <= EventDigits; e++ {
		if p, err := ParseEventType(e.String()); err != nil || p != e {
			t.Errorf("EventType %d round trip: %v %v", e, p, err)
		}
	}
	for a := AnswerUnknown; a <= AnswerNone; a++ {
		if p, err := ParseAnswerMethod(a.String()); err != nil || p != a {
			t.Errorf("AnswerMethod %d round trip: %v %v", a, p, err)
		}
	}
	for f := ForwardUnknown; f <= ForwardNoAnswer; f++ {
		if p, err := ParseForwardType(f.String()); err != nil || p != f {
			t.Errorf("ForwardType %d round trip: %v %v", f, p, err)
		}
	}
	if _, err := ParseAnswerMethod("telepathy"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ParseAnswerMethod(bad) = %v", err)
	}
	if m, _ := ParseAnswerMethod("Talk"); m != AnswerTalkEvent {
		t.Errorf("alias talk = %v", m)
	}
	if s := ConnState(99).String(); !strings.Contains(s, "99") {
		t.Errorf("out of range String = %q", s)
	}
}

func TestSDP(t *testing.T) {
	offer := []byte("v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n")
	var o sdpOrigin
	o.sess = 42
	a := o.stamp(offer)
	if !strings.Contains(string(a), "o=rccserver 42 0 IN IP4 10.0.0.1\r\n") {
		t.Fatalf("stamp = %q", a)
	}
	if b := o.stamp(offer); !strings.Contains(string(b), " 42 0 ") {
		t.Errorf("unchanged body bumped the version: %q", b)
	}
	held := sdpWithDirection(offer, "sendonly")
	if c := o.stamp(held); !strings.Contains(string(c), " 42 1 ") {
		t.Errorf("changed body kept the version: %q", c)
	}
	if sdpDirection(held) != "sendonly" || !sdpHeld(held) || sdpHeld(offer) {
		t.Errorf("direction of %q = %s", held, sdpDirection(held))
	}
	if strings.Count(string(held), "a=sendonly") != 1 || strings.Contains(string(held), "a=sendrecv") {
		t.Errorf("direction rewrite = %q", held)
	}
	bh := string(sdpBlackHole(offer))
	if !strings.Contains(bh, "c=IN IP4 0.0.0.0") || !strings.Contains(bh, "a=inactive") || !strings.Contains(bh, "m=audio 4000") {
		t.Errorf("black hole = %q", bh)
	}
}
