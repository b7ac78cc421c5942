package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/cluster/etcdtest"
)

// startEtcd starts a one-member etcd (etcdtest).
func startEtcd(t *testing.T) *etcdtest.Member {
	t.Helper()
	return etcdtest.StartCluster(t, 1).Members[0]
}

// revokeLease revokes the lease of the record at key (a node's lease).
func revokeLease(t *testing.T, endpoint, key string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Get(ctx, key)
	if err != nil || len(res.Kvs) != 1 || res.Kvs[0].Lease == 0 {
		t.Fatalf("get %s: %v %v", key, res, err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(res.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke %s's lease: %v", key, err)
	}
}

// TestClusterStationOwnership: two rccserver nodes share one etcd. alice
// signs in on node A; her station cannot be signed in on node B (eve's
// line is the same station, and alice herself) until alice signs out on A.
// B's lease revoked: B drops its sessions silently and A adopts them.
// With etcd gone, A refuses new sign-ins with Cs_ClusterUnavailable.
func TestClusterStationOwnership(t *testing.T) {
	etcd := startEtcd(t)
	node := func(id string) *site {
		return startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", frontEnds: `["127.0.0.1"]`,
			cluster: fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1}", etcd.Client, id)})
	}
	a, b := node("node-a"), node("node-b")
	if !a.logged(`"joined the cluster"`) || !b.logged(`"joined the cluster"`) {
		t.Fatal("a node did not log joining the cluster")
	}
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	for _, user := range []string{"sip:eve@example.com", "sip:alice@example.com"} {
		if _, st, r := b.lync(user, aliceLine); st != 403 || r != "Cs_StationInUseByAnotherUser" {
			t.Fatalf("%s on B while alice holds 1010 on A: %d %s, want 403 Cs_StationInUseByAnotherUser", user, st, r)
		}
	}
	if m := b.metrics(t); m[`rcc_cluster_takes_refused_total{code="Cs_StationInUseByAnotherUser"}`] != 2 || m["rcc_cluster_lease_healthy"] != 1 {
		t.Fatalf("B's metrics: refused %v, lease %v", m[`rcc_cluster_takes_refused_total{code="Cs_StationInUseByAnotherUser"}`], m["rcc_cluster_lease_healthy"])
	}
	// B's local login was undone with the refused take: bob signs in on B.
	if _, st, r := b.lync("sip:bob@example.com", bobLine); st != 200 || r != "normal" {
		t.Fatalf("bob on B: %d %s", st, r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := alice.Bye(ctx); err != nil {
		t.Fatalf("alice signs out on A: %v", err)
	}
	// The release runs when A's session ends, just after the BYE's answer.
	deadline := time.Now().Add(5 * time.Second)
	var eve *lynctest.Client
	for {
		c, st, r := b.lync("sip:eve@example.com", aliceLine)
		if st == 200 && r == "normal" {
			eve = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eve on B after alice signed out on A: %d %s", st, r)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// B's lease revoked (as if it expired): B drops its sessions (eve's and
	// bob's) without a BYE, since their records went with the lease and A
	// adopts them (docs/cluster.md "Session adoption"); B refuses sign-ins.
	// The record is written just after the ACK: wait for it, or B's death
	// could come before it and leave nothing to adopt (Cs_SessionNotRecorded).
	waitKey(t, etcd.Client, "/rcc/session/"+eve.CallID(), true)
	revokeLease(t, etcd.Client, "/rcc/node/node-b")
	if !b.logged(`"cluster lease lost: sessions dropped without BYE`, `"sessions_dropped":2`) {
		t.Fatal("B did not log dropping the sessions of its lost lease")
	}
	if !a.logged(`"code":"Cs_SessionAdopted"`, `"call_id":"`+eve.CallID()+`"`) {
		t.Fatal("A did not adopt eve's session")
	}
	noBye(t, eve, time.Second, "eve")
	// eve signs out on A, which adopted her session: station 1010 is free.
	turnTo(t, eve, a)
	if err := eve.Bye(ctx); err != nil {
		t.Fatalf("eve signs out on A: %v", err)
	}
	waitKey(t, etcd.Client, "/rcc/station/1010", false)
	if _, st, r := b.lync("sip:alice@example.com", aliceLine); st != 503 || r != "Cs_ClusterUnavailable" {
		t.Fatalf("alice on B after its lease was lost: %d %s, want 503 Cs_ClusterUnavailable", st, r)
	}
	if m := b.metrics(t); m["rcc_cluster_lease_healthy"] != 0 || m[`rcc_cluster_node_info{node="node-b",role="lease-lost"}`] != 1 {
		t.Fatalf("B's lease gauge after the loss: %v, role lease-lost %v", m["rcc_cluster_lease_healthy"], m[`rcc_cluster_node_info{node="node-b",role="lease-lost"}`])
	}

	// etcd gone: no quorum, no new sign-in on any node; what is held stays.
	etcd.Kill()
	if _, st, r := a.lync("sip:alice@example.com", aliceLine); st != 503 || r != "Cs_ClusterUnavailable" {
		t.Fatalf("alice on A without etcd: %d %s, want 503 Cs_ClusterUnavailable", st, r)
	}
}

// TestClusterSharedState: two nodes share registrations and features
// through etcd. Both phones register with node A only; alice sets
// forwarding and DND on A, signs out, signs in on node B and finds them
// set; her MakeCall on B rings both phones (registered through A: nobody
// re-registered with B). Then A is killed (-9) in the call: when its lease
// ends, B clears the call on both phones and alice's monitor on B gets
// ConnectionCleared for the call.
func TestClusterSharedState(t *testing.T) {
	etcd := startEtcd(t)
	node := func(id string) *site {
		return startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
			cluster: fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1}", etcd.Client, id)})
	}
	a, b := node("node-a"), node("node-b")
	pa := a.phone("1010", "auto")
	pb := a.phone("1020", "manual")
	if !b.logged(`"device":"1010"`, `"device":"1020"`, `"registered through another node"`) {
		t.Fatal("B did not learn the registrations made through A")
	}

	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	request(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardBusy, ActivateForward: csta.Bool(true), ForwardDN: "tel:+13175551030"})
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(true)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := alice.Bye(ctx); err != nil {
		t.Fatalf("alice signs out on A: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		alice, st, r = b.lync("sip:alice@example.com", aliceLine)
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice on B after signing out on A: %d %s", st, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := request(t, alice, &csta.GetDoNotDisturb{Device: aliceLine}); !got.(*csta.GetDoNotDisturbResponse).DoNotDisturbOn {
		t.Error("DND set on A is off on B")
	}
	fw := request(t, alice, &csta.GetForwarding{Device: aliceLine}).(*csta.GetForwardingResponse)
	on := false
	for _, f := range fw.ForwardingList {
		on = on || (f.ForwardingType == csta.ForwardBusy && f.ForwardStatus && strings.Contains(f.ForwardDN, "1030"))
	}
	if !on {
		t.Errorf("busy forwarding to 1030 set on A not seen on B: %+v", fw.ForwardingList)
	}

	mc, ok := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall on B refused")
	}
	pa.WaitEvent("CALL_ESTABLISHED")
	pb.WaitEvent("CALL_INCOMING")
	pb.Accept()
	pb.WaitEvent("CALL_ESTABLISHED")
	if strings.Contains(b.logs.String(), `"message":"registered"`) {
		t.Fatal("a phone registered with B: the test would prove nothing")
	}
	// bob signs in on A after the call was placed (so B placed it alone)
	// and monitors his line: A's switch does not see B's call, but is told
	// when B's death clears it.
	bob, st, r := a.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob on A: %d %s", st, r)
	}
	request(t, bob, &csta.MonitorStart{MonitorObject: bobLine})

	// B, which holds the call, is killed: when its lease ends (2 s), A
	// sends both phones a BYE in B's dialogs.
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd.Process = nil
	killed := time.Now()
	pa.WaitEvent("CALL_CLOSED")
	pb.WaitEvent("CALL_CLOSED")
	t.Logf("both phones hung up %v after B was killed (lease TTL 2 s)", time.Since(killed).Round(100*time.Millisecond))
	if ev := next[*csta.ConnectionClearedEvent](t, bob); ev.DroppedConnection.CallID != mc.CallingDevice.CallID {
		t.Errorf("bob's ConnectionCleared on A for call %q, want B's call %q", ev.DroppedConnection.CallID, mc.CallingDevice.CallID)
	}
	if !a.logged(`"code":"Cs_ClusterNodeDead"`, `"dead_node":"node-b"`, `"legs":2`) ||
		strings.Count(a.logs.String(), `"code":"Cs_DeadNodeCallCleared"`) != 2 {
		t.Errorf("A's log lacks B's death and two Cs_DeadNodeCallCleared")
	}
	if m := a.metrics(t); m["rcc_cluster_dead_nodes_total"] != 1 || m["rcc_cluster_dead_legs_cleared_total"] != 2 {
		t.Errorf("A's metrics: dead nodes %v, legs cleared %v; want 1 and 2", m["rcc_cluster_dead_nodes_total"], m["rcc_cluster_dead_legs_cleared_total"])
	}
}

// TestClusterCallBetweenNodes: alice is signed in on node A, bob on node B,
// each monitoring the line; their phones registered with their own node.
// alice's MakeCall to bob on A is sent to B, which rings bob's phone:
// alice's client sees the call through A's events, bob's through B's,
// from delivery through answer to bob hanging up.
func TestClusterCallBetweenNodes(t *testing.T) {
	etcd := startEtcd(t)
	node := func(id string) *site {
		return startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
			cluster: fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1}", etcd.Client, id)})
	}
	a, b := node("node-a"), node("node-b")
	pa := a.phone("1010", "auto")
	pb := b.phone("1020", "manual")
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	bob, st, r := b.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob on B: %d %s", st, r)
	}
	request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine})
	request(t, bob, &csta.MonitorStart{MonitorObject: bobLine})
	// A's watch learns that bob's station is B's.
	if !a.logged(`"station":"1020","holder":"node-b"`) {
		t.Fatal("A did not learn that B serves 1020")
	}
	mc, ok := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall on A refused")
	}
	pa.WaitEvent("CALL_ESTABLISHED")
	pb.WaitEvent("CALL_INCOMING")
	if !a.logged(`"call sent to the node serving the station"`) {
		t.Error("A did not log sending the call to B")
	}
	dv := until(t, bob, func(e *csta.DeliveredEvent) bool { return true })
	if !strings.Contains(dv.CallingDevice.DeviceIdentifier, "1010") || dv.Connection.CallID == mc.CallingDevice.CallID {
		t.Errorf("bob's Delivered on B = %+v, want from 1010 under B's call ID", dv)
	}
	until(t, alice, func(e *csta.DeliveredEvent) bool { return e.Connection.CallID == mc.CallingDevice.CallID })
	pb.Accept()
	pb.WaitEvent("CALL_ESTABLISHED")
	until(t, bob, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == dv.Connection.CallID })
	until(t, alice, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == mc.CallingDevice.CallID })
	pb.Hangup()
	pa.WaitEvent("CALL_CLOSED")
	until(t, bob, func(e *csta.ConnectionClearedEvent) bool { return e.DroppedConnection.CallID == dv.Connection.CallID })
	until(t, alice, func(e *csta.ConnectionClearedEvent) bool {
		return e.DroppedConnection.CallID == mc.CallingDevice.CallID
	})
}

