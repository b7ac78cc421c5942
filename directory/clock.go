package directory

import (
	"math/rand/v2"
	"time"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// Clock is the time source of the cache's refresh loop (the project's one
// clock abstraction); tests inject a fake.
type Clock = clock.Clock

// Timer is a timer started by Clock.NewTimer.
type Timer = clock.ChanTimer

// backoff gives the waits between retries after failed loads: min, then
// doubling up to max, each reduced by a random 0-20% so that many servers
// restarted together do not hit the DC in step.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur - time.Duration(rand.Float64()*0.2*float64(b.cur))
}

func (b *backoff) reset() { b.cur = 0 }
