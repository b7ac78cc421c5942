package clock

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

var start = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func TestFakeAfterFuncOrderAndStop(t *testing.T) {
	c := NewFake(start)
	var got []int
	c.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	c.AfterFunc(time.Second, func() { got = append(got, 1) })
	stopped := c.AfterFunc(time.Second, func() { got = append(got, -1) })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true, then false")
	}
	c.Advance(999 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	c.Advance(1001 * time.Millisecond)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("fired %v, want [1 2]", got)
	}
	if c.Timers() != 0 || !c.Now().Equal(start.Add(2*time.Second)) {
		t.Fatalf("timers %d, now %v", c.Timers(), c.Now())
	}
}

func TestFakeNewTimerReset(t *testing.T) {
	c := NewFake(start)
	tm := c.NewTimer(time.Second)
	if a := c.Armed(); len(a) != 1 || a[0] != time.Second {
		t.Fatalf("Armed = %v", a)
	}
	if !tm.Reset(3 * time.Second) {
		t.Fatal("Reset of an armed timer reported inactive")
	}
	c.Advance(2 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired before the reset duration")
	default:
	}
	c.Advance(time.Second)
	select {
	case now := <-tm.C():
		if !now.Equal(start.Add(3 * time.Second)) {
			t.Fatalf("sent %v", now)
		}
	default:
		t.Fatal("did not fire")
	}
}

// TestSleep: Sleep on the fake clock returns when the test advances it past
// the wait (WaitTimers, no polling), and with the cause when ctx ends.
func TestSleep(t *testing.T) {
	c := NewFake(start)
	done := make(chan error, 1)
	go func() { done <- Sleep(t.Context(), c, time.Second) }()
	if !c.WaitTimers(t.Context(), 1) {
		t.Fatal("Sleep armed no timer")
	}
	c.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Sleep: %v", err)
	}

	go func() { done <- Sleep(t.Context(), c, 3*time.Second) }()
	if !c.WaitArmed(t.Context(), 3*time.Second) {
		t.Fatal("Sleep armed no 3s timer")
	}
	c.Advance(3 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Sleep: %v", err)
	}

	cause := errors.New("stopped")
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() { done <- Sleep(ctx, c, time.Hour) }()
	if !c.WaitTimers(t.Context(), 1) {
		t.Fatal("Sleep armed no timer")
	}
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Fatalf("Sleep after cancel: %v, want %v", err, cause)
	}
	if c.Timers() != 0 {
		t.Fatal("Sleep left its timer armed")
	}
}

// TestSystemSleep runs Sleep on the real clock in a synctest bubble, where
// time only moves when every goroutine is blocked.
func TestSystemSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := time.Now()
		if err := Sleep(t.Context(), System{}, 2100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(before); d != 2100*time.Millisecond {
			t.Fatalf("slept %v", d)
		}
		fired := make(chan struct{})
		System{}.AfterFunc(time.Second, func() { close(fired) })
		<-fired
	})
}
