package switching

import (
	"time"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// newFakeClock is the tests' Clock: time moves only with Advance, which
// runs due AfterFunc timers synchronously.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
}
