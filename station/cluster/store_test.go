package cluster

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rccserver/rccserver/station/state"
)

// recorder collects what the watch hands over, in order.
type recorder struct {
	mu      sync.Mutex
	changes []Change
	log     []string // "sessions <node> <n>", "legs <node> <n>"
	legs    []DeadLeg
	records []DeadRecord
}

func (r *recorder) change(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recorder) hook(n *Node) {
	n.OnDeadSessions(func(node string, s []DeadRecord) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.log = append(r.log, "sessions "+node)
		r.records = append(r.records, s...)
	})
	n.OnDeadLegs(func(node string, l []DeadLeg) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.log = append(r.log, "legs "+node)
		r.legs = append(r.legs, l...)
	})
}

func (r *recorder) snapshot() ([]Change, []string, []DeadLeg, []DeadRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes), slices.Clone(r.log), slices.Clone(r.legs), slices.Clone(r.records)
}

func mustNil(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreShared: registrations and features written by one node are
// read by another; legs are each node's own; bad keys are refused.
func TestStoreShared(t *testing.T) {
	_, ep := startEtcd(t, 1)
	a, b := join(t, ep, "a"), join(t, ep, "b")
	sa, sb := a.Store(), b.Store()
	exp := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	reg := state.Registration{Extension: "1010", Contact: "sip:1010@127.0.0.1:5070", Source: "127.0.0.1:5070",
		Transport: "UDP", Expires: exp, Path: []string{"<sip:p1@proxy;lr>", "<sip:p2@edge;lr>"}}
	feat := state.Features{Extension: "1010", DND: true, Forwarding: []state.Forward{{Type: "immediate", On: true, Destination: "1020"}}}
	leg := state.Leg{CallID: "c/1@x", Device: "1010", LocalTag: "a", RemoteTag: "b", CSeq: 9, Station: "1010", CallRef: "ref1"}
	mustNil(t, sa.PutRegistration(reg), sa.PutRegistration(state.Registration{Extension: "1020", Contact: "sip:1020@h"}),
		sb.DeleteRegistration("1020"), sa.PutFeatures(feat), sa.PutLeg(leg), sa.PutLeg(state.Leg{CallID: "c2"}), sa.DeleteLeg("c2"),
		sb.PutLeg(state.Leg{CallID: "cb"}))
	if sb.Revision() != 0 {
		t.Errorf("Revision before any read = %d", sb.Revision())
	}
	regs, err := sb.Registrations()
	mustNil(t, err)
	if d := cmp.Diff([]state.Registration{reg}, regs); d != "" {
		t.Errorf("b's registrations (-want +got):\n%s", d)
	}
	if sb.Revision() == 0 {
		t.Error("Revision after a read = 0")
	}
	feats, err := sb.Features()
	mustNil(t, err)
	if d := cmp.Diff([]state.Features{feat}, feats); d != "" {
		t.Errorf("b's features (-want +got):\n%s", d)
	}
	legs, err := sa.Legs()
	mustNil(t, err)
	if d := cmp.Diff([]state.Leg{leg}, legs); d != "" {
		t.Errorf("a's legs (-want +got):\n%s", d)
	}
	if legs, _ := sb.Legs(); len(legs) != 1 || legs[0].CallID != "cb" {
		t.Errorf("b's legs = %+v, want its own only", legs)
	}
	for _, err := range []error{sa.PutRegistration(state.Registration{}), sa.PutFeatures(state.Features{Extension: "a/b"}), sa.PutLeg(state.Leg{})} {
		if !errors.Is(err, state.ErrInvalid) {
			t.Errorf("invalid record: %v, want state.ErrInvalid", err)
		}
	}
	// a's legs are under its lease: gone when it leaves.
	mustNil(t, a.Close())
	if err := sa.PutLeg(leg); !errors.Is(err, state.ErrClosed) {
		t.Errorf("PutLeg after Close = %v, want state.ErrClosed", err)
	}
	res, err := b.cli.Get(ctxT(t), b.cfg.Prefix+"leg/a/", clientv3.WithPrefix())
	mustNil(t, err)
	if len(res.Kvs) != 0 {
		t.Errorf("a's legs after it left: %d", len(res.Kvs))
	}
	if regs, _ := sb.Registrations(); len(regs) != 1 {
		t.Errorf("registrations after a left: %+v, want kept", regs)
	}
}

// TestWatchChanges: another node's registrations, unREGISTERs and feature
// changes reach the watch callback; the node's own writes do not.
func TestWatchChanges(t *testing.T) {
	_, ep := startEtcd(t, 1)
	a, b := join(t, ep, "a"), join(t, ep, "b")
	sa, sb := a.Store(), b.Store()
	var rec recorder
	_, err := sb.Registrations()
	mustNil(t, err)
	reg := state.Registration{Extension: "1010", Contact: "sip:1010@127.0.0.1:5070", Transport: "UDP",
		Expires: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Path: []string{"<sip:p@proxy;lr>"}}
	// Written after b's read but before its watch started: not missed.
	mustNil(t, sa.PutRegistration(reg))
	b.Watch(sb.Revision()+1, rec.change)
	feat := state.Features{Extension: "1020", DND: true}
	mustNil(t, sa.PutFeatures(feat), sb.PutRegistration(state.Registration{Extension: "1030", Contact: "sip:x@y"}),
		sb.PutFeatures(state.Features{Extension: "1030"}), sa.DeleteRegistration("1010"))
	want := []Change{
		{Kind: ChangeRegistration, Ext: "1010", Registration: reg},
		{Kind: ChangeFeatures, Ext: "1020", Features: feat},
		{Kind: ChangeRegistrationDeleted, Ext: "1010"},
	}
	err = eventually(5*time.Second, func() error {
		got, _, _, _ := rec.snapshot()
		if d := cmp.Diff(want, got); d != "" {
			return errors.New(d)
		}
		return nil
	})
	if err != nil {
		t.Errorf("changes seen by b (-want +got):\n%v", err)
	}
}

// TestDeadNodeHooks: node a dies (its keep-alive stops, the lease
// expires); b and c get a's session records before its legs, exactly one
// of them is told to send the BYE for each leg; legs a removed itself
// (hang-up) are not reported, nor are the legs of a node that stops
// cleanly.
func TestDeadNodeHooks(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	a, b, c, d := join(t, ep, "a"), join(t, ep, "b"), join(t, ep, "c"), join(t, ep, "d")
	var rb, rc recorder
	for _, x := range []struct {
		n *Node
		r *recorder
	}{{b, &rb}, {c, &rc}} {
		x.r.hook(x.n)
		x.n.Watch(0, x.r.change)
	}
	sa := a.Store()
	leg1 := state.Leg{CallID: "call-1", Device: "1010", Station: "1010", CallRef: "ref-1", CSeq: 3}
	leg2 := state.Leg{CallID: "call-2", Device: "2001", CallRef: "ref-1"}
	mustNil(t, sa.PutLeg(leg1), sa.PutLeg(leg2), sa.PutLeg(state.Leg{CallID: "hung-up"}), sa.DeleteLeg("hung-up"))
	_, err := a.cli.Put(ctx, a.cfg.Prefix+"session/sip-call-9", `{"user":"alice"}`, clientv3.WithLease(a.lease))
	mustNil(t, err)
	// d stops cleanly: it deletes its leg itself, then revokes.
	mustNil(t, d.Store().PutLeg(state.Leg{CallID: "d-leg"}), d.Store().DeleteLeg("d-leg"), d.Close())

	killed := time.Now()
	a.cancel() // a crash: no more keep-alives, no revoke
	err = eventually(10*time.Second, func() error {
		_, lb, _, _ := rb.snapshot()
		_, lc, _, _ := rc.snapshot()
		if len(lb) < 2 || len(lc) < 2 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("a's death not reported to b and c within 10 s")
	}
	t.Logf("a's death reported %v after its keep-alive stopped (TTL 2 s)", time.Since(killed).Round(100*time.Millisecond))
	time.Sleep(300 * time.Millisecond) // anything more would be wrong
	byes := map[string]int{}
	for name, r := range map[string]*recorder{"b": &rb, "c": &rc} {
		_, log, legs, recs := r.snapshot()
		if d := cmp.Diff([]string{"sessions a", "legs a"}, log); d != "" {
			t.Errorf("%s's hook calls (-want +got):\n%s", name, d)
		}
		if d := cmp.Diff([]DeadRecord{{Key: "sip-call-9", Value: []byte(`{"user":"alice"}`)}}, recs); d != "" {
			t.Errorf("%s's dead sessions (-want +got):\n%s", name, d)
		}
		var got []state.Leg
		for _, l := range legs {
			got = append(got, l.Leg)
			if l.Bye {
				byes[l.CallID]++
			}
		}
		slices.SortFunc(got, func(x, y state.Leg) int { return strings.Compare(x.CallID, y.CallID) })
		if d := cmp.Diff([]state.Leg{leg1, leg2}, got); d != "" {
			t.Errorf("%s's dead legs (-want +got):\n%s", name, d)
		}
	}
	if byes["call-1"] != 1 || byes["call-2"] != 1 {
		t.Errorf("BYE claims = %v, want one node per leg", byes)
	}
}

// TestWatchDropsChangesOlderThanOwnWrite: a change of another node that
// etcd ordered before this node's own later write to the same key (the
// watch delivers it late) is not applied over it.
func TestWatchDropsChangesOlderThanOwnWrite(t *testing.T) {
	n := &Node{cfg: Config{Node: "b", Prefix: "/rcc/"}, written: map[string]int64{}}
	n.wroteAt("/rcc/reg/1010", 10)
	var got []Change
	rec := func(c Change) { got = append(got, c) }
	del := func(rev int64) *clientv3.Event {
		return &clientv3.Event{Type: clientv3.EventTypeDelete, Kv: &mvccpb.KeyValue{Key: []byte("/rcc/reg/1010"), ModRevision: rev}}
	}
	n.handle([]*clientv3.Event{del(9)}, rec)
	if len(got) != 0 {
		t.Errorf("a delete older than our write was applied: %+v", got)
	}
	n.handle([]*clientv3.Event{del(11)}, rec)
	if len(got) != 1 || got[0].Kind != ChangeRegistrationDeleted {
		t.Errorf("a newer delete: %+v", got)
	}
	// Once the watch has passed our write, its record goes (the map would
	// otherwise grow by one key per session and station for ever).
	n.wroteAt("/rcc/session/x", 12)
	n.forgetWrites(11)
	if len(n.written) != 1 {
		t.Errorf("after the watch passed revision 11: %v", n.written)
	}
	n.forgetWrites(12)
	if len(n.written) != 0 {
		t.Errorf("after the watch passed revision 12: %v", n.written)
	}
}

// TestPeers: a node's watch knows the other nodes' SIP addresses and which
// node holds each station, from its start on (a take before the watch
// started) and as they change (take, release, a node leaving).
func TestPeers(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	joinAt := func(id, sip string) *Node {
		n, err := Join(ctx, Config{Endpoints: ep, Node: id, LeaseTTL: 2 * time.Second, RequestTimeout: time.Second, SIPAddr: sip})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		return n
	}
	a, b := joinAt("a", "127.0.0.1:5071"), joinAt("b", "127.0.0.1:5072")
	mustNil(t, a.Take(ctx, "1010", "alice"), b.Take(ctx, "1030", "carol"))
	b.Watch(0, nil)
	wait := func(what string, cond func() bool) {
		t.Helper()
		if eventually(5*time.Second, func() error {
			if !cond() {
				return errors.New(what)
			}
			return nil
		}) != nil {
			t.Fatalf("timeout: %s", what)
		}
	}
	wait("b sees 1010 on a", func() bool { addr, ok := b.NodeFor("1010"); return ok && addr == "127.0.0.1:5071" })
	if _, ok := b.NodeFor("1030"); ok {
		t.Error("b's own station routed to a peer")
	}
	if !b.IsPeer("127.0.0.1:5071") || b.IsPeer("127.0.0.1:5072") || b.IsPeer("127.0.0.1:9") {
		t.Error("IsPeer: want a's address only")
	}
	mustNil(t, a.Take(ctx, "1020", "bob"))
	wait("b sees 1020 on a", func() bool { _, ok := b.NodeFor("1020"); return ok })
	mustNil(t, a.Release(ctx, "1010", "alice"))
	wait("1010 released", func() bool { _, ok := b.NodeFor("1010"); return !ok })
	mustNil(t, a.Close())
	wait("a gone", func() bool { _, ok := b.NodeFor("1020"); return !ok && !b.IsPeer("127.0.0.1:5071") })
}

// TestOrphanLegsAfterRestart: a node that crashed with calls up and no
// other node alive finds the legs of its previous run when it joins again
// under the same ID (Legs, once); a leg another node claimed is not
// returned; after a clean stop there is nothing.
func TestOrphanLegsAfterRestart(t *testing.T) {
	_, ep := startEtcd(t, 1)
	a := join(t, ep, "a")
	if legs, err := a.Store().Legs(); err != nil || len(legs) != 0 {
		t.Fatalf("first run's Legs = %v %v", legs, err)
	}
	leg1, leg2 := state.Leg{CallID: "c-1", Device: "1010", CSeq: 4}, state.Leg{CallID: "c-2", Device: "1020"}
	mustNil(t, a.Store().PutLeg(leg1), a.Store().PutLeg(leg2), a.Store().PutLeg(state.Leg{CallID: "ended"}), a.Store().DeleteLeg("ended"))
	// Another node claimed c-2 (it was watching when a died, and ended it).
	b := join(t, ep, "b")
	if !b.claim("leg/c-2") {
		t.Fatal("b's claim")
	}
	a.cancel() // crash: the lease expires
	var a2 *Node
	if err := eventually(10*time.Second, func() error {
		n, err := Join(ctxT(t), Config{Endpoints: ep, Node: "a", LeaseTTL: 2 * time.Second, RequestTimeout: time.Second})
		a2 = n
		return err
	}); err != nil {
		t.Fatalf("rejoin: %v", err)
	}
	t.Cleanup(func() { _ = a2.Close() })
	legs, err := a2.Store().Legs()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]state.Leg{leg1}, legs); d != "" {
		t.Errorf("legs of the previous run (-want +got):\n%s", d)
	}
	if legs, _ := a2.Store().Legs(); len(legs) != 0 {
		t.Errorf("second Legs call = %v, want none", legs)
	}
	// A clean stop leaves nothing for the next run.
	mustNil(t, a2.Store().PutLeg(state.Leg{CallID: "c-3"}), a2.Store().DeleteLeg("c-3"), a2.Close())
	a3 := join(t, ep, "a")
	if legs, err := a3.Store().Legs(); err != nil || len(legs) != 0 {
		t.Errorf("Legs after a clean stop = %v %v", legs, err)
	}
}
