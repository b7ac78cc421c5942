package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// Config configures a Node. Zero values get the defaults documented on each field.
type Config struct {
	// Endpoints are the etcd members' client URLs (http://10.0.0.1:2379, …).
	Endpoints []string
	// Node is this node's ID, unique among live nodes; no "/".
	Node string
	// Prefix is the key prefix; default "/rcc/".
	Prefix string
	// LeaseTTL is the node lease's TTL: how long a dead node's stations
	// stay held; default 6 s. etcd may grant more (its minimum TTL).
	LeaseTTL time.Duration
	// RequestTimeout bounds one etcd request; default 2 s.
	RequestTimeout time.Duration
	// Clock is the time source; default clock.System.
	Clock clock.Clock
	// Log receives state changes; default none.
	Log zerolog.Logger
	// SIPAddr is the node's SIP address (host:port, UDP) that the other
	// nodes send calls between nodes to and recognise them by (NodeFor,
	// IsPeer); "" takes no such calls.
	SIPAddr string
	// TLS is the client's TLS configuration for https:// endpoints (the
	// CA that signed etcd's certificate, optionally a client
	// certificate); nil with https:// endpoints trusts the system's CAs.
	// The server's certificate is always verified.
	TLS *tls.Config
	// Observer receives request latencies and dead nodes; default none.
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "/rcc/"
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 6 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

// Validate checks the configuration without connecting.
func (c Config) Validate() error {
	c.setDefaults()
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("%w: endpoints: none", ErrInvalidConfig)
	}
	if c.Node == "" || strings.Contains(c.Node, "/") {
		return fmt.Errorf("%w: node %q: want a non-empty ID without /", ErrInvalidConfig, c.Node)
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL%time.Second != 0 {
		return fmt.Errorf("%w: lease_ttl %v: want whole seconds, at least 2 s", ErrInvalidConfig, c.LeaseTTL)
	}
	return c.validateSchemes()
}

// validateSchemes refuses endpoints mixing http:// and https:// (a member
// reached in clear would undo the others' TLS) and a TLS configuration
// with plain endpoints (it would be silently unused) or that skips
// verifying the server.
func (c Config) validateSchemes() error {
	var plain, secure int
	for _, e := range c.Endpoints {
		switch {
		case strings.HasPrefix(e, "https://"):
			secure++
		case strings.HasPrefix(e, "http://"):
			plain++
		default:
			return fmt.Errorf("%w: endpoint %q: want http://host:port or https://host:port", ErrInvalidConfig, e)
		}
	}
	switch {
	case plain > 0 && secure > 0:
		return fmt.Errorf("%w: endpoints mix http:// and https://: use one scheme for every member", ErrInvalidConfig)
	case c.TLS != nil && plain > 0:
		return fmt.Errorf("%w: TLS set but the endpoints are http://: use https://", ErrInvalidConfig)
	case c.TLS != nil && c.TLS.InsecureSkipVerify:
		return fmt.Errorf("%w: TLS without verifying etcd's certificate", ErrInvalidConfig)
	}
	return nil
}

// Owner is who holds a station.
type Owner struct {
	Node string `json:"node"`
	User string `json:"user"`
}

// Node is this process's membership: its lease and the stations it holds.
// Create it with Join, end it with Close. Methods are safe for concurrent use.
type Node struct {
	cfg   Config
	log   zerolog.Logger
	cli   *clientv3.Client
	lease clientv3.LeaseID

	ctx    context.Context // cancelled by Close; ends keepAlive
	cancel context.CancelFunc
	done   chan struct{} // closed when keepAlive returned

	mu         sync.Mutex
	validUntil time.Time         // the lease is certainly alive before this
	lost       bool              // etcd said the lease is gone
	lostCh     chan struct{}     // closed when lost becomes true
	held       map[string]string // station -> user, as this node wrote them
	last       LeaseState        // for logging changes
	closeOnce  sync.Once

	// Shared state (store.go, watch.go); guarded by mu.
	readRev      int64            // revision of the store's first list read
	written      map[string]int64 // key -> revision of this node's latest write
	sessionHooks []func(node string, sessions []DeadRecord)
	legHooks     []func(node string, legs []DeadLeg)

	peers     peers // the other nodes and who holds each station (peers.go)
	prevRun   int64 // revision at which this node ID's previous run joined; 0: none known (orphans.go)
	orphans   sync.Once
	watchOnce sync.Once
	watchWG   sync.WaitGroup // the watch goroutine
}

// Join connects to etcd, grants the node's lease, records the node and
// keeps the lease alive until Close. A live node with the same ID makes
// it fail with ErrNodeIDInUse.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsCfg := cfg.TLS
	if tlsCfg == nil && strings.HasPrefix(cfg.Endpoints[0], "https://") {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12} // the system's CAs
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints, DialTimeout: cfg.RequestTimeout, Logger: zap.NewNop(), TLS: tlsCfg,
		// gRPC keep-alive notices a dead member (https://etcd.io/docs/v3.5/learning/design-client/).
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: cfg.RequestTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	n := &Node{cfg: cfg, log: cfg.Log.With().Str("component", "cluster").Str("node", cfg.Node).Logger(),
		cli: cli, done: make(chan struct{}), lostCh: make(chan struct{}), held: map[string]string{},
		written: map[string]int64{}, peers: peers{sip: map[string]string{}, owners: map[string]string{}}}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.join(ctx); err != nil {
		n.cancel()
		_ = cli.Close()
		if tlsCfg != nil && errors.Is(err, ErrUnavailable) {
			err = diagnoseTLS(ctx, cfg.Endpoints, tlsCfg, cfg.RequestTimeout, err)
		}
		return nil, err
	}
	go n.keepAlive()
	n.log.Info().Int64("lease", int64(n.lease)).Dur("ttl", cfg.LeaseTTL).Msg("joined the cluster")
	return n, nil
}

