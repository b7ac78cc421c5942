package switching

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// The phones' access list (Config.Access): the peers allowed on the
// switch's listeners. It is checked before sipgo sees a byte, like
// rccserver's listen.access on the RCC side: a TCP connection from another
// peer is closed at accept, a UDP datagram dropped.

// parseAccess parses Config.Access entries: "10.0.0.5", "10.0.0.0/24",
// "2001:db8::/32". IPv4-mapped IPv6 forms are taken as IPv4.
func parseAccess(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, e := range entries {
		p, err := sipedge.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("%w: access[%d]: %q is not an IP address or CIDR", ErrInvalidConfig, i, e)
		}
		out = append(out, p)
	}
	return out, nil
}

// phoneGuard applies the access list to the switch's sockets.
type phoneGuard struct {
	allow []netip.Prefix // empty: everyone
	// log is sampled (a burst per second) so that a flood of refused
	// packets cannot flood the log; counts counts every refusal.
	log    zerolog.Logger
	counts *refusalCounts
}

func newPhoneGuard(cfg *Config, trunkAddr string, log zerolog.Logger, counts *refusalCounts) *phoneGuard {
	allow, _ := parseAccess(cfg.Access) // validate reported any error
	if len(allow) > 0 && trunkAddr != "" {
		if ap, err := netip.ParseAddrPort(trunkAddr); err == nil {
			a := ap.Addr().Unmap()
			allow = append(allow, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return &phoneGuard{allow: allow, counts: counts,
		log: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second})}
}

func (g *phoneGuard) allows(peer net.Addr) bool {
	if len(g.allow) == 0 {
		return true
	}
	ip, ok := sipedge.AddrIP(peer)
	if !ok {
		return false
	}
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *phoneGuard) refuse(peer, local net.Addr, transport string) {
	g.counts.inc(CodePhoneAccessDenied)
	g.log.Warn().Str("code", string(CodePhoneAccessDenied)).Str("reason", "address_not_allowed").
		Str("peer", peer.String()).Str("transport", transport).Str("listener", local.String()).
		Msg("phone peer refused: address not in phones.access")
}

// packetConn wraps a UDP socket with the access list (none: as is).
func (g *phoneGuard) packetConn(pc net.PacketConn) net.PacketConn {
	if len(g.allow) == 0 {
		return pc
	}
	return &guardedPacketConn{PacketConn: pc, g: g}
}

// listener wraps a TCP listener with the access list (none: as is).
func (g *phoneGuard) listener(ln net.Listener) net.Listener {
	if len(g.allow) == 0 {
		return ln
	}
	return &guardedListener{Listener: ln, g: g}
}

// warnOpen warns at start about a listener off loopback that accepts any peer.
func (g *phoneGuard) warnOpen(log zerolog.Logger, network string, addr net.Addr) {
	if len(g.allow) > 0 {
		return
	}
	if ip, ok := sipedge.AddrIP(addr); ok && ip.IsLoopback() {
		return
	}
	log.Warn().Str("transport", strings.ToUpper(network)).Str("addr", addr.String()).
		Msg("phones listener accepts any peer: phones.access is empty; list the phones' networks and the trunk")
}

// guardedPacketConn drops datagrams from peers outside the access list
// before sipgo parses them.
type guardedPacketConn struct {
	net.PacketConn
	g *phoneGuard
}

func (c *guardedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.g.allows(addr) {
			return n, addr, err
		}
		c.g.refuse(addr, c.LocalAddr(), "UDP")
	}
}

// guardedListener closes connections from peers outside the access list at accept.
type guardedListener struct {
	net.Listener
	g *phoneGuard
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.g.allows(c.RemoteAddr()) {
			return c, nil
		}
		l.g.refuse(c.RemoteAddr(), c.LocalAddr(), "TCP")
		_ = c.Close()
	}
}
