package switching

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// Switch is the switching function: registrar, B2BUA and call model.
// Create it with New, run it with Serve, stop it with Close. All methods
// are safe for concurrent use.
type Switch struct {
	cfg Config
	log zerolog.Logger

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client

	udpConns  []net.PacketConn
	tcpLns    []net.Listener
	addrs     map[string]net.Addr // "udp"/"tcp" -> first listener's address
	contacts  map[string]*sip.ContactHeader
	udpLaddr  sip.Addr
	trunkAddr string // resolved ip:port of the trunk, to recognise its requests

	stMu     sync.RWMutex        // guards stations and byUser: AddStation changes them at run time
	stations map[string]*Station // by extension
	byUser   map[string]*Station // by digest user name and by extension

	model *model
	pub   *publisher
	reg   *registrar

	legsMu sync.Mutex
	legs   map[string]*leg // SIP Call-ID -> leg

	acksMu sync.Mutex
	acks   map[string]chan struct{} // "Call-ID CSeq" of a 2xx we sent -> ACK arrived

	nonceKey [32]byte

	edge      *sipedge.Edge                              // the phones' listeners' framing and limits (edge.go)
	handlers  map[sip.RequestMethod]sipgo.RequestHandler // what sipgo calls, by method
	guard     *phoneGuard                                // phones' access list (phoneaccess.go)
	authLimit *authLimiter                               // failed digest attempts per source (authlimit.go)
	refusals  refusalCounts                              // by log code (logcodes.go)

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	bgMu    sync.Mutex
	bgStop  bool
	bg      sync.WaitGroup
	closing atomic.Bool
	once    sync.Once
}

// New validates cfg, binds the listeners and returns a Switch ready to Serve.
func New(cfg Config, log zerolog.Logger) (*Switch, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sw := &Switch{
		cfg: cfg, log: log.With().Str("component", "switching").Logger(),
		addrs: map[string]net.Addr{}, contacts: map[string]*sip.ContactHeader{},
		stations: map[string]*Station{}, byUser: map[string]*Station{},
		legs: map[string]*leg{}, acks: map[string]chan struct{}{},
	}
	_, _ = rand.Read(sw.nonceKey[:])
	var exts []string
	for i := range cfg.Stations {
		s := &sw.cfg.Stations[i]
		if s.Username == "" {
			s.Username = s.Extension
		}
		if len(s.AutoAnswer) == 0 {
			s.AutoAnswer = DefaultAutoAnswer(cfg.Domain)
		}
		sw.stations[s.Extension] = s
		sw.byUser[s.Username] = s
		sw.byUser[s.Extension] = s
		exts = append(exts, s.Extension)
	}
	sw.pub = newPublisher(cfg.EventQueue)
	sw.model = newModel(cfg.Clock, sw.pub, exts)
	sw.model.spawn = sw.spawn
	sw.reg = newRegistrar(sw)
	sw.ctx, sw.cancel = context.WithCancel(context.Background())

	if t := cfg.Trunk; t != nil {
		a, err := net.ResolveUDPAddr("udp", t.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w: trunk.addr %q: %v", ErrInvalidConfig, t.Addr, err)
		}
		sw.trunkAddr = a.String()
	}
	sw.guard = newPhoneGuard(&sw.cfg, sw.trunkAddr, sw.log, &sw.refusals)
	sw.authLimit = newAuthLimiter(&sw.cfg)

	sw.edge = sipedge.New(sipedge.Options{Limits: cfg.Limits, Log: sw.log, Now: cfg.Clock.Now,
		Count: sw.countEdge, Busy: sw.carriesState})
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentParser(sw.edge.Parser()),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(sw.onStrayResponse)),
	)
	if err != nil {
		return nil, fmt.Errorf("switching: sip user agent: %w", err)
	}
	sw.ua = ua
	if sw.srv, err = sipgo.NewServer(ua); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("switching: sip server: %w", err)
	}
	if sw.cli, err = sipgo.NewClient(ua); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("switching: sip client: %w", err)
	}
	if err := sw.bind(); err != nil {
		sw.closeSockets()
		_ = ua.Close()
		return nil, err
	}
	sw.routes()
	sw.restoreState()
	return sw, nil
}

// bind opens the listening sockets so that Addr is known before Serve.
func (sw *Switch) bind() error {
	for _, l := range sw.cfg.Listen {
		network := strings.ToLower(l.Network)
		var addr net.Addr
		switch network {
		case "udp":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				return fmt.Errorf("switching: listen udp %s: %w", l.Addr, err)
			}
			sw.guard.warnOpen(sw.log, network, pc.LocalAddr())
			// The access list first, then the edge's checks of what is let in.
			sw.udpConns = append(sw.udpConns, sw.edge.PacketConn(sw.guard.packetConn(pc)))
			addr = pc.LocalAddr()
			if sw.udpLaddr.Port == 0 {
				ua := addr.(*net.UDPAddr)
				sw.udpLaddr = sip.Addr{IP: ua.IP, Port: ua.Port}
			}
		case "tcp":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				return fmt.Errorf("switching: listen tcp %s: %w", l.Addr, err)
			}
			sw.guard.warnOpen(sw.log, network, ln.Addr())
			sw.tcpLns = append(sw.tcpLns, sw.edge.StreamListener(sw.guard.listener(ln)))
			addr = ln.Addr()
		}
		if _, ok := sw.addrs[network]; ok {
			continue
		}
		sw.addrs[network] = addr
		host, port, _ := net.SplitHostPort(addr.String())
		if sw.cfg.AdvertiseHost != "" {
			host = sw.cfg.AdvertiseHost
		} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		uri := sip.Uri{Scheme: "sip", User: "switch", Host: host}
		fmt.Sscan(port, &uri.Port)
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", network)
		sw.contacts[strings.ToUpper(network)] = &sip.ContactHeader{Address: uri}
	}
	return nil
}

