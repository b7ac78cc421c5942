package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Session records, session/<call-id> under the node's lease: what another
// node needs to adopt an RCC client's session when this node dies
// (docs/cluster.md "Session adoption"). The value is opaque here except for
// its "node" field, the writer.

func (n *Node) sessionKey(callID string) string { return n.cfg.Prefix + kindSession + callID }

// PutSession writes this node's record of session callID under its lease.
func (n *Node) PutSession(ctx context.Context, callID string, val []byte) error {
	if err := n.usable(); err != nil {
		return err
	}
	key := n.sessionKey(callID)
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	res, err := n.cli.Put(rctx, key, string(val), clientv3.WithLease(n.lease))
	n.observe(OpPut, start, err)
	if err != nil {
		return n.classify(err)
	}
	n.wroteAt(key, res.Header.Revision)
	return nil
}

// ClaimSession creates session callID's record under this node's lease if
// no node has one (a dead node's record went with its lease): of the nodes
// that saw the dead node, exactly one wins and adopts the session.
func (n *Node) ClaimSession(ctx context.Context, callID string, val []byte) (bool, error) {
	if err := n.usable(); err != nil {
		return false, err
	}
	created, _, err := n.createOnce(ctx, n.sessionKey(callID), val, OpClaim)
	return created, err
}

// DeleteSession deletes session callID's record if it is still this
// node's (attached to its lease): a record another node claimed stays.
func (n *Node) DeleteSession(ctx context.Context, callID string) error {
	key := n.sessionKey(callID)
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	res, err := n.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.LeaseValue(key), "=", n.lease)).
		Then(clientv3.OpDelete(key)).
		Commit()
	n.observe(OpDelete, start, err)
	if err != nil {
		return n.classify(err)
	}
	n.wroteAt(key, res.Header.Revision)
	return nil
}

// SessionHolder reads which node holds session callID's record; ok is
// false when there is none.
func (n *Node) SessionHolder(ctx context.Context, callID string) (node string, ok bool, err error) {
	kv, err := n.get(ctx, n.sessionKey(callID))
	if err != nil || kv == nil {
		return "", false, err
	}
	var v struct {
		Node string `json:"node"`
	}
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return "", false, fmt.Errorf("cluster: session record: %w", err)
	}
	if clientv3.LeaseID(kv.Lease) == n.lease {
		v.Node = n.cfg.Node
	}
	return v.Node, true, nil
}