func (n *Node) join(ctx context.Context) error {
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	sent := n.cfg.Clock.Now()
	g, err := n.cli.Grant(rctx, int64(n.cfg.LeaseTTL/time.Second))
	if err != nil {
		if isTLS(err) {
			return fmt.Errorf("%w: lease grant: %w", ErrTLS, err)
		}
		return fmt.Errorf("%w: lease grant: %w", ErrUnavailable, err)
	}
	n.lease = g.ID
	n.validUntil = sent.Add(time.Duration(g.TTL) * time.Second)
	val, _ := json.Marshal(nodeRecord{Started: sent.UTC().Format(time.RFC3339), SIP: n.cfg.SIPAddr})
	key := n.cfg.Prefix + "node/" + n.cfg.Node
	info := n.cfg.Prefix + kindNodeInfo + n.cfg.Node
	res, err := n.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val), clientv3.WithLease(n.lease)), clientv3.OpGet(info)).
		Commit()
	if err == nil && !res.Succeeded {
		err = fmt.Errorf("%w: %s", ErrNodeIDInUse, n.cfg.Node)
	} else if err != nil {
		err = n.classify(err)
	}
	if err != nil {
		_, _ = n.cli.Revoke(rctx, n.lease)
		return err
	}
	n.rememberRun(rctx, info, res)
	return nil
}

// reqCtx bounds one request and makes it fail at once when the member
// has no leader instead of waiting (clientv3.WithRequireLeader).
func (n *Node) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(ctx), n.cfg.RequestTimeout)
}

// keepAlive renews the lease every third of its TTL until Close or loss.
// It uses KeepAliveOnce rather than the KeepAlive stream so that the time
// each renewal was sent is known: the server renewed the lease after that
// moment, so the lease is alive until sent+TTL at least.
func (n *Node) keepAlive() {
	defer close(n.done)
	for {
		if clock.Sleep(n.ctx, n.cfg.Clock, n.cfg.LeaseTTL/3) != nil {
			return
		}
		sent := n.cfg.Clock.Now()
		ctx, cancel := n.reqCtx(n.ctx)
		res, err := n.cli.KeepAliveOnce(ctx, n.lease)
		cancel()
		n.observe(OpRenew, sent, err)
		switch {
		case err == nil && res.TTL > 0:
			n.mu.Lock()
			n.validUntil = sent.Add(time.Duration(res.TTL) * time.Second)
			n.mu.Unlock()
		case isLeaseGone(err):
			n.lose()
			return
		case n.ctx.Err() != nil:
			return
		}
		n.logChange()
	}
}