func (sw *Switch) closeSockets() {
	for _, c := range sw.udpConns {
		_ = c.Close()
	}
	for _, l := range sw.tcpLns {
		_ = l.Close()
	}
}

// Addr returns the address the switch listens on for network ("udp" or
// "tcp"), or nil if it has no such listener.
func (sw *Switch) Addr(network string) net.Addr { return sw.addrs[strings.ToLower(network)] }

// contact returns our Contact for a transport (one per listener, so that
// the device's ACK and in-dialog requests come back on the same transport).
func (sw *Switch) contact(transport string) *sip.ContactHeader {
	if c, ok := sw.contacts[strings.ToUpper(transport)]; ok {
		return c
	}
	for _, c := range sw.contacts {
		return c
	}
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: sw.cfg.Domain}}
}

// Serve serves SIP on the bound listeners until ctx is cancelled or Close
// is called, then shuts the switch down. It returns nil after a clean
// shutdown.
func (sw *Switch) Serve(ctx context.Context) error {
	// Serve owns the listener goroutines: it waits for every one below.
	n := len(sw.udpConns) + len(sw.tcpLns)
	errc := make(chan error, n)
	for _, c := range sw.udpConns {
		go func() { errc <- sw.srv.ServeUDP(c) }()
	}
	for _, l := range sw.tcpLns {
		go func() { errc <- sw.srv.ServeTCP(l) }()
	}
	sw.spawn(sw.clearStaleLegs)
	var first error
	select {
	case <-ctx.Done():
	case <-sw.ctx.Done():
	case first = <-errc:
		n--
	}
	_ = sw.Close()
	for ; n > 0; n-- {
		<-errc
	}
	if sw.closing.Load() && first != nil && (errors.Is(first, net.ErrClosed)) {
		first = nil
	}
	return first
}

// Close clears every call (BYE, CANCEL or a 503 to pending INVITEs), stops
// the timers and goroutines, closes the subscriptions and the listeners.
func (sw *Switch) Close() error {
	sw.once.Do(func() {
		sw.closing.Store(true)
		sw.clearAll()
		sw.bgMu.Lock()
		sw.bgStop = true
		sw.bgMu.Unlock()
		sw.cancel()
		sw.bg.Wait()
		sw.reg.stop()
		sw.pub.close()
		sw.closeSockets()
		sipedge.CloseUA(sw.ua)
	})
	return nil
}

// spawn runs f in a goroutine that Close waits for; once the switch stops
// its goroutines, f does not run.
func (sw *Switch) spawn(f func()) { sw.startOwned(f, false) }

// spawnOrRun runs f in a goroutine that Close waits for, or right here
// when the switch is already stopping its goroutines.
func (sw *Switch) spawnOrRun(f func()) { sw.startOwned(f, true) }

// enterOwned counts the caller as one of the switch's goroutines, unless the
// switch is stopping them; the caller then calls sw.bg.Done when it ends.
func (sw *Switch) enterOwned() bool {
	sw.bgMu.Lock()
	defer sw.bgMu.Unlock()
	if sw.bgStop {
		return false
	}
	sw.bg.Add(1)
	return true
}

func (sw *Switch) startOwned(f func(), runIfStopping bool) {
	sw.bgMu.Lock()
	if sw.bgStop {
		sw.bgMu.Unlock()
		if runIfStopping {
			f()
		}
		return
	}
	sw.bg.Add(1)
	sw.bgMu.Unlock()
	go func() {
		defer sw.bg.Done()
		f()
	}()
}

// Subscribe returns a subscription to the events of station ext, or of
// every device when ext is "". See Subscription for the queue policy.
func (sw *Switch) Subscribe(ext string) (*Subscription, error) {
	if ext != "" {
		if sw.stationByExt(ext) == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownDevice, ext)
		}
	}
	return sw.pub.add(ext)
}

// DroppedEvents returns how many events all subscribers lost to full queues
// (each loss also queued an EventResync for its subscriber); a counter for
// metrics.
func (sw *Switch) DroppedEvents() uint64 { return sw.pub.dropped.Load() }

func (sw *Switch) addLeg(l *leg) {
	sw.legsMu.Lock()
	sw.legs[l.callID] = l
	sw.legsMu.Unlock()
	sw.watch(l)
}

func (sw *Switch) forgetLeg(l *leg) {
	sw.legsMu.Lock()
	if sw.legs[l.callID] == l {
		delete(sw.legs, l.callID)
	}
	sw.legsMu.Unlock()
	l.unwatch()
	sw.dropLeg(l)
}

func (sw *Switch) legByCallID(id string) *leg {
	sw.legsMu.Lock()
	defer sw.legsMu.Unlock()
	return sw.legs[id]
}

// onStrayResponse sees responses that match no transaction: a retransmitted
// 2xx to an INVITE whose ACK got lost is ACKed again (RFC 3261 §13.2.2.4).
// (sipgo re-ACKs only through WriteAck, see leg.ack, cf. sipgo #120.)
func (sw *Switch) onStrayResponse(res *sip.Response) {
	if !res.IsSuccess() || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE || res.CallID() == nil {
		return
	}
	if l := sw.legByCallID(res.CallID().Value()); l != nil {
		l.mu.Lock()
		ok := l.confirmed && !l.ended && res.CSeq().SeqNo == l.inviteSeq
		body := l.localSDP
		hadOffer := l.invite != nil && len(l.invite.Body()) > 0
		l.mu.Unlock()
		if ok {
			if hadOffer {
				body = nil
			}
			l.ack(body)
		}
	}
}
