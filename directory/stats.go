package directory

import (
	"sync/atomic"
	"time"
)

// Stats describes the cache for metrics and health checks.
type Stats struct {
	// Syncs counts successful loads from the source (start, periodic, Reload).
	Syncs uint64
	// Failures counts failed loads.
	Failures uint64
	// Refused counts refreshes refused because they returned no users or
	// far fewer than the directory had (CodeEmpty, CodeShrunk).
	Refused uint64
	// Entries is the number of users the directory answers for now.
	Entries int
	// Skipped is the number of objects the last load left out (see Skip).
	Skipped int
	// Pages is the number of LDAP pages the last load fetched.
	Pages int
	// Loaded is when the current data was loaded from the source (for data
	// from a snapshot: when the snapshot was written). Zero before Start.
	Loaded time.Time
	// FromSnapshot reports that the current data came from the snapshot
	// file because the source was unreachable at start.
	FromSnapshot bool
	// Stale reports that the last load failed: the data is older than it
	// should be and retries are under way.
	Stale bool
	// LastError is the error of the last failed load, "" once a load
	// succeeds.
	LastError string
}

// counters are the cache's atomic counters.
type counters struct {
	syncs    atomic.Uint64
	failures atomic.Uint64
	refused  atomic.Uint64
	lastErr  atomic.Pointer[string]
}
