package rccserver

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// accessList is listen.access: the peers (IPs and CIDRs) allowed to
// connect, the guide's "Denied Access" with the Lync front ends and
// mediation servers as exceptions. Empty allows everyone.
type accessList []netip.Prefix

// parseAccess parses listen.access entries: "10.0.0.5", "10.0.0.0/24", "2001:db8::/32".
func parseAccess(entries []string) (accessList, []error) { return parseNets("listen.access", entries) }

// parseNets parses a list of IPs and CIDRs found under key.
func parseNets(key string, entries []string) (accessList, []error) {
	var out accessList
	var errs []error
	for i, e := range entries {
		p, err := sipedge.ParsePrefix(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not an IP address or CIDR", key, i, e))
			continue
		}
		out = append(out, p)
	}
	return out, errs
}

// contains reports whether ip is in the list.
func (a accessList) contains(ip netip.Addr) bool {
	for _, p := range a {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// allows reports whether the peer may connect.
func (a accessList) allows(peer net.Addr) bool {
	if len(a) == 0 {
		return true
	}
	ip, ok := sipedge.AddrIP(peer)
	if !ok {
		return false
	}
	for _, p := range a {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// guard is what every listener applies before SIP sees a byte: the access
// list, the TLS-on-TCP check, and the refusal counters and log.
type guard struct {
	access accessList
	// log is sampled (a burst per second) so a flood of refused packets or
	// connections cannot flood the log; the counters count every refusal.
	log               zerolog.Logger
	denied            atomic.Int64 // Cs_AccessDenied: address or certificate refused
	handshakeFailures atomic.Int64 // Cs_TLSFailure: failed TLS that is not a policy refusal
	refusals          *counters    // the server's refusals by log code
}

func newGuard(entries []string, log zerolog.Logger, refusals *counters) *guard {
	access, _ := parseAccess(entries) // Config.Validate reported any error
	return &guard{access: access, refusals: refusals, log: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second})}
}

// count counts one refusal under its log code.
func (g *guard) count(code LogCode) {
	if code == CodeAccessDenied {
		g.denied.Add(1)
	} else {
		g.handshakeFailures.Add(1)
	}
	g.refusals.inc(string(code))
}

// refuseAddress logs and counts a peer refused by the access list.
func (g *guard) refuseAddress(peer net.Addr, b *boundListener, local net.Addr) {
	g.count(CodeAccessDenied)
	g.log.Warn().Str("code", string(CodeAccessDenied)).Str("reason", "address_not_allowed").
		Str("peer", peer.String()).Str("transport", b.transport).Str("listener", local.String()).
		Msg("peer refused: address not in listen.access")
}

// guardListener refuses connections from peers outside the access list at
// Accept and, on a plain TCP listener, watches for a TLS ClientHello.
type guardListener struct {
	net.Listener
	g     *guard
	bound *boundListener
}

func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.g.access.allows(c.RemoteAddr()) {
			l.g.refuseAddress(c.RemoteAddr(), l.bound, c.LocalAddr())
			_ = c.Close()
			continue
		}
		if l.bound.transport == "TCP" {
			return &sniffConn{Conn: c, g: l.g}, nil
		}
		return c, nil
	}
}

// guardPacketConn drops datagrams from peers outside the access list
// before sipgo parses them.
type guardPacketConn struct {
	net.PacketConn
	g     *guard
	bound *boundListener
}

func (c *guardPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.g.access.allows(addr) {
			return n, addr, err
		}
		c.g.refuseAddress(addr, c.bound, c.LocalAddr())
	}
}

// packetConn wraps a UDP socket with the access list (none: as is).
func (g *guard) packetConn(pc net.PacketConn, b *boundListener) net.PacketConn {
	if len(g.access) == 0 {
		return pc
	}
	return &guardPacketConn{PacketConn: pc, g: g, bound: b}
}

// warnOpen warns at start about a listener that trusts every peer: no
// access list, and no client certificate to check.
func (g *guard) warnOpen(log zerolog.Logger, b *boundListener, addr string) {
	if len(g.access) == 0 && !b.mutual {
		log.Warn().Str("transport", b.transport).Str("addr", addr).
			Msg("listener accepts any peer: listen.access is empty and the listener is not mtls; list the Lync front ends and mediation servers")
	}
}
