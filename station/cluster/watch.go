package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rccserver/rccserver/rccserver/clock"
	"github.com/rccserver/rccserver/station/state"
)

// Change is a registration or a station's features written by another
// node, for the local switch to apply.
type Change struct {
	Kind ChangeKind
	// Ext is the station's extension.
	Ext string
	// Registration is set for ChangeRegistration, Features for ChangeFeatures.
	Registration state.Registration
	Features     state.Features
}

// DeadRecord is one record of a dead node as it was when etcd deleted it
// with the node's lease.
type DeadRecord struct {
	// Key is the record's key after its kind: the Call-ID of session/<call-id>.
	Key   string
	Value []byte
}

// DeadLeg is a call leg of a dead node.
type DeadLeg struct {
	state.Leg
	// Bye: this node won the claim to end the leg on its device (one node
	// sends the BYE); every node reports the leg cleared to its monitors.
	Bye bool
}

// OnDeadSessions registers f. For each dead node seen by the watch, every
// session hook gets the node's session/<call-id> records, and all of them
// have returned before any leg hook is called for that node (sessions are
// adopted before their calls are cleared). Hooks run in the watch
// goroutine, one at a time: they must return within a bounded time.
func (n *Node) OnDeadSessions(f func(node string, sessions []DeadRecord)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sessionHooks = append(n.sessionHooks, f)
}

// OnDeadLegs registers f: it gets the dead node's call legs, after the
// session hooks. See OnDeadSessions.
func (n *Node) OnDeadLegs(f func(node string, legs []DeadLeg)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.legHooks = append(n.legHooks, f)
}

// wroteAt remembers the revision of this node's latest write to a shared
// key (reg/, feature/: one per station, so the map is bounded): the watch
// drops older changes of others to it (they arrive after ours when the
// watch lags).
func (n *Node) wroteAt(key string, rev int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if rev > n.written[key] {
		n.written[key] = rev
	}
}

// forgetWrites drops the writes the watch has passed (revision <= rev):
// every later change of those keys is newer, so the record of our write is
// no longer needed and the map stays as small as the writes in flight.
func (n *Node) forgetWrites(rev int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, r := range n.written {
		if r <= rev {
			delete(n.written, k)
		}
	}
}

// stale reports whether a change of key at rev is older than our last write.
func (n *Node) stale(key string, rev int64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return rev < n.written[key]
}

// watchRetry is the pause before watching again after the watch ended
// (etcd without a leader, a member gone).
const watchRetry = 500 * time.Millisecond

// Watch watches the prefix from etcd revision from (0: from now) until
// Close: registrations and features written by other nodes go to
// onChange, a dead node's sessions and legs to the hooks (OnDeadSessions,
// OnDeadLegs). A dead node is one whose node/<id> key was deleted with its
// lease: etcd deletes all keys of a lease in one revision, so its sessions
// and legs deleted in that revision under the same lease are its records
// (a node stopping cleanly deletes them itself first). Watch starts one
// goroutine, once; Close stops it.
func (n *Node) Watch(from int64, onChange func(Change)) {
	n.watchOnce.Do(func() {
		n.watchWG.Add(1)
		go func() {
			defer n.watchWG.Done()
			n.watch(from, onChange)
		}()
	})
}

func (n *Node) watch(from int64, onChange func(Change)) {
	// The peers' view starts where the watch starts (at from-1 when given).
	for {
		rev := from - 1
		if from <= 0 {
			rev = 0
		}
		read, err := n.loadPeers(rev)
		if err == nil {
			from = read + 1
			break
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			from = 0 // the changes since from are gone: start from now
			continue
		}
		n.log.Warn().Err(err).Str("code", Code(err)).Msg("cluster watch: reading the nodes and stations failed; retrying")
		if clock.Sleep(n.ctx, n.cfg.Clock, watchRetry) != nil {
			return
		}
	}
	for n.ctx.Err() == nil {
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
		if from > 0 {
			opts = append(opts, clientv3.WithRev(from))
		}
		ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(n.ctx))
		for res := range n.cli.Watch(ctx, n.cfg.Prefix, opts...) {
			if err := res.Err(); err != nil {
				if errors.Is(err, rpctypes.ErrCompacted) {
					// Changes between from and the compaction are lost; go on from there.
					n.log.Warn().Str("code", CodeWatchGap).Int64("from", from).Int64("compacted", res.CompactRevision).Msg("cluster watch: changes compacted away")
					from = res.CompactRevision
				}
				break
			}
			n.handle(res.Events, onChange)
			n.forgetWrites(res.Header.Revision)
			from = res.Header.Revision + 1
		}
		cancel()
		if clock.Sleep(n.ctx, n.cfg.Clock, watchRetry) != nil {
			return
		}
	}
}

