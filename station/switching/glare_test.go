package switching

import (
	"testing"
	"time"
)

// TestGlareWait: the 491 retry waits RFC 3261 §14.1's ranges in 10 ms units.
func TestGlareWait(t *testing.T) {
	for _, tc := range []struct {
		owner    bool
		min, max time.Duration
	}{
		{true, 2100 * time.Millisecond, 4 * time.Second},
		{false, 0, 2 * time.Second},
	} {
		for range 1000 {
			d := glareWait(tc.owner)
			if d < tc.min || d > tc.max || d%(10*time.Millisecond) != 0 {
				t.Fatalf("owner=%v: %v outside [%v, %v] in 10 ms units", tc.owner, d, tc.min, tc.max)
			}
		}
	}
}
