package sipedge

import (
	"net"
	"net/netip"
	"strings"
)

// ParsePrefix parses an access-list entry: an address (taken as a /32 or
// /128) or a CIDR; IPv4-mapped IPv6 forms are taken as IPv4, so one list
// serves dual-stack listeners. Both sides' access lists use it.
func ParsePrefix(e string) (netip.Prefix, error) {
	e = strings.TrimSpace(e)
	if !strings.Contains(e, "/") {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(e)
	if err != nil {
		return p, err
	}
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
	}
	return p.Masked(), nil
}

// AddrIP extracts the IP of a TCP or UDP address, IPv4-mapped IPv6 unmapped.
func AddrIP(addr net.Addr) (netip.Addr, bool) {
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	case *net.UDPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return ap.Addr().Unmap(), err == nil
}