// handle applies one watch response.
func (n *Node) handle(evs []*clientv3.Event, onChange func(Change)) {
	p := n.cfg.Prefix
	// Nodes whose node/<id> was deleted, by the revision of the deletion
	// and the node's lease: a response may hold several revisions (the
	// watch catching up), and only records deleted in the same revision
	// as node/<id>, under its lease, went with the lease.
	type revLease struct{ rev, lease int64 }
	dead := map[revLease]string{}
	for _, ev := range evs {
		if ev.Type == mvccpb.DELETE && ev.PrevKv != nil && ev.PrevKv.Lease != 0 {
			if id, ok := strings.CutPrefix(string(ev.Kv.Key), p+kindNode); ok && id != n.cfg.Node {
				dead[revLease{ev.Kv.ModRevision, ev.PrevKv.Lease}] = id
			}
		}
	}
	var order []string
	sessions := map[string][]DeadRecord{}
	legs := map[string][]state.Leg{}
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		rest, _ := strings.CutPrefix(key, p)
		switch {
		case ev.Type == mvccpb.DELETE && (strings.HasPrefix(rest, kindSession) || strings.HasPrefix(rest, kindLeg)):
			if ev.PrevKv == nil {
				continue
			}
			node, ok := dead[revLease{ev.Kv.ModRevision, ev.PrevKv.Lease}]
			if !ok {
				continue // a hang-up or a sign-out of a live node
			}
			if _, seen := sessions[node]; !seen {
				if _, seen := legs[node]; !seen {
					order = append(order, node)
				}
			}
			if id, ok := strings.CutPrefix(rest, kindSession); ok {
				sessions[node] = append(sessions[node], DeadRecord{Key: id, Value: ev.PrevKv.Value})
				continue
			}
			var l state.Leg
			if err := json.Unmarshal(ev.PrevKv.Value, &l); err != nil || l.CallID == "" {
				n.log.Warn().Str("code", CodeWatchBadRecord).Str("key", short(key)).Msg("cluster watch: undecodable leg of a dead node")
				continue
			}
			legs[node] = append(legs[node], l)
		case strings.HasPrefix(rest, kindReg), strings.HasPrefix(rest, kindFeature):
			if onChange != nil {
				n.change(ev, rest, onChange)
			}
		case strings.HasPrefix(rest, kindNode), strings.HasPrefix(rest, "station/"):
			n.peer(ev, rest)
		}
	}
	n.mu.Lock()
	sh, lh := n.sessionHooks, n.legHooks
	n.mu.Unlock()
	for _, node := range order {
		n.cfg.Observer.NodeDead(node)
		n.log.Warn().Str("code", CodeNodeDead).Str("dead_node", node).Int("sessions", len(sessions[node])).
			Int("legs", len(legs[node])).Msg("a node's lease ended: its records are handed to this node's hooks")
		for _, f := range sh {
			f(node, sessions[node])
		}
		if len(legs[node]) == 0 || len(lh) == 0 {
			continue
		}
		dl := make([]DeadLeg, 0, len(legs[node]))
		for _, l := range legs[node] {
			dl = append(dl, DeadLeg{Leg: l, Bye: n.claim("leg/" + l.CallID)})
		}
		for _, f := range lh {
			f(node, dl)
		}
	}
}

// change passes on a registration or features change of another node.
func (n *Node) change(ev *clientv3.Event, rest string, onChange func(Change)) {
	key := string(ev.Kv.Key)
	if n.stale(key, ev.Kv.ModRevision) {
		return
	}
	if ext, ok := strings.CutPrefix(rest, kindReg); ok {
		if ev.Type == mvccpb.DELETE {
			onChange(Change{Kind: ChangeRegistrationDeleted, Ext: ext})
			return
		}
		var r regRecord
		if err := json.Unmarshal(ev.Kv.Value, &r); err != nil || r.Extension != ext {
			n.log.Warn().Str("code", CodeWatchBadRecord).Str("key", short(key)).Msg("cluster watch: undecodable registration")
			return
		}
		if r.Node != n.cfg.Node {
			onChange(Change{Kind: ChangeRegistration, Ext: ext, Registration: r.Registration})
		}
		return
	}
	ext, _ := strings.CutPrefix(rest, kindFeature)
	if ev.Type == mvccpb.DELETE {
		return // features are never deleted by a node
	}
	var f featRecord
	if err := json.Unmarshal(ev.Kv.Value, &f); err != nil || f.Extension != ext {
		n.log.Warn().Str("code", CodeWatchBadRecord).Str("key", short(key)).Msg("cluster watch: undecodable features")
		return
	}
	if f.Node != n.cfg.Node {
		onChange(Change{Kind: ChangeFeatures, Ext: ext, Features: f.Features})
	}
}

// claim takes claim/<what> under this node's lease if nobody has: of the
// nodes that saw a dead node's leg, one wins and ends it. On an etcd error
// the node claims (a second BYE gets 481; none would leave a ghost call).
func (n *Node) claim(what string) bool {
	if n.usable() != nil {
		return false // a node whose lease is not certain acts for nobody
	}
	key := n.cfg.Prefix + kindClaim + what
	ctx, cancel := n.reqCtx(n.ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	res, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, n.cfg.Node, clientv3.WithLease(n.lease))).
		Commit()
	n.observe(OpClaim, start, err)
	if err != nil {
		n.log.Warn().Err(n.classify(err)).Str("code", CodeUnavailable).Str("key", short(key)).Msg("cluster: claim failed; acting anyway")
		return true
	}
	return res.Succeeded
}

// short returns an excerpt of a key for logs (keys carry Call-IDs from the network).
func short(s string) string {
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
