// Package clock is the one source of time and timers of rccserver: the
// Clock interface, the real clock (System), a Fake for tests, and Sleep,
// which waits on a Clock and gives up when its context ends.
//
// It lives under rccserver/ next to sipedge because the top-level layout is
// fixed and every layer must be able to import it: rccserver, station (which
// knows no Lync and may import only rccserver's leaf packages) and directory
// (which knows no SIP or CSTA). It therefore imports the standard library
// only, which rccserver/deps_test.go checks.
package clock

import (
	"context"
	"time"
)

// Clock is a source of time and timers, injected so that timer-driven code
// can be tested without waiting. A package that needs less may declare the
// subset it uses (e.g. Now and AfterFunc); System and Fake satisfy it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d (Fake: synchronously
	// in Advance).
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a timer that sends the time on its C once after d.
	NewTimer(d time.Duration) ChanTimer
}

// Timer is the part of *time.Timer that callers of AfterFunc use.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it stopped it.
	Stop() bool
	// Reset makes the timer fire after d; it reports whether it was active.
	Reset(d time.Duration) bool
}

// ChanTimer is a Timer that delivers on a channel (NewTimer).
type ChanTimer interface {
	Timer
	// C is the channel the time is sent on.
	C() <-chan time.Time
}

// System is the Clock of the real world.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (System) AfterFunc(d time.Duration, f func()) Timer {
	return systemTimer{t: time.AfterFunc(d, f)}
}

// NewTimer wraps time.NewTimer.
func (System) NewTimer(d time.Duration) ChanTimer { return systemTimer{t: time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time        { return s.t.C }
func (s systemTimer) Stop() bool                 { return s.t.Stop() }
func (s systemTimer) Reset(d time.Duration) bool { return s.t.Reset(d) }

// Sleep waits d on c. It returns nil when d passed and the context's cause
// when ctx ended first.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if d <= 0 {
		return nil
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
