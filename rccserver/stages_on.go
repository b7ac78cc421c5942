//go:build rccstages

package rccserver

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// Built with -tags rccstages, the event writer records, for each event
// INFO, how long its CSTA encode took, how long it waited in its session's
// queue (behind other INFOs, or for room in the window) and how long its
// write took, and the server writes their percentiles to $RCC_STAGES_FILE
// when it stops (docs/performance.md, "Event latency"). Without the tag
// none of this is compiled in.
const stagesOn = true

// stageTimes is when Send began encoding an event and when it queued it.
type stageTimes struct{ encoding, queued time.Time }

func (st *stageTimes) mark(began time.Time) { st.encoding, st.queued = began, time.Now() }

var stageRec struct {
	mu                    sync.Mutex
	encode, queued, write []time.Duration
}

func recordStages(m *outbound, written time.Time) {
	stageRec.mu.Lock()
	stageRec.encode = append(stageRec.encode, m.stages.queued.Sub(m.stages.encoding))
	stageRec.queued = append(stageRec.queued, m.sent.Sub(m.stages.queued))
	stageRec.write = append(stageRec.write, written.Sub(m.sent))
	stageRec.mu.Unlock()
}

func writeStages() {
	path := os.Getenv("RCC_STAGES_FILE")
	if path == "" {
		return
	}
	stageRec.mu.Lock()
	defer stageRec.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "stage\tn\tp50_us\tp90_us\tp99_us\tmax_us\n")
	for _, st := range []struct {
		name string
		d    []time.Duration
	}{{"encode", stageRec.encode}, {"queued", stageRec.queued}, {"write", stageRec.write}} {
		d := slices.Clone(st.d)
		if len(d) == 0 {
			continue
		}
		slices.Sort(d)
		q := func(p float64) int64 { return d[int(p*float64(len(d)-1))].Microseconds() }
		fmt.Fprintf(f, "%s\t%d\t%d\t%d\t%d\t%d\n", st.name, len(d), q(0.5), q(0.9), q(0.99), d[len(d)-1].Microseconds())
	}
}
