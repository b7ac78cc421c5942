package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// waitKey waits until key exists in etcd (want) or not, and returns its value.
func waitKey(t *testing.T, endpoint, key string, want bool) string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := cli.Get(ctx, key)
		cancel()
		if err == nil && (len(res.Kvs) == 1) == want {
			if want {
				return string(res.Kvs[0].Value)
			}
			return ""
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd key %s present=%v not reached: %v", key, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// turnTo points the client's requests at node s (as the front end would
// re-dispatch them to a live node).
func turnTo(t *testing.T, c *lynctest.Client, s *site) {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri("sip:"+s.rccAddr+";transport=tcp", &u); err != nil {
		t.Fatal(err)
	}
	c.Retarget(u)
}

// kill9 ends the node's process with SIGKILL.
func (s *site) kill9() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd.Process = nil
}

// noBye fails if the client gets a BYE within d.
func noBye(t *testing.T, c *lynctest.Client, d time.Duration, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if r, err := c.WaitBye(ctx); err == nil {
		t.Fatalf("%s got a BYE (from %s)", who, r.Source())
	}
}

// TestClusterSessionAdoption: two built nodes on one real etcd, lease TTL
// 2 s. alice signs in on A and starts a monitor; A's record is in etcd.
// kill -9 A: B adopts the session (Cs_SessionAdopted, the metric); alice's
// next request, sent to B at once, waits for the adoption and is answered; she gets B's UPDATE with B's
// Contact; a DND change made through B reaches her as an event with the
// monitor ID A gave her. Then a third node C, and B stopped with SIGSTOP
// past its TTL: C adopts alice's and bob's sessions; after SIGCONT, B
// drops them without a word (no BYE), and alice's request to C is answered.
// A clean stop of C deletes its records itself (nothing left to adopt).
func TestClusterSessionAdoption(t *testing.T) {
	etcd := startEtcd(t)
	node := func(id string) *site {
		return startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", frontEnds: `["127.0.0.1"]`,
			cluster: fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1}", etcd.Client, id)})
	}
	a, b := node("node-a"), node("node-b")
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	key := "/rcc/session/" + alice.CallID()
	if v := waitKey(t, etcd.Client, key, true); !strings.Contains(v, xref) || !strings.Contains(v, `"node":"node-a"`) {
		t.Fatalf("A's record of alice's session: %s", v)
	}

	killed := time.Now()
	a.kill9()
	// At once, before A's lease expired: B waits for the adoption, then answers.
	turnTo(t, alice, b)
	if _, ok := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse); !ok {
		t.Fatal("SnapshotDevice on B: wrong answer")
	}
	answered := time.Since(killed)
	if !b.logged(`"message":"request for a dialog another node recorded: waiting for its adoption"`,
		`"code":"Cs_SessionAdopted"`, `"from_node":"node-a"`) {
		t.Fatalf("B did not wait for and adopt alice's session\n%s", b.logs.String())
	}
	t.Logf("alice's request to B answered %v after kill -9 of A", answered.Round(time.Millisecond))
	if v := waitKey(t, etcd.Client, key, true); !strings.Contains(v, `"node":"node-b"`) {
		t.Fatalf("record after adoption: %s", v)
	}
	if m := b.metrics(t); m["rcc_cluster_adoptions_total"] != 1 {
		t.Fatalf("B's rcc_cluster_adoptions_total %v", m["rcc_cluster_adoptions_total"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := alice.NextRefresh(ctx)
	if err != nil {
		t.Fatalf("no target refresh from B: %v", err)
	}
	if c := up.Contact(); c == nil || !strings.Contains(c.Address.String(), b.rccAddr) {
		t.Fatalf("UPDATE's Contact %v, want B's %s", up.Contact(), b.rccAddr)
	}
	on := true
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: &on})
	dnd := next[*csta.DoNotDisturbEvent](t, alice)
	if dnd.MonitorCrossRefID != xref || !dnd.DoNotDisturbOn {
		t.Fatalf("DND event from B: %+v, want monitor %s", dnd, xref)
	}

	// Split brain: B stopped past its TTL, C adopts, B resumed stays silent.
	c := node("node-c")
	turnTo(t, alice, b)
	bob, st, r := b.lync("sip:bob@example.com", bobLine)
	if st != 200 || r != "normal" {
		t.Fatalf("bob on B: %d %s", st, r)
	}
	request(t, bob, &csta.MonitorStart{MonitorObject: bobLine})
	waitKey(t, etcd.Client, "/rcc/session/"+bob.CallID(), true)
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = b.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	if !c.logged(`"code":"Cs_SessionAdopted"`, `"call_id":"`+bob.CallID()+`"`, `"call_id":"`+alice.CallID()+`"`) {
		t.Fatalf("C did not adopt B's sessions\n%s", c.logs.String())
	}
	time.Sleep(time.Second)
	from := len(b.logs.String())
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	if !b.logged(`"sessions_dropped":2`) {
		t.Fatalf("B resumed: no drop of its sessions\n%s", b.logs.String()[from:])
	}
	noBye(t, alice, 2*time.Second, "alice")
	noBye(t, bob, 100*time.Millisecond, "bob")
	for _, cl := range []*lynctest.Client{alice, bob} {
		ectx, ecancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		ev, err := cl.NextEvent(ectx)
		ecancel()
		if err == nil && ev.Req.Source() == b.rccAddr {
			t.Fatalf("B sent %s after SIGCONT", ev.Msg.Root())
		}
	}
	turnTo(t, alice, c)
	request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine})
	turnTo(t, bob, c)
	request(t, bob, &csta.SnapshotDevice{SnapshotObject: bobLine})
	if m := c.metrics(t); m["rcc_cluster_adoptions_total"] != 2 {
		t.Fatalf("C's rcc_cluster_adoptions_total %v", m["rcc_cluster_adoptions_total"])
	}
	// A clean stop of C: its sessions end with BYE and their records are
	// deleted before its lease is revoked, so nobody adopts them.
	c.stop()
	for _, cl := range []*lynctest.Client{alice, bob} {
		if _, err := cl.WaitBye(ctx); err != nil {
			t.Fatalf("no BYE from C's clean stop: %v", err)
		}
		waitKey(t, etcd.Client, "/rcc/session/"+cl.CallID(), false)
	}
	// B's watch (still running after its lease loss) reports a dead node
	// only for records deleted with its lease: there must be none of C's.
	time.Sleep(time.Second)
	if strings.Contains(b.logs.String(), `"dead_node":"node-c"`) {
		t.Fatalf("C's session records were deleted with its lease, not by C\n%s", b.logs.String())
	}
}

