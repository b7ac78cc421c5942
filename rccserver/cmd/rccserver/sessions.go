package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/clock"
	"github.com/rccserver/rccserver/station/cluster"
)

// Session records and adoption in the daemon (docs/cluster.md "Session
// adoption"): rccserver writes its records through sessionStore, the
// cluster watch hands a dead node's records to adoptDead, and pauseGuard
// keeps a node resumed after its lease expired silent.

// sessionStore is rccserver.SessionStore over the cluster node: records
// under session/<call-id> with the node's lease.
type sessionStore struct{ node *cluster.Node }

var _ rccserver.SessionStore = sessionStore{}

func (s sessionStore) Save(ctx context.Context, rec rccserver.SessionRecord) error {
	rec.Node = s.node.ID()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.node.PutSession(ctx, rec.CallID, b)
}

func (s sessionStore) Remove(ctx context.Context, callID string) error {
	return s.node.DeleteSession(ctx, callID)
}

func (s sessionStore) Elsewhere(ctx context.Context, callID string) (bool, error) {
	node, ok, err := s.node.SessionHolder(ctx, callID)
	return ok && node != s.node.ID(), err
}

// adoptWorkers bounds the adoptions run at once for one dead node: each is
// a few etcd requests and a directory lookup; the watch waits for all
// before it clears the dead node's calls.
const adoptWorkers = 8

// adoptTimeout bounds one adoption.
const adoptTimeout = 10 * time.Second

// adopter adopts the sessions of dead nodes; metrics count them.
type adopter struct {
	node *cluster.Node
	rcc  *rccserver.Server
	log  zerolog.Logger
}

// adoptDead is the cluster watch's OnDeadSessions hook: every record of the
// dead node is claimed (one node wins each) and adopted. It returns when
// all are done, so that the dead node's calls are cleared after (C1's leg hook).
func (a *adopter) adoptDead(node string, recs []cluster.DeadRecord) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, adoptWorkers)
	var adopted, lost, failed atomic.Int64
	for _, r := range recs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			switch a.adoptOne(node, r) {
			case nil:
				adopted.Add(1)
			case errClaimLost:
				lost.Add(1)
			default:
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	a.log.Info().Str("dead_node", node).Int("records", len(recs)).Int64("adopted", adopted.Load()).
		Int64("adopted_elsewhere", lost.Load()).Int64("failed", failed.Load()).Msg("dead node's sessions handled")
}

var errClaimLost = errors.New("another node claimed the session")

func (a *adopter) adoptOne(node string, r cluster.DeadRecord) error {
	log := a.log.With().Str("dead_node", node).Logger()
	var rec rccserver.SessionRecord
	if err := json.Unmarshal(r.Value, &rec); err != nil || rec.CallID != r.Key {
		if err == nil {
			err = errors.New("the record's call_id is not its key")
		}
		log.Warn().Err(err).Str("code", string(rccserver.CodeAdoptionFailed)).Msg("dead node's session record undecodable")
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), adoptTimeout)
	defer cancel()
	claim := rec
	claim.Node = a.node.ID()
	val, _ := json.Marshal(claim)
	won, err := a.node.ClaimSession(ctx, rec.CallID, val)
	if err != nil {
		log.Warn().Err(err).Str("code", string(rccserver.CodeAdoptionFailed)).Str("call_id", rec.CallID).Msg("session record not claimed")
		return err
	}
	if !won {
		log.Debug().Str("call_id", rec.CallID).Msg("dead node's session claimed by another node")
		return errClaimLost
	}
	if _, err := a.rcc.Adopt(ctx, rec); err != nil {
		// Nobody else adopts it (they lost the claim): let the client's
		// next request get its 481 without waiting, and sign in again.
		_ = a.node.DeleteSession(ctx, rec.CallID)
		return err
	}
	return nil
}

// pauseGuard tells whether the node may send in its sessions (rccserver
// Options.Acting). A healthy lease: yes. A lost one: no. An unconfirmed
// one: yes if etcd is only unreachable (quorum loss: nobody can take the
// sessions over, docs/cluster.md "Several nodes: the design"), no if this process was
// paused (SIGSTOP, a frozen VM) longer than a renewal period — its lease
// may have expired and its sessions been adopted while it slept — until
// etcd confirms the lease again or reports it lost.
type pauseGuard struct {
	node    interface{ State() cluster.LeaseState }
	clk     clock.Clock
	gap     time.Duration // a tick later than this means the process was paused
	last    atomic.Int64  // UnixNano of the last tick
	suspect atomic.Bool
}

func newPauseGuard(node interface{ State() cluster.LeaseState }, ttl time.Duration, clk clock.Clock) *pauseGuard {
	g := &pauseGuard{node: node, clk: clk, gap: ttl / 3}
	g.last.Store(clk.Now().UnixNano())
	return g
}

// run ticks until ctx ends; a late tick marks a pause.
func (g *pauseGuard) run(ctx context.Context) {
	for clock.Sleep(ctx, g.clk, g.gap/4) == nil {
		g.tick()
	}
}

func (g *pauseGuard) tick() {
	now := g.clk.Now().UnixNano()
	if time.Duration(now-g.last.Swap(now)) > g.gap {
		g.suspect.Store(true)
	}
}

func (g *pauseGuard) acting() bool {
	if time.Duration(g.clk.Now().UnixNano()-g.last.Load()) > g.gap {
		g.suspect.Store(true) // the ticker has not run: paused just now
	}
	switch g.node.State() {
	case cluster.LeaseHealthy:
		g.suspect.Store(false)
		return true
	case cluster.LeaseLost:
		return false
	default:
		return !g.suspect.Load()
	}
}

// leaseTTL is the configured lease TTL (station/cluster's default when unset).
func leaseTTL(f fileCluster) time.Duration {
	if f.LeaseTTL > 0 {
		return time.Duration(f.LeaseTTL) * time.Second
	}
	return 6 * time.Second
}

// sessionOptions sets the rccserver options of a cluster node: session
// records, the wait for an adoption (lease TTL + 2 s), the acting gate.
func (d *daemon) sessionOptions(o *rccserver.Options) {
	if d.own == nil {
		return
	}
	ttl := leaseTTL(d.cfg.file.Cluster)
	d.pause = newPauseGuard(d.own.node, ttl, clock.System{})
	o.Sessions = sessionStore{node: d.own.node}
	o.AdoptWait = ttl + 2*time.Second
	o.Acting = d.pause.acting
}

// registerAdoption hooks adoption into the cluster watch (before it starts).
func (d *daemon) registerAdoption() {
	if d.own == nil {
		return
	}
	a := &adopter{node: d.own.node, rcc: d.rcc, log: d.log.With().Str("component", "cluster").Logger()}
	d.own.node.OnDeadSessions(a.adoptDead)
}

// dropSessions drops every session without a BYE when the lease is lost:
// another node may have adopted them (their records went with the lease).
func dropSessions(sessions []*rccserver.Session, reason error) int {
	for _, s := range sessions {
		s.Abandon(fmt.Errorf("%w: %w", rccserver.ErrClosedByServer, reason))
	}
	return len(sessions)
}
