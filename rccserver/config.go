package rccserver

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// DefaultPort is the RCC SIP line's receive port in the guide we model.
const DefaultPort = 11001

// Listener is one SIP listening socket facing Lync.
type Listener struct {
	// Transport is "tcp", "tls", "mtls" (TLS with a client certificate,
	// what Lync's trusted applications use) or "udp" (not recommended).
	Transport string `mapstructure:"transport"`
	// Addr is host:port to bind, e.g. "0.0.0.0:11001".
	Addr string `mapstructure:"addr"`
	// Advertise is the host[:port] written into our Contact for dialogs on
	// this listener (defaults to the bound address). The client sends ACK and
	// in-dialog requests there, so it must be reachable and match this
	// listener's transport (RFC 3261 §12.1.1: the 2xx's Contact is the
	// client's remote target).
	Advertise string `mapstructure:"advertise"`
	// Config is the certificate and, for mtls, the client policy of a tls
	// or mtls listener: keys cert, key, chain, pkcs12, pkcs12_password,
	// pkcs12_password_env, client_ca, require_client_auth_eku,
	// allowed_peers, reload_interval (docs/tls.md).
	certs.Config `mapstructure:",squash"`
	// HandshakeTimeout bounds a TLS handshake (tls, mtls); 0 means
	// DefaultHandshakeTimeout (10 s). In YAML a duration: "10s".
	HandshakeTimeout time.Duration `mapstructure:"handshake_timeout"`
}

