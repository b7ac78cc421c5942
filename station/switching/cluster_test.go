package switching

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/rccserver/rccserver/station/cluster"
	"github.com/rccserver/rccserver/station/cluster/etcdtest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// clusterSwitch is a switch on a cluster node whose store is etcd, with
// other nodes' changes and dead nodes' legs applied to it as the daemon
// wires them.
func clusterSwitch(t *testing.T, endpoint, id string) (*Switch, *cluster.Node) {
	t.Helper()
	// The node advertises the switch's UDP address for calls between nodes.
	addr := fmt.Sprintf("127.0.0.1:%d", phonetest.FreePort(t))
	n, err := cluster.Join(t.Context(), cluster.Config{Endpoints: []string{endpoint}, Node: id, LeaseTTL: 2 * time.Second,
		RequestTimeout: time.Second, SIPAddr: addr})
	if err != nil {
		t.Fatalf("Join(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = n.Close() }) // after the switch's cleanup (LIFO)
	cfg := twoStations()
	cfg.Listen = []Listener{{Network: "udp", Addr: addr}}
	cfg.Store = n.Store()
	cfg.Peers = n
	sw := startSwitch(t, cfg)
	n.OnDeadLegs(func(_ string, legs []cluster.DeadLeg) {
		fl := make([]ForeignLeg, 0, len(legs))
		for _, l := range legs {
			fl = append(fl, ForeignLeg{Leg: l.Leg, Bye: l.Bye})
		}
		sw.ClearForeignLegs(fl)
	})
	n.Watch(n.Store().Revision()+1, func(c cluster.Change) {
		switch c.Kind {
		case cluster.ChangeRegistration:
			sw.ApplyRegistration(c.Registration)
		case cluster.ChangeRegistrationDeleted:
			sw.ApplyUnregistration(c.Ext)
		case cluster.ChangeFeatures:
			sw.ApplyFeatures(c.Features)
		}
	})
	return sw, n
}

// TestClusterDeadNodeCallCleared: two switches on two nodes share one real
// etcd. Two baresip phones register with switch A only; switch B learns
// their registrations and A's DND change. A call placed by A is recorded
// in etcd with its stations and call reference; when A's lease ends (a
// crash), B sends both phones a BYE in A's dialogs and B's subscribers of
// both stations get EventCleared for A's call reference.
func TestClusterDeadNodeCallCleared(t *testing.T) {
	ep := etcdtest.Start(t)
	swA, _ := clusterSwitch(t, ep, "a")
	swB, _ := clusterSwitch(t, ep, "b")
	p1 := phone(t, swA, "1010", "secret10", "auto")
	p2 := phone(t, swA, "1020", "secret20", "manual")
	waitFor(t, "B to learn both registrations", func() bool { return swB.Registered("1010") && swB.Registered("1020") })
	if err := swA.SetDND("1030", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to learn 1030's DND", func() bool { on, _ := swB.DND("1030"); return on })

	ref, err := swA.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	p1.WaitEvent("CALL_ESTABLISHED")
	p2.WaitEvent("CALL_INCOMING")
	p2.Accept()
	p2.WaitEvent("CALL_ESTABLISHED")
	ev1, ev2 := subscribe(t, swB, "1010"), subscribe(t, swB, "1020")

	// A crashes: its lease is revoked (as its expiry would do), the switch
	// itself stays silent.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	waitFor(t, "A's two leg records", func() bool {
		res, err := cli.Get(t.Context(), "/rcc/leg/a/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && res.Count == 2
	})
	res, err := cli.Get(t.Context(), "/rcc/node/a")
	if err != nil || len(res.Kvs) != 1 {
		t.Fatalf("node/a: %v %v", res, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(res.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p1.WaitEvent("CALL_CLOSED")
	p2.WaitEvent("CALL_CLOSED")
	t.Logf("both phones hung up %v after A's lease ended", time.Since(start).Round(time.Millisecond))
	for _, s := range []*Subscription{ev1, ev2} {
		e := next(t, s, EventCleared, inCall(ref.CallID))
		if e.Subject != s.Device() || e.State != ConnNull {
			t.Errorf("B's event for %s = %+v", s.Device(), e)
		}
	}
	waitFor(t, "two Cs_DeadNodeCallCleared", func() bool { return swB.Refusals()[CodeDeadNodeCallCleared] == 2 })
}

// TestClusterCallBetweenNodes: station 1020's user is signed in on node B
// (B holds the station). A MakeCall on switch A from 1010 to 1020 is sent
// to switch B, which rings 1020's phone: A's subscribers of 1010 and B's
// subscribers of 1020 both see the call (each under its switch's call ID)
// through answer, hold and retrieve by A, and hang-up. A call B receives from A is never sent on.
func TestClusterCallBetweenNodes(t *testing.T) {
	ep := etcdtest.Start(t)
	swA, _ := clusterSwitch(t, ep, "a")
	swB, nb := clusterSwitch(t, ep, "b")
	p1 := phone(t, swA, "1010", "secret10", "auto")
	p2 := phone(t, swB, "1020", "secret20", "manual")
	if err := nb.Take(t.Context(), "1020", "bob"); err != nil {
		t.Fatal(err)
	}
	// A learns that B serves 1020 from its watch.
	waitFor(t, "A to learn B's station", func() bool {
		if peers, ok := swA.cfg.Peers.(*cluster.Node); ok {
			_, ok := peers.NodeFor("1020")
			return ok
		}
		return false
	})
	waitFor(t, "A to learn 1020's registration", func() bool { return swA.Registered("1020") })
	ea, eb := subscribe(t, swA, "1010"), subscribe(t, swB, "1020")
	ref, err := swA.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	p1.WaitEvent("CALL_ESTABLISHED")
	p2.WaitEvent("CALL_INCOMING")
	dB := next(t, eb, EventDelivered, about("1020"))
	if dB.Calling != "1010" || dB.Called != "1020" || dB.CallID == ref.CallID {
		t.Errorf("B's delivered = %+v, want 1010 -> 1020 under B's own call ID", dB)
	}
	next(t, ea, EventDelivered, inCall(ref.CallID))
	p2.Accept()
	p2.WaitEvent("CALL_ESTABLISHED")
	next(t, eb, EventEstablished, inCall(dB.CallID))
	next(t, ea, EventEstablished, inCall(ref.CallID))
	// Hold and retrieve on A: B relays them to the phone and tells its
	// subscribers that the other party (1010) holds.
	if err := swA.Hold(t.Context(), "1010", ref.CallID); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	next(t, ea, EventHeld, inCall(ref.CallID))
	next(t, eb, EventHeld, inCall(dB.CallID), about("1010"))
	if err := swA.Retrieve(t.Context(), "1010", ref.CallID); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	next(t, ea, EventRetrieved, inCall(ref.CallID))
	next(t, eb, EventRetrieved, inCall(dB.CallID), about("1010"))
	p2.Hangup()
	p1.WaitEvent("CALL_CLOSED")
	next(t, eb, EventCleared, inCall(dB.CallID), about("1020"))
	next(t, ea, EventCleared, inCall(ref.CallID), about("1010"))
	waitFor(t, "no calls left", func() bool {
		a, _ := swA.Snapshot("1010")
		b, _ := swB.Snapshot("1020")
		return len(a) == 0 && len(b) == 0
	})
}

// TestClusterCallBetweenNodesPeerDies: in a call from A to B's station,
// B's lease ends. A ends the call on 1010's phone (B's leg to 1020's
// phone gets a BYE from A, and B's leg from A is A's own dialog, ended by
// the BYE A sends itself); A's subscribers see the call cleared under
// A's call ID only, never B's.
func TestClusterCallBetweenNodesPeerDies(t *testing.T) {
	ep := etcdtest.Start(t)
	swA, _ := clusterSwitch(t, ep, "a")
	swB, nb := clusterSwitch(t, ep, "b")
	p1 := phone(t, swA, "1010", "secret10", "auto")
	p2 := phone(t, swB, "1020", "secret20", "auto")
	if err := nb.Take(t.Context(), "1020", "bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to learn B's station", func() bool {
		_, ok := swA.cfg.Peers.(*cluster.Node).NodeFor("1020")
		return ok
	})
	waitFor(t, "A to learn 1020's registration", func() bool { return swA.Registered("1020") })
	ea := subscribe(t, swA, "1010")
	ref, err := swA.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	p1.WaitEvent("CALL_ESTABLISHED")
	p2.WaitEvent("CALL_ESTABLISHED")
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1020"))
	revoke(t, ep, "b")
	p1.WaitEvent("CALL_CLOSED")
	p2.WaitEvent("CALL_CLOSED")
	ev := next(t, ea, EventCleared, about("1010"))
	if ev.CallID != ref.CallID {
		t.Errorf("A's subscriber of 1010 got EventCleared for call %q, want only A's %q", ev.CallID, ref.CallID)
	}
	if ev, err := nextErr(ea, EventCleared, 500*time.Millisecond, func(e Event) bool { return e.CallID != ref.CallID }); err == nil {
		t.Errorf("EventCleared for another call: %+v", ev)
	}
}

// revoke revokes node id's lease, as its expiry would.
func revoke(t *testing.T, endpoint, id string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	res, err := cli.Get(t.Context(), "/rcc/node/"+id)
	if err != nil || len(res.Kvs) != 1 {
		t.Fatalf("node/%s: %v %v", id, res, err)
	}
	if _, err := cli.Revoke(t.Context(), clientv3.LeaseID(res.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
}
