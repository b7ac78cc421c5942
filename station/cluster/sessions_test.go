package cluster

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSessionRecords: a node's session record is under its lease; another
// node sees it as the holder; only the holder deletes it; after the
// holder's lease ends, of several nodes claiming the record exactly one
// wins, and the dead node's record is handed to the session hooks.
func TestSessionRecords(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	a, b, c := join(t, ep, "a"), join(t, ep, "b"), join(t, ep, "c")
	var mu sync.Mutex
	var dead []DeadRecord
	var deadNode string
	b.OnDeadSessions(func(node string, recs []DeadRecord) {
		mu.Lock()
		defer mu.Unlock()
		deadNode, dead = node, append(dead, recs...)
	})
	b.Watch(0, nil)

	rec := []byte(`{"call_id":"cid1","node":"a"}`)
	if err := a.PutSession(ctx, "cid1", rec); err != nil {
		t.Fatal(err)
	}
	if node, ok, err := b.SessionHolder(ctx, "cid1"); err != nil || !ok || node != "a" {
		t.Fatalf("SessionHolder = %q %v %v", node, ok, err)
	}
	if won, err := b.ClaimSession(ctx, "cid1", []byte(`{"node":"b"}`)); err != nil || won {
		t.Fatalf("claim of a live node's record = %v %v, want lost", won, err)
	}
	if err := b.DeleteSession(ctx, "cid1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.SessionHolder(ctx, "cid1"); !ok {
		t.Fatal("another node's DeleteSession removed the record")
	}
	if err := a.PutSession(ctx, "cid2", []byte(`{"call_id":"cid2","node":"a"}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteSession(ctx, "cid2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.SessionHolder(ctx, "cid2"); ok {
		t.Fatal("the holder's DeleteSession left the record")
	}

	// a dies: its lease is revoked as if it expired (without Close's own deletes).
	if _, err := a.cli.Revoke(ctx, a.lease); err != nil {
		t.Fatal(err)
	}
	if err := eventually(5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(dead) != 1 || dead[0].Key != "cid1" || deadNode != "a" || string(dead[0].Value) != string(rec) {
			return errors.New("no dead record yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("dead records %q of %q: %v", dead, deadNode, err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for _, n := range []*Node{b, c} {
		wg.Go(func() {
			won, err := n.ClaimSession(ctx, "cid1", []byte(`{"node":"`+n.ID()+`"}`))
			if err != nil {
				t.Error(err)
			}
			if won {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d nodes won the claim, want 1", wins.Load())
	}
	if _, err := a.ClaimSession(ctx, "cid3", nil); !errors.Is(err, ErrLeaseLost) && !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim by a node without a lease = %v", err)
	}
}
