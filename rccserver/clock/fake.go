package clock

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock for tests: its time moves only with Advance, which fires
// the timers that became due: AfterFunc functions run synchronously in
// Advance, NewTimer timers get the time on their channel. Tests that need
// to know when the code under test armed a timer use WaitTimers instead of
// polling.
type Fake struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a timer is armed
	now     time.Time
	timers  map[*fakeTimer]struct{}
	seq     uint64
}

// NewFake returns a Fake clock whose time is start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{}), timers: map[*fakeTimer]struct{}{}}
}

type fakeTimer struct {
	c   *Fake
	at  time.Time
	d   time.Duration  // the duration it was armed with
	seq uint64         // arming order, for timers due at the same time
	f   func()         // AfterFunc
	ch  chan time.Time // NewTimer
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer that runs f in Advance once d passed.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	return c.arm(&fakeTimer{c: c, f: f}, d)
}

// NewTimer arms a timer that sends the fake time on C once d passed.
func (c *Fake) NewTimer(d time.Duration) ChanTimer {
	return c.arm(&fakeTimer{c: c, ch: make(chan time.Time, 1)}, d)
}

func (c *Fake) arm(t *fakeTimer, d time.Duration) *fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.at, t.d = c.now.Add(d), d
	c.seq++
	t.seq = c.seq
	c.timers[t] = struct{}{}
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	delete(t.c.timers, t)
	return active
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	active := t.Stop()
	t.c.arm(t, d)
	return active
}

// Timers returns how many timers are armed.
func (c *Fake) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Armed returns the durations the armed timers were armed with.
func (c *Fake) Armed() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(c.timers))
	for t := range c.timers {
		out = append(out, t.d)
	}
	return out
}

// WaitTimers blocks until at least n timers are armed or ctx ends; it
// reports whether the timers are there.
func (c *Fake) WaitTimers(ctx context.Context, n int) bool {
	return c.wait(ctx, func() bool { return len(c.timers) >= n })
}

// WaitArmed blocks until a timer armed with duration d is armed or ctx
// ends; it reports whether there is one.
func (c *Fake) WaitArmed(ctx context.Context, d time.Duration) bool {
	return c.wait(ctx, func() bool {
		for t := range c.timers {
			if t.d == d {
				return true
			}
		}
		return false
	})
}

// wait blocks until ok, called with c.mu held, is true or ctx ends.
func (c *Fake) wait(ctx context.Context, ok func() bool) bool {
	for {
		c.mu.Lock()
		done, changed := ok(), c.changed
		c.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// Advance moves the fake time forward by d and fires the timers that
// became due, in the order of their due times.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	var due []*fakeTimer
	for t := range c.timers {
		if !t.at.After(now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	sortByDue(due)
	for _, t := range due {
		if t.f != nil {
			t.f()
			continue
		}
		select {
		case t.ch <- now:
		default:
		}
	}
}

// sortByDue orders timers by due time, then by when they were armed.
func sortByDue(ts []*fakeTimer) {
	slices.SortFunc(ts, func(a, b *fakeTimer) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}
