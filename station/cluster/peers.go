package cluster

import (
	"encoding/json"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// nodeRecord is the value of node/<id>.
type nodeRecord struct {
	Started string `json:"started"`
	// SIP is the node's SIP address for calls between nodes (Config.SIPAddr).
	SIP string `json:"sip,omitempty"`
}

// peers is what the watch knows of the other nodes: their SIP addresses
// and which node serves each station. Guarded by Node.mu.
type peers struct {
	sip    map[string]string // node ID -> SIP address (host:port)
	owners map[string]string // station -> node ID
}

// NodeFor returns the SIP address of the other node whose user holds
// station ext, so that a call to ext goes there; ok is false when ext is
// held by this node or by nobody, or the holder has no SIP address. It
// reads the watch's view (no etcd request): Watch must be running.
func (n *Node) NodeFor(ext string) (addr string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	node, held := n.peers.owners[ext]
	if !held || node == n.cfg.Node {
		return "", false
	}
	addr, ok = n.peers.sip[node]
	return addr, ok && addr != ""
}

// IsPeer reports whether addr (host:port) is another live node's SIP
// address: a call from there is a call between nodes.
func (n *Node) IsPeer(addr string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, a := range n.peers.sip {
		if a == addr && id != n.cfg.Node {
			return true
		}
	}
	return false
}

// loadPeers reads the node and station records at revision rev (0: now),
// the starting point of the watch's updates (peer); it returns the
// revision read.
func (n *Node) loadPeers(rev int64) (int64, error) {
	ctx, cancel := n.reqCtx(n.ctx)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	nodes, err := n.cli.Get(ctx, n.cfg.Prefix+kindNode, opts...)
	if err != nil {
		return 0, n.classify(err)
	}
	// The stations at the same revision as the nodes.
	stations, err := n.cli.Get(ctx, n.cfg.Prefix+"station/", clientv3.WithPrefix(), clientv3.WithRev(nodes.Header.Revision))
	if err != nil {
		return 0, n.classify(err)
	}
	p := peers{sip: map[string]string{}, owners: map[string]string{}}
	for _, kv := range nodes.Kvs {
		var r nodeRecord
		if json.Unmarshal(kv.Value, &r) == nil {
			p.sip[strings.TrimPrefix(string(kv.Key), n.cfg.Prefix+kindNode)] = r.SIP
		}
	}
	for _, kv := range stations.Kvs {
		var o Owner
		if json.Unmarshal(kv.Value, &o) == nil {
			p.owners[strings.TrimPrefix(string(kv.Key), n.cfg.Prefix+"station/")] = o.Node
		}
	}
	n.mu.Lock()
	n.peers = p
	n.mu.Unlock()
	if rev > 0 {
		return rev, nil
	}
	return nodes.Header.Revision, nil
}

// peer applies a change of node/ or station/ (rest: the key after the prefix).
func (n *Node) peer(ev *clientv3.Event, rest string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id, ok := strings.CutPrefix(rest, kindNode); ok {
		var r nodeRecord
		if ev.Type == mvccpb.DELETE {
			delete(n.peers.sip, id)
		} else if json.Unmarshal(ev.Kv.Value, &r) == nil {
			n.peers.sip[id] = r.SIP
		}
		return
	}
	ext, _ := strings.CutPrefix(rest, "station/")
	var o Owner
	if ev.Type == mvccpb.DELETE {
		delete(n.peers.owners, ext)
	} else if json.Unmarshal(ev.Kv.Value, &o) == nil {
		if o.Node != n.cfg.Node && n.peers.owners[ext] != o.Node {
			n.log.Debug().Str("station", ext).Str("holder", o.Node).Msg("station served by another node")
		}
		n.peers.owners[ext] = o.Node
	}
}
