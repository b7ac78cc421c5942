package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/station/cluster/etcdtest"
)

// obsRecorder is an Observer that keeps what it is told.
type obsRecorder struct {
	mu   sync.Mutex
	ops  map[Op]int
	errs map[Op]int
	dead []string
}

func (r *obsRecorder) EtcdRequest(op Op, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops, r.errs = map[Op]int{}, map[Op]int{}
	}
	r.ops[op]++
	if err != nil {
		r.errs[op]++
	}
}

func (r *obsRecorder) NodeDead(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead = append(r.dead, node)
}

func (r *obsRecorder) count(op Op) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ops[op]
}

// TestJoinOverTLS: a real etcd serving its clients over TLS and requiring
// a client certificate (--client-cert-auth). A node with the CA and a
// client certificate joins and takes a station; one trusting another CA,
// or presenting no certificate, is refused with ErrTLS
// (Cs_ClusterTLSFailed). The observer sees each request by kind.
func TestJoinOverTLS(t *testing.T) {
	f, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := certs.ClientConfig(f.CA, f.ClientCert, f.ClientKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ep := etcdtest.StartTLS(t, etcdtest.ServerTLS{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA}, good)

	rec := &obsRecorder{}
	n, err := Join(context.Background(), Config{Endpoints: []string{ep}, Node: "tls-a", LeaseTTL: 2 * time.Second,
		RequestTimeout: time.Second, TLS: good, Observer: rec})
	if err != nil {
		t.Fatalf("Join over TLS with a client certificate: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	ctx := ctxT(t)
	if err := n.Take(ctx, "1010", "alice"); err != nil {
		t.Fatalf("Take over TLS: %v", err)
	}
	if o, ok, err := n.Owner(ctx, "1010"); err != nil || !ok || o.Node != "tls-a" {
		t.Fatalf("Owner over TLS: %+v %v %v", o, ok, err)
	}
	if err := n.Release(ctx, "1010", "alice"); err != nil {
		t.Fatalf("Release over TLS: %v", err)
	}
	if rec.count(OpTake) != 1 || rec.count(OpRelease) != 1 || rec.count(OpRead) != 1 {
		t.Errorf("observer: %v, want one take, one release, one read", rec.ops)
	}
	if err := eventually(3*time.Second, func() error {
		if rec.count(OpRenew) == 0 {
			return errors.New("no renewal observed")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	rogue, err := certs.ClientConfig(f.RogueCA, f.ClientCert, f.ClientKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	noCert, err := certs.ClientConfig(f.CA, "", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		tls  *Config
		want error
	}{
		"wrong CA":            {&Config{TLS: rogue}, ErrTLS},
		"no client cert":      {&Config{TLS: noCert}, ErrTLS},
		"plain http to https": {&Config{}, nil},
	} {
		cfg := *tc.tls
		cfg.Endpoints, cfg.Node, cfg.LeaseTTL, cfg.RequestTimeout = []string{ep}, "tls-bad", 2*time.Second, time.Second
		if tc.want == nil {
			cfg.Endpoints = []string{"http" + ep[len("https"):]}
		}
		start := time.Now()
		n, err := Join(context.Background(), cfg)
		if err == nil {
			_ = n.Close()
			t.Errorf("%s: joined", name)
			continue
		}
		if tc.want != nil && (!errors.Is(err, tc.want) || Code(err) != CodeTLS) {
			t.Errorf("%s: %v (code %s), want %v (%s)", name, err, Code(err), tc.want, CodeTLS)
		}
		t.Logf("%s: refused after %v: %s: %v", name, time.Since(start).Round(time.Millisecond), Code(err), err)
	}
}

// TestConfigSchemes: endpoints mixing http:// and https://, and TLS with
// http:// endpoints, are refused without connecting.
func TestConfigSchemes(t *testing.T) {
	base := Config{Node: "a"}
	for _, c := range []Config{
		{Endpoints: []string{"http://10.0.0.1:2379", "https://10.0.0.2:2379"}},
		{Endpoints: []string{"http://10.0.0.1:2379"}, TLS: mustClientConfig(t)},
		{Endpoints: []string{"10.0.0.1:2379"}},
	} {
		c.Node = base.Node
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%v, tls %v) = %v, want ErrInvalidConfig", c.Endpoints, c.TLS != nil, err)
		}
	}
	if err := (Config{Node: "a", Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}}).Validate(); err != nil {
		t.Errorf("https endpoints without TLS settings (system CAs): %v", err)
	}
}

func mustClientConfig(t *testing.T) *tls.Config {
	t.Helper()
	c, err := certs.ClientConfig("", "", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BenchmarkTakeRelease: one station taken and released (two etcd
// transactions, each a Raft commit) by a node over plain http:// and by a
// node over TLS with a client certificate, each against its own one-member
// etcd started in the same run (docs/performance.md "TLS to etcd").
func BenchmarkTakeRelease(b *testing.B) {
	f, err := certs.InitDevPKI(b.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		b.Fatal(err)
	}
	good, err := certs.ClientConfig(f.CA, f.ClientCert, f.ClientKey, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	plain := etcdtest.Start(b)
	secure := etcdtest.StartTLS(b, etcdtest.ServerTLS{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA}, good)
	for _, tc := range []struct {
		name string
		ep   string
		tls  *tls.Config
	}{{"http", plain, nil}, {"https-client-cert", secure, good}} {
		n, err := Join(context.Background(), Config{Endpoints: []string{tc.ep}, Node: "bench", LeaseTTL: 6 * time.Second, TLS: tc.tls})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				if err := n.Take(ctx, "1010", "alice"); err != nil {
					b.Fatal(err)
				}
				if err := n.Release(ctx, "1010", "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
		_ = n.Close()
	}
}
