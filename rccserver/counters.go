package rccserver

import (
	"maps"
	"sync"
	"sync/atomic"
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
