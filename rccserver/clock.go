package rccserver

import (
	"time"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// Clock is the part of the project's clock (rccserver/clock) that session
// timers use, injected so tests can drive expiry and keep-alive without
// waiting. clock.System and clock.Fake satisfy it.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a stoppable one-shot timer, as returned by time.AfterFunc.
type Timer = clock.Timer

// SystemClock is the real clock.
type SystemClock = clock.System
