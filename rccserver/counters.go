package rccserver

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// counters is a set of named monotonic counters, created on first use.
type counters struct{ m sync.Map } // string -> *atomic.Int64

func (c *counters) inc(key string) {
	v, ok := c.m.Load(key)
	if !ok {
		v, _ = c.m.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

func (c *counters) snapshot() map[string]int64 {
	out := map[string]int64{}
	c.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return maps.Clone(out)
}

// RequestKey is the key of Stats.Requests: the CSTA request's root element
// and the result ("ok", "csta_error", "bad_request").
type RequestKey struct{ Request, Result string }

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histograms (Stats.RequestLatency, Stats.EventLatency).
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// latency is a fixed-bucket histogram safe for concurrent use.
type latency struct {
	counts [13]atomic.Uint64 // one per bucket, the last is +Inf
	count  atomic.Uint64
	sumNs  atomic.Int64
}

func (h *latency) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sumNs.Add(int64(d))
}

// Histogram is a latency histogram: cumulative counts per bucket of
// LatencyBuckets (upper bound in seconds), as Prometheus wants them.
type Histogram struct {
	Count      uint64
	SumSeconds float64
	Buckets    map[float64]uint64
}

func (h *latency) snapshot() Histogram {
	out := Histogram{Count: h.count.Load(), SumSeconds: time.Duration(h.sumNs.Load()).Seconds(), Buckets: map[float64]uint64{}}
	var cum uint64
	for i, ub := range LatencyBuckets {
		cum += h.counts[i].Load()
		out.Buckets[ub] = cum
	}
	return out
}