// logChange logs a change of State.
func (n *Node) logChange() {
	s := n.State()
	n.mu.Lock()
	prev := n.last
	n.last = s
	n.mu.Unlock()
	if s == prev {
		return
	}
	switch s {
	case LeaseUnconfirmed:
		n.log.Warn().Str("code", CodeUnavailable).Msg("etcd does not confirm the node lease: taking nothing new, keeping what is held")
	case LeaseHealthy:
		n.log.Info().Msg("node lease confirmed")
	}
}

func isLeaseGone(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(err, rpctypes.ErrGRPCLeaseNotFound)
}

// lose marks the lease gone: etcd deleted every record attached to it, so
// the node forgets what it held.
func (n *Node) lose() {
	n.mu.Lock()
	if n.lost {
		n.mu.Unlock()
		return
	}
	n.lost = true
	dropped := len(n.held)
	n.held = map[string]string{}
	close(n.lostCh)
	n.last = LeaseLost
	n.mu.Unlock()
	n.log.Error().Str("code", CodeLeaseLost).Int("stations_dropped", dropped).Msg("node lease lost: acting for no station")
}

// classify maps an etcd error to this package's sentinels. A TLS failure
// after the join (a member's certificate replaced) stays ErrUnavailable,
// which callers answer with 503; its text is in the error.
func (n *Node) classify(err error) error {
	switch {
	case isLeaseGone(err):
		n.lose()
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrGRPCTimeout), unavailableCode(err), strings.Contains(err.Error(), "Unavailable"):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	default:
		return fmt.Errorf("cluster: %w", err)
	}
}

// unavailableCode reports an etcd server error of gRPC code Unavailable:
// its request timeouts (leader lost, connection lost while waiting) mean
// etcd cannot serve now, like no leader.
func unavailableCode(err error) bool {
	var ee rpctypes.EtcdError
	return errors.As(err, &ee) && ee.Code() == codes.Unavailable
}

// isTLS reports a failed TLS handshake with etcd (its certificate not
// trusted, ours refused). gRPC hands it back as text inside an
// Unavailable status, not as a typed error, so the text is matched.
func isTLS(err error) bool {
	s := err.Error()
	return strings.Contains(s, "authentication handshake failed") || strings.Contains(s, "x509: ") ||
		strings.Contains(s, "tls: ") || strings.Contains(s, "remote error: tls")
}

// State returns what the node knows about its lease now.
func (n *Node) State() LeaseState {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.lost:
		return LeaseLost
	case n.cfg.Clock.Now().Before(n.validUntil):
		return LeaseHealthy
	default:
		return LeaseUnconfirmed
	}
}

// Healthy reports whether the lease is certainly alive: only then may the
// node act for its stations as their only owner.
func (n *Node) Healthy() bool { return n.State() == LeaseHealthy }

// Lost is closed when etcd reports the lease gone.
func (n *Node) Lost() <-chan struct{} { return n.lostCh }

// ID returns the node's ID.
func (n *Node) ID() string { return n.cfg.Node }

// usable refuses work when the lease is not certainly alive.
func (n *Node) usable() error {
	select {
	case <-n.ctx.Done():
		return ErrClosed
	default:
	}
	switch s := n.State(); s {
	case LeaseHealthy:
		return nil
	case LeaseLost:
		return ErrLeaseLost
	default:
		return fmt.Errorf("%w: lease %s", ErrUnavailable, s)
	}
}

func (n *Node) stationKey(ext string) string { return n.cfg.Prefix + "station/" + ext }

