package switching

import "github.com/rccserver/rccserver/rccserver/clock"

// Clock is the switch's source of time and timers (Config.Clock), the
// project's one clock abstraction, injected so that the call model can be
// tested without waiting.
type Clock = clock.Clock

// Timer is a timer started by Clock.AfterFunc.
type Timer = clock.Timer

// SystemClock is the Clock of the real world.
type SystemClock = clock.System
