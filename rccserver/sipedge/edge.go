package sipedge

import (
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

// Limits bound what one peer can make a listener hold. The zero value of
// a field means its default (DefaultLimits); docs/configuration.md lists them.
type Limits struct {
	// MaxMessageBytes bounds one SIP message, headers and body.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// MaxConnections bounds the open connections of one listener.
	MaxConnections int `mapstructure:"max_connections"`
	// MaxConnectionsPerIP bounds the open connections from one IP address.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	// IdleTimeout closes a connection that sent nothing for this long and
	// carries no dialog or registration.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MessageTimeout closes a connection whose message, once begun, is not
	// complete within this time.
	MessageTimeout time.Duration `mapstructure:"message_timeout"`
}

// DefaultLimits: sipgo's own message limit, room for a large Lync pool or
// many phones behind one NAT, and timeouts that outlast any sane sender.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:     65535,
		MaxConnections:      10000,
		MaxConnectionsPerIP: 1000,
		IdleTimeout:         60 * time.Second,
		MessageTimeout:      20 * time.Second,
	}
}

// WithDefaults fills the zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = d.MaxConnections
	}
	if l.MaxConnectionsPerIP <= 0 {
		l.MaxConnectionsPerIP = d.MaxConnectionsPerIP
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MessageTimeout <= 0 {
		l.MessageTimeout = d.MessageTimeout
	}
	return l
}

// Problems lists the settings that are negative or too small to work,
// keyed by their configuration name below prefix.
func (l Limits) Problems() map[string]string {
	out := map[string]string{}
	if l.MaxMessageBytes < 0 || (l.MaxMessageBytes > 0 && l.MaxMessageBytes < 1024) {
		out["max_message_bytes"] = "must be at least 1024 (0: default)"
	}
	if l.MaxMessageBytes > 1<<20 {
		out["max_message_bytes"] = "must be at most 1 MiB"
	}
	if l.MaxConnections < 0 {
		out["max_connections"] = "must not be negative (0: default)"
	}
	if l.MaxConnectionsPerIP < 0 {
		out["max_connections_per_ip"] = "must not be negative (0: default)"
	}
	if l.IdleTimeout < 0 || (l.IdleTimeout > 0 && l.IdleTimeout < time.Second) {
		out["idle_timeout"] = "must be at least 1s (0: default)"
	}
	if l.MessageTimeout < 0 || (l.MessageTimeout > 0 && l.MessageTimeout < time.Second) {
		out["message_timeout"] = "must be at least 1s (0: default)"
	}
	return out
}

// Options configure an Edge.
type Options struct {
	Limits Limits
	Log    zerolog.Logger
	// Count is told each refusal, for a metric. Nil: not counted.
	Count func(Code)
	// Busy reports whether the connection from remote (host:port) carries a
	// dialog or registration and so is never closed for idleness. Nil: none is.
	Busy func(remote string) bool
	// Now is the clock for idle accounting; nil is time.Now. Socket
	// deadlines always run on the system clock.
	Now func() time.Time
	// Answers, if set, takes the answers to the server's own INFOs on
	// stream connections straight from the framed bytes.
	Answers *Answers
	// Requests, if set, is offered the in-dialog INFOs on stream
	// connections before sipgo.
	Requests *Requests
}

// Edge is the shared state of the wrappers of one side (RCC or phones).
type Edge struct {
	lim   Limits
	log   zerolog.Logger
	count func(Code)
	busy  func(string) bool
	now   func() time.Time
	check checker
	rate  logLimiter
	ans   *Answers
	ansPf []byte // ans.Branch
	reqs  *Requests
}

// New returns an Edge with opts; zero limits take their defaults.
func New(opts Options) *Edge {
	e := &Edge{lim: opts.Limits.WithDefaults(), log: opts.Log, count: opts.Count, busy: opts.Busy, now: opts.Now}
	if a := opts.Answers; a != nil && a.Branch != "" && a.Take != nil {
		e.ans, e.ansPf = a, []byte(a.Branch)
	}
	if r := opts.Requests; r != nil && r.Take != nil {
		e.reqs = r
	}
	if e.count == nil {
		e.count = func(Code) {}
	}
	if e.busy == nil {
		e.busy = func(string) bool { return false }
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.check.parser = e.Parser()
	e.rate = logLimiter{perSecond: 20, now: e.now}
	return e
}

// Limits returns the limits in force, defaults filled in.
func (e *Edge) Limits() Limits { return e.lim }

// Parser returns a sipgo parser whose size limit is the edge's, for
// sipgo.WithUserAgentParser: a message the edge passes never exceeds it.
func (e *Edge) Parser() *sip.Parser {
	p := sip.NewParser()
	p.MaxMessageLength = e.lim.MaxMessageBytes
	return p
}

// refused counts and logs one refusal (log lines are rate-limited; the
// count is not).
func (e *Edge) refused(code Code, peer net.Addr, reason string, raw []byte) {
	e.count(code)
	ok, suppressed := e.rate.allow()
	if !ok {
		return
	}
	ev := e.log.Warn()
	if code == CodeAcceptError {
		ev = e.log.Error()
	}
	ev = ev.Str("code", string(code)).Str("reason", reason)
	if peer != nil {
		ev = ev.Str("peer", peer.String())
	}
	if len(raw) > 0 {
		ev = ev.Str("excerpt", Excerpt(raw))
	}
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg("refused at the SIP edge")
}

// logLimiter lets perSecond lines through per second and counts the rest,
// so a flood of bad input cannot fill the disk through the log.
type logLimiter struct {
	perSecond  int
	now        func() time.Time
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

func (l *logLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= l.perSecond {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
