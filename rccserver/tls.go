package rccserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// DefaultHandshakeTimeout bounds a TLS handshake when the listener sets none.
const DefaultHandshakeTimeout = 10 * time.Second

// maxPendingHandshakes bounds the handshakes in progress per listener: a
// connection flood costs at most this many goroutines for HandshakeTimeout.
const maxPendingHandshakes = 1024

// sipTransport maps a configured transport to sipgo's name: mtls is TLS
// with a client certificate.
func sipTransport(configured string) string {
	t := strings.ToUpper(configured)
	if t == "MTLS" {
		return "TLS"
	}
	return t
}

// listenStream binds a TCP, TLS or MTLS listener: the access list at
// Accept, then, for TLS, the handshake under HandshakeTimeout.
func (s *Server) listenStream(l Listener, b *boundListener) (net.Listener, error) {
	var mgr *certs.Manager
	if b.transport == "TLS" {
		var err error
		mgr, err = certs.NewManager(certs.ManagerOptions{Config: l.Config, Mutual: b.mutual,
			Name: strings.ToLower(l.Transport) + " " + l.Addr, Log: s.log, Now: s.clock.Now})
		if err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return nil, err
	}
	// The edge's caps and accept back-off sit on the raw socket, before TLS.
	var out net.Listener = &guardListener{Listener: s.edge.Listener(ln), g: s.guard, bound: b}
	if mgr != nil {
		b.certs = mgr
		timeout := l.HandshakeTimeout
		if timeout == 0 {
			timeout = DefaultHandshakeTimeout
		}
		out = newTLSListener(out, mgr.TLSConfig(), timeout, maxPendingHandshakes, s.guard, b)
	}
	return out, nil
}

// tlsListener hands sipgo connections whose TLS handshake is complete.
// Each handshake runs in its own goroutine under a deadline, so a client
// that connects and stays silent holds up nobody; a failed handshake is
// logged once with its reason and never reaches sipgo (which would log a
// read error without one).
type tlsListener struct {
	net.Listener // the guarded TCP listener
	cfg          *tls.Config
	timeout      time.Duration
	g            *guard
	bound        *boundListener

	conns  chan net.Conn
	slots  chan struct{}   // one per handshake in progress
	ctx    context.Context // cancelled by Close: interrupts handshakes
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and the handshakes
	once   sync.Once
	mu     sync.Mutex
	err    error // the accept loop's final error
}

func newTLSListener(inner net.Listener, cfg *tls.Config, timeout time.Duration, maxPending int, g *guard, b *boundListener) *tlsListener {
	l := &tlsListener{Listener: inner, cfg: cfg, timeout: timeout, g: g, bound: b,
		conns: make(chan net.Conn), slots: make(chan struct{}, maxPending)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Go(l.acceptLoop)
	return l
}

func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			l.cancel() // wakes Accept
			return
		}
		select {
		case l.slots <- struct{}{}:
			l.wg.Go(func() {
				defer func() { <-l.slots }()
				l.handshake(c)
			})
		default:
			// Record the refusal before closing: the client sees only the close.
			l.g.refuseHandshake(errTooManyHandshakes, c, l.bound)
			_ = c.Close()
		}
	}
}

// handshake runs the server handshake (RFC 8446 §4, RFC 5246 §7.3) and
// queues the connection for Accept, or logs why it failed and closes it.
func (l *tlsListener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if l.ctx.Err() == nil { // not our own shutdown
			l.g.refuseHandshake(err, raw, l.bound)
		}
		_ = raw.Close()
		return
	}
	st := tc.ConnectionState()
	ev := l.g.log.Info().Str("peer", raw.RemoteAddr().String()).Str("listener", raw.LocalAddr().String()).
		Str("version", tls.VersionName(st.Version)).Str("cipher", tls.CipherSuiteName(st.CipherSuite))
	if len(st.PeerCertificates) > 0 {
		ev = ev.Str("subject", st.PeerCertificates[0].Subject.CommonName).Strs("names", certs.PeerNames(st.PeerCertificates[0]))
	}
	ev.Msg("TLS client accepted")
	select {
	case l.conns <- tc:
	case <-l.ctx.Done():
		_ = tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting, interrupts handshakes in progress and waits for
// their goroutines. Established connections belong to sipgo and stay open.
func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.Listener.Close()
		l.wg.Wait()
	})
	return err
}