// Take takes station ext for user on this node: one transaction that puts
// the record under the node's lease if the key does not exist (etcd
// compare-and-swap on CreateRevision). Taking a station this node already
// holds for the same user succeeds; any other holder gives ErrStationInUse.
func (n *Node) Take(ctx context.Context, ext, user string) error {
	if err := n.usable(); err != nil {
		return err
	}
	key := n.stationKey(ext)
	val, _ := json.Marshal(Owner{Node: n.cfg.Node, User: user})
	created, cur, err := n.createOnce(ctx, key, val, OpTake)
	if err != nil {
		return err
	}
	if !created {
		var o Owner
		if cur != nil {
			_ = json.Unmarshal(cur.Value, &o)
		}
		if o.Node != n.cfg.Node || o.User != user || cur == nil || clientv3.LeaseID(cur.Lease) != n.lease {
			return fmt.Errorf("%w: %s held by %s on node %s", ErrStationInUse, ext, o.User, o.Node)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lost {
		return ErrLeaseLost
	}
	n.held[ext] = user
	return nil
}

// Release gives up station ext held by this node for user (logout): the
// record is deleted only if it is still this node's (compare the value).
func (n *Node) Release(ctx context.Context, ext, user string) error {
	n.mu.Lock()
	held, ok := n.held[ext]
	n.mu.Unlock()
	if !ok || held != user {
		return fmt.Errorf("%w: %s for %s", ErrNotHeld, ext, user)
	}
	key := n.stationKey(ext)
	val, _ := json.Marshal(Owner{Node: n.cfg.Node, User: user})
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	_, err := n.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.Value(key), "=", string(val))).
		Then(clientv3.OpDelete(key)).
		Commit()
	n.observe(OpRelease, start, err)
	if err != nil {
		return n.classify(err)
	}
	n.mu.Lock()
	delete(n.held, ext)
	n.mu.Unlock()
	return nil
}

// Owner reads who holds station ext in etcd; ok is false when nobody does.
func (n *Node) Owner(ctx context.Context, ext string) (o Owner, ok bool, err error) {
	kv, err := n.get(ctx, n.stationKey(ext))
	if err != nil || kv == nil {
		return Owner{}, false, err
	}
	if err := json.Unmarshal(kv.Value, &o); err != nil {
		return Owner{}, false, fmt.Errorf("cluster: %s: %w", ext, err)
	}
	return o, true, nil
}

// Held returns the stations this node holds (station -> user) as it last
// wrote them; kept while etcd is out of reach, emptied when the lease is lost.
func (n *Node) Held() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.held)
}

// Close leaves the cluster: stops the keep-alive and the watch, revokes the lease (so
// the node's stations are free at once, not after the TTL) and closes the
// client. It waits for the keep-alive goroutine.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		<-n.done
		n.watchWG.Wait()
		if n.State() != LeaseLost {
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
			_, _ = n.cli.Revoke(ctx, n.lease) // best effort: otherwise the TTL frees them
			cancel()
		}
		_ = n.cli.Close()
	})
	return nil
}

// createOnce puts key=val under this node's lease in one transaction if
// the key was never created (CreateRevision 0), so that of racing nodes
// exactly one wins; otherwise it returns the record that is there (nil if
// it went meanwhile). op names the request for the observer.
func (n *Node) createOnce(ctx context.Context, key string, val []byte, op Op) (created bool, cur *mvccpb.KeyValue, err error) {
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	res, err := n.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val), clientv3.WithLease(n.lease))).
		Else(clientv3.OpGet(key)).
		Commit()
	n.observe(op, start, err)
	if err != nil {
		return false, nil, n.classify(err)
	}
	if res.Succeeded {
		n.wroteAt(key, res.Header.Revision)
		return true, nil, nil
	}
	if kvs := res.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		cur = kvs[0]
	}
	return false, cur, nil
}

// get reads one key: nil when there is none.
func (n *Node) get(ctx context.Context, key string) (*mvccpb.KeyValue, error) {
	rctx, cancel := n.reqCtx(ctx)
	defer cancel()
	start := n.cfg.Clock.Now()
	res, err := n.cli.Get(rctx, key)
	n.observe(OpRead, start, err)
	if err != nil {
		return nil, n.classify(err)
	}
	if len(res.Kvs) == 0 {
		return nil, nil
	}
	return res.Kvs[0], nil
}
