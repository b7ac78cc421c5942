package switching

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/rccserver/sipedge"
	"github.com/rccserver/rccserver/station/state"
)

// Listener is one SIP listening socket of the switch.
type Listener struct {
	// Network is "udp" or "tcp".
	Network string
	// Addr is host:port; port 0 picks a free port (see Switch.Addr).
	Addr string
}

// Header is one extra SIP header field.
type Header struct {
	Name, Value string
}

// Station is one phone the switch owns.
type Station struct {
	// Extension is the station's number in the dial plan and its device ID in events.
	Extension string
	// Username is the digest user name and the user part phones register with;
	// empty means Extension.
	Username string
	// Password is the digest password. Empty means the station is not
	// challenged (only for lab phones and load generators).
	Password string
	// StaticContact is a SIP URI to reach a phone that does not register
	// (e.g. "sip:1010@10.0.0.5:5060;transport=udp"). Optional.
	StaticContact string
	// AnswerMethod is how Answer makes the phone go off-hook.
	AnswerMethod AnswerMethod
	// AutoAnswer are the headers that ask this phone model to answer by
	// itself, sent on MakeCall's INVITE to the calling station and on
	// AnswerAutoAnswerReoffer. Empty means DefaultAutoAnswer(Config.Domain).
	AutoAnswer []Header
}

// DefaultAutoAnswer returns the auto-answer hints most phones honour:
// Call-Info answer-after=0 (RFC 7462 era BroadSoft/Polycom/Yealink/Snom
// convention) and an Alert-Info "auto answer" URN as used by Cisco and Grandstream.
func DefaultAutoAnswer(domain string) []Header {
	return []Header{
		{Name: "Call-Info", Value: fmt.Sprintf("<sip:%s>;answer-after=0", domain)},
		{Name: "Alert-Info", Value: "<http://127.0.0.1/autoanswer>;info=alert-autoanswer;delay=0"},
	}
}

// Trunk is the SIP gateway or proxy for numbers the dial plan sends outside.
// Requests from the trunk's address are treated as inbound calls from the outside.
type Trunk struct {
	// Addr is the gateway's host:port.
	Addr string
	// Transport is "udp" or "tcp" (default udp).
	Transport string
	// Domain is the host part of the Request-URI sent to the trunk; empty means Addr's host.
	Domain string
}

// Router is the dial plan as the switch sees it: where a dialled number
// goes. It is asked on every call, so a reloaded plan applies at once.
type Router interface {
	Route(dialled string) (Target, error)
}

// Target is where the dial plan routes a dialled number.
type Target struct {
	// Kind is a station of this switch or the trunk.
	Kind TargetKind
	// Extension is the station's extension (Kind == TargetStation).
	Extension string
	// Dial is the dial string sent to the trunk (Kind == TargetTrunk).
	Dial string
}

// Config configures a Switch. Zero values get the defaults documented on each field.
type Config struct {
	// Listen are the SIP sockets; default udp and tcp on 0.0.0.0:5060 (separate
	// from the Lync-facing port 11001).
	Listen []Listener
	// Domain is the digest realm and the host part of the URIs the switch uses;
	// default "rccserver".
	Domain string
	// AdvertiseHost is the host put in our Contact and SDP-free URIs; default
	// the listener's host (or 127.0.0.1 when it listens on all addresses).
	AdvertiseHost string
	// Stations are the phones.
	Stations []Station
	// Trunk is the gateway for outside numbers; nil means none.
	Trunk *Trunk
	// Router is the dial plan. Nil means: a station extension goes to the
	// station, anything else to the trunk unchanged.
	Router Router
	// RingTimeout is how long a station rings before forward-on-no-answer
	// applies; default 15 s.
	RingTimeout time.Duration
	// NoAnswerTimeout is how long a call rings before it fails with
	// CauseNoAnswer; default 60 s.
	NoAnswerTimeout time.Duration
	// SetupTimeout is how long to wait for any response to an INVITE before
	// the device counts as unreachable; default 5 s.
	SetupTimeout time.Duration
	// RegisterMinExpires and RegisterMaxExpires bound REGISTER expiry
	// (RFC 3261 §10.3); defaults 30 s and 3600 s.
	RegisterMinExpires, RegisterMaxExpires time.Duration
	// EventQueue is the per-subscriber event queue length; default 256.
	// A subscriber that falls this far behind loses events (counted).
	EventQueue int
	// Clock is the time source; default SystemClock.
	Clock Clock
	// Limits bound messages and connections on the phones' listeners
	// (sipedge); zero fields take their defaults.
	Limits sipedge.Limits
	// UserAgent is the User-Agent / Server header; default "rccserver-switch".
	UserAgent string
	// Access lists the peers (IPs and CIDRs: "10.0.0.5", "10.1.0.0/16")
	// allowed on the listeners. Empty allows everyone (a warning is logged
	// for a listener that is not on loopback). Others are refused before
	// SIP is read: a UDP datagram is dropped, a TCP connection closed, both
	// counted and logged Cs_PhoneAccessDenied. The trunk's address is
	// always allowed.
	Access []string
	// AuthMaxFailures is how many failed digest attempts one source IP may
	// make per AuthFailureWindow before its requests that need
	// authentication are refused with 403 (Cs_PhoneAuthRateLimited) until
	// the window ends; default 20, negative means no limit.
	AuthMaxFailures int
	// AuthFailureWindow is the fixed window of AuthMaxFailures; default 60 s.
	AuthFailureWindow time.Duration
	// LegProbeInterval is how often a confirmed call leg is probed with an
	// in-dialog OPTIONS (RFC 3261 §11); a leg whose device does not answer
	// within LegProbeTimeout, answers 481 or 408 (RFC 5057 §5.1), or cannot
	// be reached is lost: its connection is cleared with CauseOutOfService
	// (Cs_PhoneLegLost). Default 10 s; negative switches probing off.
	LegProbeInterval time.Duration
	// LegProbeTimeout bounds one probe; default 5 s. A device that vanished
	// is noticed within LegProbeInterval + LegProbeTimeout (15 s by default).
	LegProbeTimeout time.Duration
	// Store keeps registrations, forwarding, DND and call legs across a
	// restart (persist.go); nil keeps them in memory only. The caller
	// opens and closes it.
	Store state.Store
	// Peers are the other nodes of a cluster (peers.go); nil: a single node.
	Peers Peers
}

