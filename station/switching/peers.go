package switching

import (
	"github.com/emiago/sipgo/sip"
)

// Calls between nodes. In a cluster every node has every station, but a
// station's Lync user is signed in on one node, whose monitors must see
// the station's calls. So a call from a station served here to a station
// whose user is on another node is not rung from here: it is sent to that
// node as a SIP call (calling and called device as From and
// Request-URI user), and that node rings the phone under its own call ID,
// applying the station's DND and forwarding. A call another node sent is
// never sent on to a node again (no loops).

// Peers are the other nodes, as the cluster knows them.
type Peers interface {
	// NodeFor returns the SIP address (host:port, UDP) of the other node
	// where station ext's user is signed in; ok false when that is this
	// node or none.
	NodeFor(ext string) (addr string, ok bool)
	// IsPeer reports whether a request from addr (ip:port) comes from
	// another node: it is taken without digest authentication, like the
	// trunk's.
	IsPeer(addr string) bool
}

// peerLeg returns a leg to the node serving station ext's user for call
// c, or nil when the call stays here; m.mu is held.
func (sw *Switch) peerLeg(c *call, ext string) *leg {
	if sw.cfg.Peers == nil || c.fromPeer {
		return nil
	}
	addr, ok := sw.cfg.Peers.NodeFor(ext)
	if !ok {
		return nil
	}
	host, port, err := sip.ParseAddr(addr)
	if err != nil {
		sw.log.Warn().Err(err).Str("device", ext).Str("node", addr).Msg("peer node address unusable; ringing here")
		return nil
	}
	target := sip.Uri{Scheme: "sip", User: ext, Host: host, Port: port}
	l := sw.newUACLeg(ext, target, sw.callerURI(c), sw.sipURI(ext), "UDP", addr)
	l.peer = true
	sw.log.Debug().Str("call_id", c.id).Str("device", ext).Str("node", addr).Msg("call sent to the node serving the station")
	return l
}