var errTooManyHandshakes = errors.New("too many TLS handshakes in progress")

// refuseHandshake logs a failed handshake with one line and counts it.
// Policy refusals of the client certificate are Cs_AccessDenied; the rest
// (timeouts, plaintext, alerts from the client) are Cs_TLSFailure.
func (g *guard) refuseHandshake(err error, raw net.Conn, b *boundListener) {
	code, reason := CodeTLSFailure, "handshake_failed"
	var pe *certs.PeerError
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.Is(err, errTooManyHandshakes):
		reason = "too_many_handshakes"
	case errors.As(err, &pe):
		code, reason = CodeAccessDenied, string(pe.Reason)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		reason = "handshake_timeout"
	case errors.As(err, &rec):
		reason = "plaintext_on_tls_port"
	case errors.As(err, &op) && op.Op == "remote error":
		reason = "client_alert" // typically the client does not trust our certificate
	case strings.Contains(err.Error(), "unsupported versions"):
		reason = "protocol_version" // older than TLS 1.2
	case errors.Is(err, io.EOF):
		reason = "client_closed"
	}
	g.count(code)
	ev := g.log.Warn().Str("code", string(code)).Str("reason", reason).Str("peer", raw.RemoteAddr().String()).
		Str("transport", "TLS").Str("listener", raw.LocalAddr().String()).Err(err)
	if pe != nil && pe.Subject != "" {
		ev = ev.Str("subject", pe.Subject)
	}
	if pe != nil && len(pe.Names) > 0 {
		ev = ev.Strs("names", pe.Names)
	}
	ev.Msg("TLS client refused")
}

// sniffConn watches the first bytes of a plain TCP connection: a TLS
// record (content type 22, handshake; RFC 8446 §5.1) means a client
// configured for TLS reached the TCP port. It is refused with one clear
// log line instead of a SIP parse error.
type sniffConn struct {
	net.Conn
	g       *guard
	checked bool // only sipgo's single reader touches it
}

// SyscallConn is the socket's: the edge above sets its options
// (sipedge/coalesce.go); reads still go through Read.
func (c *sniffConn) SyscallConn() (syscall.RawConn, error) { return sipedge.RawConnOf(c.Conn) }

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if p[0] != 0x16 {
		return n, err
	}
	c.g.count(CodeTLSFailure)
	c.g.log.Warn().Str("code", string(CodeTLSFailure)).Str("reason", "tls_on_tcp_port").
		Str("peer", c.RemoteAddr().String()).Str("transport", "TCP").Str("listener", c.LocalAddr().String()).
		Msg("TLS client refused: it reached the plain TCP port; point it at the tls/mtls listener")
	_ = c.Conn.Close()
	// net.ErrClosed: sipgo ends the connection quietly.
	return 0, fmt.Errorf("TLS handshake on a TCP port: %w", net.ErrClosed)
}

// Reload re-reads the certificates of every TLS and MTLS listener, as on
// SIGHUP or `rccserver -reload`. New handshakes use them; established
// connections and their sessions are untouched. A listener whose files
// fail to load keeps its previous certificate; the errors are joined.
func (s *Server) Reload() error {
	var errs []error
	for _, b := range s.listeners {
		if b.certs != nil {
			if err := b.certs.Reload(); err != nil {
				errs = append(errs, fmt.Errorf("%s listener %s: %w", strings.ToLower(b.transport), s.addrOf(b), err))
			}
		}
	}
	return errors.Join(errs...)
}

// TLSStatus is the certificate in service on one TLS or MTLS listener.
type TLSStatus struct {
	Addr   string // bound address
	Mutual bool
	certs.Status
}

// TLSStatus returns the certificate of every TLS and MTLS listener, in
// configuration order: days until expiry for metrics and health checks.
func (s *Server) TLSStatus() []TLSStatus {
	var out []TLSStatus
	for _, b := range s.listeners {
		if b.certs != nil {
			out = append(out, TLSStatus{Addr: s.addrOf(b), Mutual: b.mutual, Status: b.certs.Status()})
		}
	}
	return out
}

// watchCerts polls every TLS listener's files until ctx is done.
func (s *Server) watchCerts(ctx context.Context) {
	for _, b := range s.listeners {
		if b.certs != nil {
			s.wg.Go(func() { b.certs.Run(ctx) })
		}
	}
}