func (c *Config) setDefaults() {
	if len(c.Listen) == 0 {
		c.Listen = []Listener{{Network: "udp", Addr: "0.0.0.0:5060"}, {Network: "tcp", Addr: "0.0.0.0:5060"}}
	}
	if c.Domain == "" {
		c.Domain = "rccserver"
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 15 * time.Second
	}
	if c.NoAnswerTimeout <= 0 {
		c.NoAnswerTimeout = 60 * time.Second
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = 5 * time.Second
	}
	if c.RegisterMinExpires <= 0 {
		c.RegisterMinExpires = 30 * time.Second
	}
	if c.RegisterMaxExpires <= 0 {
		c.RegisterMaxExpires = time.Hour
	}
	if c.EventQueue <= 0 {
		c.EventQueue = 256
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.UserAgent == "" {
		c.UserAgent = "rccserver-switch"
	}
	if c.AuthMaxFailures == 0 {
		c.AuthMaxFailures = 20
	}
	if c.AuthFailureWindow <= 0 {
		c.AuthFailureWindow = time.Minute
	}
	if c.LegProbeInterval == 0 {
		c.LegProbeInterval = 10 * time.Second
	}
	if c.LegProbeTimeout <= 0 {
		c.LegProbeTimeout = 5 * time.Second
	}
	if c.Trunk != nil && c.Trunk.Transport == "" {
		c.Trunk.Transport = "udp"
	}
}

// Validate checks the configuration as New would, without binding
// anything, so a configuration check can report it. Keys are named as the
// fields are (listen[0].addr, trunk.transport, …).
func (c Config) Validate() error {
	c.setDefaults()
	return c.validate()
}

func (c *Config) validate() error {
	for i, l := range c.Listen {
		switch strings.ToLower(l.Network) {
		case "udp", "tcp":
		default:
			return fmt.Errorf("%w: listen[%d].network %q: want udp or tcp", ErrInvalidConfig, i, l.Network)
		}
		if _, _, err := sip.ParseAddr(l.Addr); err != nil {
			return fmt.Errorf("%w: listen[%d].addr %q: %v", ErrInvalidConfig, i, l.Addr, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Limits.Problems())) {
		return fmt.Errorf("%w: limits.%s: %s", ErrInvalidConfig, k, c.Limits.Problems()[k])
	}
	seen := map[string]bool{}
	users := map[string]bool{}
	for i, s := range c.Stations {
		if s.Extension == "" {
			return fmt.Errorf("%w: stations[%d].extension is empty", ErrInvalidConfig, i)
		}
		if seen[s.Extension] {
			return fmt.Errorf("%w: stations[%d].extension %q is duplicated", ErrInvalidConfig, i, s.Extension)
		}
		seen[s.Extension] = true
		u := s.Username
		if u == "" {
			u = s.Extension
		}
		if users[u] {
			return fmt.Errorf("%w: stations[%d].username %q is duplicated", ErrInvalidConfig, i, u)
		}
		users[u] = true
		if s.StaticContact != "" {
			var uri sip.Uri
			if err := sip.ParseUri(s.StaticContact, &uri); err != nil {
				return fmt.Errorf("%w: stations[%d].static_contact %q: %v", ErrInvalidConfig, i, s.StaticContact, err)
			}
		}
	}
	if t := c.Trunk; t != nil {
		if _, _, err := sip.ParseAddr(t.Addr); err != nil || t.Addr == "" {
			return fmt.Errorf("%w: trunk.addr %q: want host:port", ErrInvalidConfig, t.Addr)
		}
		switch strings.ToLower(t.Transport) {
		case "udp", "tcp":
		default:
			return fmt.Errorf("%w: trunk.transport %q: want udp or tcp", ErrInvalidConfig, t.Transport)
		}
	}
	if _, err := parseAccess(c.Access); err != nil {
		return err
	}
	if c.RegisterMinExpires > c.RegisterMaxExpires {
		return fmt.Errorf("%w: register min expires %v > max %v", ErrInvalidConfig, c.RegisterMinExpires, c.RegisterMaxExpires)
	}
	return nil
}
