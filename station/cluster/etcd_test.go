package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/cluster/etcdtest"
)

// startEtcd starts an n-member etcd (etcdtest) and returns its members
// and client URLs.
func startEtcd(t *testing.T, n int) ([]*etcdtest.Member, []string) {
	t.Helper()
	c := etcdtest.StartCluster(t, n)
	return c.Members, c.Endpoints
}

// join joins node id with a 2 s lease (etcd's minimum with these timings is 1.5 s).
func join(t *testing.T, endpoints []string, id string) *Node {
	t.Helper()
	n, err := Join(context.Background(), Config{Endpoints: endpoints, Node: id, LeaseTTL: 2 * time.Second, RequestTimeout: time.Second})
	if err != nil {
		t.Fatalf("Join(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually retries f until it returns nil or d passes; it returns the last error.
func eventually(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
