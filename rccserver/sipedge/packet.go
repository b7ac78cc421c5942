package sipedge

import "net"

// PacketConn returns pc with each datagram checked as one message (RFC
// 3261 §18.3: on UDP the datagram ends it): invalid requests are answered
// 400 from here and never reach sipgo.
func (e *Edge) PacketConn(pc net.PacketConn) net.PacketConn {
	return &packetConn{PacketConn: pc, e: e}
}

type packetConn struct {
	net.PacketConn
	e *Edge
}

func (p *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := p.PacketConn.ReadFrom(b)
		if err != nil || n == 0 || keepAlive(b[:n]) {
			return n, addr, err
		}
		if n > p.e.lim.MaxMessageBytes {
			p.e.refused(CodeTooLarge, addr, "datagram over the size limit", b[:min(n, 256)])
			continue
		}
		o := p.e.check.check(b[:n], false)
		if o.verdict == verdictPass {
			return n, addr, nil
		}
		p.e.refused(o.code, addr, o.reason, o.excerpt)
		if o.reply != nil {
			_, _ = p.PacketConn.WriteTo(o.reply, addr)
		}
	}
}

// keepAlive: CRLFs and NULs only, which sipgo skips itself.
func keepAlive(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' && c != 0 {
			return false
		}
	}
	return true
}
