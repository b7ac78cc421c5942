package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rccserver/rccserver/station/state"
)

// Orphaned legs: a node that dies while no other node is alive (a single
// node, a whole site losing power) leaves its calls on the phones, since
// the legs it recorded went with its lease and nobody watched them go.
// When it starts again under the same ID, it finds them in etcd's history:
// nodeinfo/<id> (no lease) keeps the revision at which the previous run
// joined; the previous run's node key was deleted at some later revision
// R; the legs it still had at R-1 are read as they were then (etcd keeps
// old revisions until compaction). A leg another node claimed (and ended)
// meanwhile is skipped.

// kindNodeInfo is nodeinfo/<id>: {"rev": revision of the run's join}.
const kindNodeInfo = "nodeinfo/"

type nodeInfo struct {
	Rev int64 `json:"rev"`
}

// rememberRun records this run's join revision in nodeinfo/<id> and keeps
// the previous run's from res (the join transaction, whose second
// operation read nodeinfo/<id>).
func (n *Node) rememberRun(ctx context.Context, key string, res *clientv3.TxnResponse) {
	if len(res.Responses) > 1 {
		if kvs := res.Responses[1].GetResponseRange().GetKvs(); len(kvs) == 1 {
			var prev nodeInfo
			if json.Unmarshal(kvs[0].Value, &prev) == nil {
				n.prevRun = prev.Rev
			}
		}
	}
	val, _ := json.Marshal(nodeInfo{Rev: res.Header.Revision})
	if _, err := n.cli.Put(ctx, key, string(val)); err != nil {
		n.log.Warn().Err(err).Str("code", Code(n.classify(err))).Msg("cluster: run not recorded; calls of this run will not be found after a crash")
	}
}

// orphanLegs returns the legs this node ID's previous run still had when
// its lease ended, minus those another node claimed; each returned leg is
// claimed by this node.
func (n *Node) orphanLegs() ([]state.Leg, error) {
	if n.prevRun == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(n.ctx, 2*n.cfg.RequestTimeout)
	defer cancel()
	key := n.cfg.Prefix + kindNode + n.cfg.Node
	// The previous run's node key: created at prevRun, deleted once, before
	// this run could create it again.
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	var died int64
	for res := range n.cli.Watch(wctx, key, clientv3.WithRev(n.prevRun), clientv3.WithFilterPut()) {
		if err := res.Err(); err != nil {
			return nil, n.orphanErr(err)
		}
		for _, ev := range res.Events {
			if ev.Type == mvccpb.DELETE {
				died = ev.Kv.ModRevision
				break
			}
		}
		if died != 0 {
			break
		}
	}
	if died == 0 {
		return nil, n.orphanErr(ctx.Err())
	}
	rctx, rcancel := n.reqCtx(ctx)
	defer rcancel()
	got, err := n.cli.Get(rctx, n.cfg.Prefix+kindLeg+n.cfg.Node+"/", clientv3.WithPrefix(), clientv3.WithRev(died-1))
	if err != nil {
		return nil, n.orphanErr(err)
	}
	var out []state.Leg
	for _, kv := range got.Kvs {
		var l state.Leg
		if json.Unmarshal(kv.Value, &l) != nil || l.CallID == "" {
			n.log.Warn().Str("code", CodeWatchBadRecord).Str("key", short(string(kv.Key))).Msg("cluster: undecodable leg of the previous run")
			continue
		}
		if n.claim("leg/" + l.CallID) {
			out = append(out, l)
		}
	}
	n.log.Info().Int64("previous_run_ended", died).Int("legs", len(out)).Msg("cluster: calls left by this node's previous run")
	return out, nil
}

func (n *Node) orphanErr(err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		n.log.Warn().Str("code", CodeWatchGap).Msg("cluster: the previous run's calls are compacted away; they cannot be cleared")
	}
	if err == nil {
		err = errors.New("no end of the previous run found")
	}
	return fmt.Errorf("cluster: calls of the previous run: %w", err)
}
