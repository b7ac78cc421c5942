package e2e_test

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// restartKam stops kamailio and starts it again on the same ports, list
// and control socket: everything it kept in memory is gone.
func (c *rccCluster) restartKam() {
	c.t.Helper()
	c.kam.stop()
	c.kam = runKamailio(c.t, "cluster.cfg", c.kam.addr, c.kamArgs...)
}

// timedRequest sends a SnapshotDevice of line in cl's dialog; it returns
// the status (0 without an answer) and how long the answer took.
func timedRequest(cl *lynctest.Client, line string) (int, time.Duration) {
	start := time.Now()
	st := clientRequest(cl, &csta.SnapshotDevice{SnapshotObject: line})
	return st, time.Since(start)
}

// TestClusterOwnerAfterRestart: a client that refuses the adoption's target
// refresh (answers UPDATE 501, as pidgin-sipe does) keeps the dead node's
// Contact as its remote target. kill -9 its node X: the survivor Y adopts
// the session; kamailio learns from Y's UPDATE that Y owns the dialog, and
// sends the client's next request there; without that entry, from the 2xx
// of a request it re-dispatched to Y. X restarted and probed active again: the client's requests, still
// addressed to X's Contact, go straight to Y (not to X, which would hold
// them for an adoption that never comes) and are answered at once; events
// still reach the client; her BYE goes to Y too.
func TestClusterOwnerAfterRestart(t *testing.T) {
	const ttl = 2
	c := startRCCCluster(t, 2, ttl)
	alice, err := lynctest.New(lynctest.Options{Server: c.kam.addr, User: "sip:alice@example.com", Line: aliceLine,
		Domain: "rcc.example.com", SessionExpires: 1800, UpdateStatus: 501})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alice.Close() })
	if res, err := alice.SignIn(ctx10(t)); res == nil || res.StatusCode != 200 {
		t.Fatalf("alice through kamailio: %v %v", res, err)
	}
	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	x := stationOwner(c.cli, "1010")
	if x == "" {
		t.Fatal("alice signed in but no node holds station 1010 in etcd")
	}
	y := c.other(x)
	xURI := regexp.QuoteMeta("sip:" + c.nodes[x].rccAddr)
	yURI := regexp.QuoteMeta("sip:" + c.nodes[y].rccAddr)
	t.Logf("alice on %s", x)

	// kill -9 X while alice is idle: Y adopts, its UPDATE is refused, and
	// kamailio learns from it that Y owns the dialog.
	c.kam.since()
	killed := time.Now()
	c.kill9(x)
	ref, err := alice.NextRefresh(ctx10(t))
	if err != nil {
		t.Fatalf("no target refresh from %s: %v", y, err)
	}
	t.Logf("%s's UPDATE reached alice %v after the kill", y, time.Since(killed).Round(time.Millisecond))
	if !strings.Contains(ref.Contact().Address.String(), c.nodes[y].rccAddr) {
		t.Fatalf("target refresh with Contact %s, want %s's", ref.Contact().Address.String(), y)
	}
	if err := c.waitKam(`fe: dialog \S+ owned by node `+yURI+`;transport=tcp \(target refresh\)`, 1, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := c.kamcmd("htable.dump", "owner"); !strings.Contains(d, alice.CallID()) || !strings.Contains(d, c.nodes[y].rccAddr) {
		t.Fatalf("kamailio's owner table without alice's dialog on %s:\n%s", y, d)
	}
	if err := c.waitKam(`fe: node `+xURI+`;transport=tcp down`, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, took := timedRequest(alice, aliceLine); st != 200 || took > time.Second {
		t.Fatalf("alice's request after the adoption: %d in %v, want 200 from %s at once", st, took, y)
	}
	_ = c.waitKam(`fe: in-dialog INFO from client \S+ -> owner node `+yURI, 1, time.Second) // the log lags the answer
	if n := c.kam.count(`fe: in-dialog INFO from client \S+ -> owner node ` + yURI); n != 1 {
		t.Fatalf("alice's request after the adoption did not go to the owner %s", y)
	}
	// Without the entry (as if the UPDATE had not passed here): the request
	// for X, known down, goes to Y at once, and Y's 2xx names the owner.
	c.kamcmd("htable.delete", "owner", alice.CallID())
	if st, took := timedRequest(alice, aliceLine); st != 200 || took > time.Second {
		t.Fatalf("alice's request re-dispatched from the down %s: %d in %v, want 200 from %s at once", x, st, took, y)
	}
	if err := c.waitKam(`fe: failover in-dialog INFO from client alice: node \S+ gone -> node `+yURI, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.waitKam(`fe: dialog \S+ owned by node `+yURI+`;transport=tcp \(answered after failover\)`, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	on := true
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: &on})
	if dnd := next[*csta.DoNotDisturbEvent](t, alice); dnd.MonitorCrossRefID != xref || !dnd.DoNotDisturbOn {
		t.Fatalf("DND event from %s: %+v, want monitor %s", y, dnd, xref)
	}

	// X started again and probed active: alice's requests still go to Y.
	c.kam.since()
	xFrom := c.nodes[x].run()
	if err := c.waitKam(`fe: node `+xURI+`;transport=tcp up`, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		st, took := timedRequest(alice, aliceLine)
		t.Logf("alice's request %d after %s came back: %d in %v", i+1, x, st, took.Round(100*time.Microsecond))
		if st != 200 || took > time.Second {
			t.Fatalf("alice's request %d after %s came back: %d in %v, want 200 from %s at once", i+1, x, st, took, y)
		}
	}
	// kamailio's log reaches us through a pipe, a moment after its answer.
	_ = c.waitKam(`fe: in-dialog INFO from client \S+ -> owner node `+yURI, 3, time.Second)
	if n := c.kam.count(`fe: in-dialog INFO from client \S+ -> owner node ` + yURI); n != 3 {
		t.Fatalf("kamailio sent %d of alice's 3 requests to the owner %s", n, y)
	}
	if n := c.kam.count(`failover in-dialog`); n != 0 {
		t.Fatalf("kamailio re-dispatched %d of alice's requests: they went to %s first", n, x)
	}
	if strings.Contains(c.nodes[x].logs.String()[xFrom:], `waiting for its adoption`) {
		t.Fatalf("%s got one of alice's requests after its restart", x)
	}
	off := false
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: &off})
	if dnd := next[*csta.DoNotDisturbEvent](t, alice); dnd.MonitorCrossRefID != xref || dnd.DoNotDisturbOn {
		t.Fatalf("DND event from %s after %s came back: %+v, want monitor %s", y, x, dnd, xref)
	}
	if o := stationOwner(c.cli, "1010"); o != y {
		t.Fatalf("station 1010 after %s came back held by %q, want %s", x, o, y)
	}

	// BYE goes to the owner too, and ends the entry.
	c.kam.since()
	if err := alice.Bye(ctx10(t)); err != nil {
		t.Fatalf("alice signs out: %v", err)
	}
	if n := c.kam.count(`fe: in-dialog BYE from client \S+ -> owner node ` + yURI); n != 1 {
		t.Fatalf("alice's BYE did not go to the owner %s", y)
	}

	if err := c.waitKam(`fe: reply 200 OK to BYE from `+regexp.QuoteMeta(c.nodes[y].rccAddr), 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if d := c.kamcmd("htable.dump", "owner"); strings.Contains(d, alice.CallID()) {
		t.Fatalf("alice's dialog still in kamailio's owner table after her BYE:\n%s", d)
	}
}