// TestClusterLoneNodeCrash: the only node of a cluster is killed (-9) in a
// call, so no other node clears it; when it starts again under the same
// ID (after its lease ended) it finds the call's legs in etcd's history and
// sends both phones a BYE (Cs_StaleCallCleared), as a single node with a
// state file does.
func TestClusterLoneNodeCrash(t *testing.T) {
	etcd := startEtcd(t)
	a := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
		cluster: fmt.Sprintf("{etcd: [%q], node_id: node-a, lease_ttl: 2, dial_timeout: 1}", etcd.Client)})
	pa := a.phone("1010", "auto")
	pb := a.phone("1020", "manual")
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice: %d %s", st, r)
	}
	if ans := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}); ans.Root() != "MakeCallResponse" {
		t.Fatalf("MakeCall answered %s", ans.Root())
	}
	pa.WaitEvent("CALL_ESTABLISHED")
	pb.WaitEvent("CALL_INCOMING")
	pb.Accept()
	pb.WaitEvent("CALL_ESTABLISHED")

	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	a.cmd.Process = nil
	time.Sleep(3 * time.Second) // the lease (2 s) ends: the node ID is free again
	from := a.restart(false)
	pa.WaitEvent("CALL_CLOSED")
	pb.WaitEvent("CALL_CLOSED")
	if !a.logged(`calls left by this node's previous run"`) || strings.Count(a.logs.String()[from:], `"code":"Cs_StaleCallCleared"`) != 2 {
		t.Errorf("want the previous run's calls found and two Cs_StaleCallCleared in the new run:\n%s", a.logs.String()[from:])
	}
}
