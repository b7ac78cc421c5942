package main

import (
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/rccserver/clock"
	"github.com/rccserver/rccserver/station/cluster"
)

type fakeLease struct {
	mu sync.Mutex
	s  cluster.LeaseState
}

func (f *fakeLease) State() cluster.LeaseState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

func (f *fakeLease) set(s cluster.LeaseState) {
	f.mu.Lock()
	f.s = s
	f.mu.Unlock()
}

// TestPauseGuard: an unconfirmed lease lets the node act while its ticks
// come on time (etcd without quorum), not after a pause longer than a
// renewal period, until the lease is confirmed again; a lost lease never.
func TestPauseGuard(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	lease := &fakeLease{s: cluster.LeaseHealthy}
	g := newPauseGuard(lease, 6*time.Second, clk) // gap 2 s
	if !g.acting() {
		t.Fatal("healthy: not acting")
	}
	lease.set(cluster.LeaseUnconfirmed)
	for range 10 { // etcd out of reach, the process runs: ticks every 0.5 s
		clk.Advance(500 * time.Millisecond)
		g.tick()
	}
	if !g.acting() {
		t.Fatal("unconfirmed without a pause: not acting")
	}
	clk.Advance(7 * time.Second) // SIGSTOP past the TTL; the ticker has not run yet
	if g.acting() {
		t.Fatal("acting just after a pause")
	}
	g.tick()
	if g.acting() {
		t.Fatal("acting after a pause, once the ticker ran")
	}
	lease.set(cluster.LeaseHealthy) // etcd renewed the lease after the pause
	if !g.acting() {
		t.Fatal("healthy again: not acting")
	}
	lease.set(cluster.LeaseUnconfirmed)
	if !g.acting() {
		t.Fatal("unconfirmed after a renewal that followed the pause: not acting")
	}
	// A pause noticed by the ticker first.
	clk.Advance(3 * time.Second)
	g.tick()
	clk.Advance(100 * time.Millisecond)
	if g.acting() {
		t.Fatal("acting after a pause the ticker noticed")
	}
	lease.set(cluster.LeaseLost)
	if g.acting() {
		t.Fatal("lost: acting")
	}
}