// TestClusterAdoptionInCall: alice signs in on node A with a monitor and
// calls bob; both baresip phones registered through A (B knows them from
// etcd). kill -9 A: B adopts alice's session and clears A's call on both
// phones; alice's next request, sent to B, is answered; her monitor (the
// ID A gave) reports the call cleared, and SnapshotDevice on B shows no
// call: the truth, no ghost.
func TestClusterAdoptionInCall(t *testing.T) {
	etcd := startEtcd(t)
	node := func(id string) *site {
		return startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", frontEnds: `["127.0.0.1"]`,
			cluster: fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1}", etcd.Client, id)})
	}
	a, b := node("node-a"), node("node-b")
	pa := a.phone("1010", "auto")
	pb := a.phone("1020", "manual")
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	mc, ok := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall on A refused")
	}
	pa.WaitEvent("CALL_ESTABLISHED")
	pb.WaitEvent("CALL_INCOMING")
	pb.Accept()
	pb.WaitEvent("CALL_ESTABLISHED")
	until(t, alice, func(e *csta.EstablishedEvent) bool { return true })

	killed := time.Now()
	a.kill9()
	turnTo(t, alice, b)
	if _, ok := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse); !ok {
		t.Fatal("request on B after the failover: wrong answer")
	}
	t.Logf("alice's request to B answered %v after kill -9 of A", time.Since(killed).Round(time.Millisecond))
	pa.WaitEvent("CALL_CLOSED")
	pb.WaitEvent("CALL_CLOSED")
	t.Logf("both phones hung up %v after kill -9 of A", time.Since(killed).Round(time.Millisecond))
	cleared := until(t, alice, func(e *csta.ConnectionClearedEvent) bool {
		return e.DroppedConnection.CallID == mc.CallingDevice.CallID
	})
	if cleared.MonitorCrossRefID != xref {
		t.Fatalf("ConnectionCleared on monitor %q, want A's %q", cleared.MonitorCrossRefID, xref)
	}
	snap := request(t, alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}).(*csta.SnapshotDeviceResponse)
	if snap.SnapshotData != nil && len(snap.SnapshotData.Items) != 0 {
		t.Fatalf("SnapshotDevice on B after the failover: %+v, want no call", snap.SnapshotData.Items)
	}
	if !b.logged(`"code":"Cs_SessionAdopted"`, `"code":"Cs_DeadNodeCallCleared"`) {
		t.Fatal("B's log lacks the adoption or the cleared call")
	}
}

// TestClusterQuorumLossKeepsSessions: with etcd gone for longer than the
// lease TTL (the lease unconfirmed, the node not paused), a signed-in
// client's requests are answered and its events still arrive: the acting
// gate holds back only a node that was paused.
func TestClusterQuorumLossKeepsSessions(t *testing.T) {
	etcd := startEtcd(t)
	a := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", frontEnds: `["127.0.0.1"]`,
		cluster: fmt.Sprintf("{etcd: [%q], node_id: node-a, lease_ttl: 2, dial_timeout: 1}", etcd.Client)})
	alice, st, r := a.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice on A: %d %s", st, r)
	}
	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	etcd.Kill()
	time.Sleep(3 * time.Second) // past the TTL: the lease is unconfirmed
	if m := a.metrics(t); m["rcc_cluster_lease_healthy"] != 0 {
		t.Fatalf("lease gauge %v without etcd", m["rcc_cluster_lease_healthy"])
	}
	on := true
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: &on})
	if ev := next[*csta.DoNotDisturbEvent](t, alice); ev.MonitorCrossRefID != xref || !ev.DoNotDisturbOn {
		t.Fatalf("DND event without etcd: %+v", ev)
	}
}
