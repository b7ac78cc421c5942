//go:build !rccstages

package rccserver

import "time"

// stagesOn is false without the rccstages build tag: no stage timestamps
// on the event path (stages_on.go).
const stagesOn = false

// stageTimes takes no room in an outbound without the tag.
type stageTimes struct{}

func (*stageTimes) mark(time.Time) {}

func recordStages(*outbound, time.Time) {}

func writeStages() {}