// TestClusterKamailioRestart: what a restart of kamailio costs. Its
// connections to the nodes close, and a node ends the sessions living on a
// closed connection (docs/sessions.md "Liveness"), so every client signed
// in through it must sign in again: its next request gets 481, its new
// sign-in 200. The owner table (TestClusterOwnerAfterRestart) goes with the
// restart, and nothing needs it: the dialogs it named are gone.
func TestClusterKamailioRestart(t *testing.T) {
	c := startRCCCluster(t, 2, 2)
	alice, st, r := c.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice through kamailio: %d %s", st, r)
	}
	x := stationOwner(c.cli, "1010")
	if x == "" {
		t.Fatal("alice signed in but no node holds station 1010 in etcd")
	}
	c.restartKam()
	if !c.nodes[x].logged(`"call_id":"`+alice.CallID()+`"`, `"reason":"rccserver: connection closed"`) {
		t.Fatalf("%s kept alice's session after kamailio's connection closed", x)
	}
	st = clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine})
	if st == 0 { // the client's own connection to the old kamailio: once more
		st = clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine})
	}
	if st != 481 {
		t.Fatalf("alice's request after kamailio restarted: %d, want 481 (her session ended)", st)
	}
	if o := stationOwner(c.cli, "1010"); o != "" {
		t.Fatalf("station 1010 still held by %s after the session ended", o)
	}
	again, _, err := c.signInUntil("sip:alice@example.com", aliceLine, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st := clientRequest(again, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's request after signing in again: %d", st)
	}
}

// TestClusterSlowNode: a node that does not answer a client's request in
// time but still answers kamailio's probes is slow, not dead. Every etcd
// member is stopped (SIGSTOP): alice's SetDoNotDisturb on her node X waits
// for its etcd write (up to cluster.dial_timeout, 6 s here) while X goes on
// answering OPTIONS. After SLOW_WAIT (3 s) kamailio answers 500 Node Slow
// itself instead of re-dispatching to Y (which would find the session
// held by a live node and answer 481, ending her dialog). etcd resumed:
// her next request is answered 200 by X, in the same dialog.
func TestClusterSlowNode(t *testing.T) {
	c := startRCCClusterDial(t, 2, 6, 6)
	alice, st, r := c.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice through kamailio: %d %s", st, r)
	}
	x := stationOwner(c.cli, "1010")
	if x == "" {
		t.Fatal("alice signed in but no node holds station 1010 in etcd")
	}
	for _, m := range c.etcd {
		if err := m.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			for _, m := range c.etcd {
				_ = m.Signal(syscall.SIGCONT)
			}
		}
	}
	t.Cleanup(resume)
	c.kam.since()
	on := true
	start := time.Now()
	st = clientRequest(alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: &on})
	took := time.Since(start)
	t.Logf("alice's SetDoNotDisturb with etcd stopped: %d after %v", st, took.Round(time.Millisecond))
	if st != 500 {
		t.Fatalf("alice's request to a slow %s: %d, want 500 from kamailio", x, st)
	}
	if err := c.waitKam(`fe: in-dialog INFO from client alice: node \S+ slow \(not down, no answer\) -> 500`, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := c.kam.count(`failover in-dialog|fe: node \S+ down`); n != 0 {
		t.Fatalf("kamailio took the slow %s for a dead one (%d log lines)", x, n)
	}
	resume()
	time.Sleep(500 * time.Millisecond)
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's request after etcd resumed: %d, want 200 from %s in her dialog", st, x)
	}
	if o := stationOwner(c.cli, "1010"); o != x {
		t.Fatalf("station 1010 held by %q, want %s", o, x)
	}
}