// Config is the SIP side's configuration. Durations are whole seconds in the
// YAML file; the Go API takes time.Duration so tests can use short values.
type Config struct {
	Listeners []Listener `mapstructure:"listeners"`
	// Domains are the hosts our Request-URIs may carry: the Lync static
	// route's MatchUri and the Line Server URI host (docs/protocol.md "Routing: static route and Record-Route").
	Domains []string `mapstructure:"domains"`
	// Access lists the peers (IPs and CIDRs: the Lync front ends and
	// mediation servers) allowed on every listener; the rest are refused
	// at connect time (UDP: per datagram) with Cs_AccessDenied. Empty
	// allows every peer. YAML key listen.access.
	Access []string `mapstructure:"access"`
	// FrontEnds are the peers (IPs and CIDRs) of a trusted front-end pool:
	// an in-dialog request may arrive from any of them, not only from the
	// connection the dialog was opened on. Empty: only that connection.
	// YAML key listen.front_ends.
	FrontEnds []string `mapstructure:"front_ends"`
	// Limits bound messages and connections on every listener (sipedge);
	// zero fields take their defaults. YAML key listen.limits.
	Limits sipedge.Limits `mapstructure:"limits"`
	// SessionExpires is the session interval we grant (RFC 4028), at most.
	SessionExpires time.Duration `mapstructure:"session_expires"`
	// MinSE is the smallest interval we accept; smaller requests get 422.
	MinSE time.Duration `mapstructure:"min_se"`
	// KeepAlive is the period of the keep-alive INFO; 0 switches it off and
	// it must stay under 1200 s, as the guide we model requires.
	KeepAlive time.Duration `mapstructure:"keepalive"`
	// RequestTimeout bounds the wait for the answer to an INFO or BYE we send
	// (default: SIP Timer F, 64·T1).
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// QueueSize bounds each session's queue of outbound events.
	QueueSize int `mapstructure:"queue_size"`
	// EventWindow bounds the INFOs (events, keep-alives) of one session
	// whose answer is awaited; when full, the oldest is no longer awaited
	// (docs/sessions.md). Events never wait for an earlier one's answer.
	EventWindow int `mapstructure:"event_window"`
	// InitialWindow, when set, is how many INFOs of a session may await
	// their answers before the writer waits for one, until the client
	// first leaves one unanswered for 200 ms (then EventWindow applies for
	// good); 1 is the one-INFO-at-a-time rule of earlier versions.
	// EventWindow caps it. 0 (the default): no initial window, the
	// session's INFOs never wait for answers (docs/sessions.md, "Events").
	InitialWindow int `mapstructure:"initial_window"`
	// ConnectionWindow bounds the awaited INFOs of all the sessions on one
	// client connection (a front end carries many users on one).
	ConnectionWindow int `mapstructure:"connection_window"`
	// StrictKeepAlive ends a session whose keep-alive INFO is unanswered or
	// answered 408, as earlier versions did. Off by default: liveness comes
	// from the session timer, the connection and 481s (docs/sessions.md).
	StrictKeepAlive bool `mapstructure:"strict_keepalive"`
	// ShutdownTimeout bounds how long SIGTERM waits for BYEs to be answered.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// DefaultConfig returns the defaults: TCP on 11001, 1800 s sessions, 60 s keep-alive.
func DefaultConfig() Config {
	return Config{
		Listeners:        []Listener{{Transport: "tcp", Addr: fmt.Sprintf("0.0.0.0:%d", DefaultPort)}},
		Domains:          []string{"localhost", "127.0.0.1"},
		SessionExpires:   1800 * time.Second,
		MinSE:            90 * time.Second,
		KeepAlive:        60 * time.Second,
		RequestTimeout:   32 * time.Second,
		QueueSize:        1024,
		EventWindow:      32,
		ConnectionWindow: 4096,
		ShutdownTimeout:  5 * time.Second,
	}
}

// MaxKeepAlive is the exclusive upper bound of the keep-alive period.
const MaxKeepAlive = 1200 * time.Second

// Validate checks every value and names the configuration key of each problem.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	if len(c.Listeners) == 0 {
		bad("listen.listeners", "at least one listener is required")
	}
	seen := map[string]bool{}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listen.listeners[%d]", i)
		switch t := strings.ToLower(l.Transport); t {
		case "tcp", "udp":
			if !l.Config.IsZero() {
				bad(key, "certificate settings apply only to tls and mtls listeners")
			}
		case "tls", "mtls":
			for _, p := range l.Problems(t == "mtls") {
				bad(key+"."+p.Key, "%s", p.Problem)
			}
			if l.HandshakeTimeout < 0 || (l.HandshakeTimeout > 0 && l.HandshakeTimeout < 100*time.Millisecond) {
				bad(key+".handshake_timeout", "%v: give a duration such as \"10s\"", l.HandshakeTimeout)
			}
		default:
			bad(key+".transport", "%q is not tcp, tls, mtls or udp", l.Transport)
		}
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			bad(key+".addr", "%q: %v", l.Addr, err)
		}
		k := strings.ToLower(l.Transport) + " " + l.Addr
		if seen[k] {
			bad(key, "duplicate listener %s", k)
		}
		seen[k] = true
	}
	_, accessErrs := parseAccess(c.Access)
	for _, err := range accessErrs {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if _, feErrs := parseNets("listen.front_ends", c.FrontEnds); len(feErrs) > 0 {
		for _, err := range feErrs {
			errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
		}
	}
	limitProblems := c.Limits.Problems()
	for _, k := range slices.Sorted(maps.Keys(limitProblems)) {
		bad("listen.limits."+k, "%s", limitProblems[k])
	}
	if len(c.Domains) == 0 {
		bad("listen.domains", "at least one RCC domain is required (the static route's MatchUri)")
	}
	if c.MinSE <= 0 {
		bad("session.min_se", "%v must be positive", c.MinSE)
	}
	if c.SessionExpires < c.MinSE {
		bad("session.session_expires", "%v is below session.min_se %v", c.SessionExpires, c.MinSE)
	}
	if c.KeepAlive < 0 || c.KeepAlive >= MaxKeepAlive {
		bad("session.keepalive", "%v: must be 0 (off) or under %v", c.KeepAlive.Seconds(), MaxKeepAlive.Seconds())
	}
	if c.RequestTimeout <= 0 {
		bad("session.request_timeout", "%v must be positive", c.RequestTimeout)
	}
	if c.QueueSize <= 0 {
		bad("session.queue_size", "%d must be positive", c.QueueSize)
	}
	if c.EventWindow <= 0 {
		bad("session.event_window", "%d must be positive", c.EventWindow)
	}
	if c.InitialWindow < 0 {
		bad("session.initial_window", "%d must be 0 (none) or positive", c.InitialWindow)
	}
	if c.ConnectionWindow <= 0 {
		bad("session.connection_window", "%d must be positive", c.ConnectionWindow)
	}
	if c.ShutdownTimeout <= 0 {
		bad("session.shutdown_timeout", "%v must be positive", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

// ownsDomain reports whether host is one of the configured RCC domains.
func (c Config) ownsDomain(host string) bool {
	for _, d := range c.Domains {
		if strings.EqualFold(d, host) {
			return true
		}
	}
	return false
}
