package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/cluster/etcdtest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// etcdClient is the test's own view of etcd: who owns which station.
func etcdClient(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// stationOwner returns the node holding station ext in etcd, "" if none
// (or etcd does not answer within a second).
func stationOwner(cli *clientv3.Client, ext string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := cli.Get(ctx, "/rcc/station/"+ext)
	if err != nil || len(res.Kvs) == 0 {
		return ""
	}
	var o struct {
		Node string `json:"node"`
	}
	_ = json.Unmarshal(res.Kvs[0].Value, &o)
	return o.Node
}

// etcdRevision returns etcd's current revision.
func etcdRevision(t testing.TB, cli *clientv3.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := cli.Get(ctx, "/rcc/node/")
	if err != nil {
		t.Fatalf("etcd get: %v", err)
	}
	return res.Header.Revision
}

// nodeWritesSince returns the keys under /rcc/ naming node id (in the key
// or as the value's node) written after revision rev.
func nodeWritesSince(t testing.TB, cli *clientv3.Client, id string, rev int64) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := cli.Get(ctx, "/rcc/", clientv3.WithPrefix(), clientv3.WithMinModRev(rev+1))
	if err != nil {
		t.Fatalf("etcd get /rcc/: %v", err)
	}
	var keys []string
	for _, kv := range res.Kvs {
		if strings.Contains(string(kv.Key), "/"+id) || strings.Contains(string(kv.Value), `"node":"`+id+`"`) {
			keys = append(keys, string(kv.Key))
		}
	}
	return keys
}

// rccCluster is the whole failover rig: etcd, kamailio with
// examples/kamailio/cluster.cfg, and the rccserver nodes behind it.
type rccCluster struct {
	t        testing.TB
	etcd     []*etcdtest.Member
	cli      *clientv3.Client
	kam      *kamailio
	nodes    map[string]*site // by node ID
	ids      []string         // node IDs, in the dispatcher list's order
	ctl      string           // kamailio's control socket for kamcmd
	kamArgs  []string         // kamailio's -A defines, to start it again
	leaseTTL int
}

// startRCCCluster starts a 3-member etcd, the nodes (IDs node-a, node-b…)
// each with its own slapd, and kamailio dispatching to them.
func startRCCCluster(t testing.TB, nodes, leaseTTL int) *rccCluster {
	t.Helper()
	return startRCCClusterDial(t, nodes, leaseTTL, 1)
}

// startRCCClusterDial is startRCCCluster with the nodes' cluster.dial_timeout
// (which also bounds each etcd request) in seconds.
func startRCCClusterDial(t testing.TB, nodes, leaseTTL, dialTimeout int) *rccCluster {
	t.Helper()
	c := &rccCluster{t: t, nodes: map[string]*site{}, leaseTTL: leaseTTL}
	var endpoints []string
	ec := etcdtest.StartCluster(t, 3)
	c.etcd, endpoints = ec.Members, ec.Endpoints
	c.cli = etcdClient(t, endpoints)
	quoted := make([]string, len(endpoints))
	for i, e := range endpoints {
		quoted[i] = strconv.Quote(e)
	}
	var list strings.Builder
	var phones []string
	for i := 0; i < nodes; i++ {
		id := "node-" + string(rune('a'+i))
		s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
			frontEnds: "[127.0.0.1]", phoneAccess: "[127.0.0.1]",
			cluster: fmt.Sprintf("{etcd: [%s], node_id: %s, lease_ttl: %d, dial_timeout: %d}", strings.Join(quoted, ", "), id, leaseTTL, dialTimeout)})
		c.nodes[id] = s
		c.ids = append(c.ids, id)
		fmt.Fprintf(&list, "1 sip:%s;transport=tcp\n", s.rccAddr)
		phones = append(phones, fmt.Sprintf("2 sip:%s\n", s.phoneReg))
	}
	list.WriteString(strings.Join(phones, ""))
	dsList := filepath.Join(t.TempDir(), "rcc-nodes.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(phonetest.FreePort(t))
	c.ctl = "unix:" + filepath.Join(filepath.Dir(dsList), "ctl")
	c.kamArgs = []string{"-A", "LISTEN=tcp:" + addr, "-A", "LISTEN_PHONES=udp:" + addr,
		"-A", fmt.Sprintf("DS_LIST=%q", dsList), "-A", fmt.Sprintf("CTL_SOCKET=%q", c.ctl)}
	c.kam = runKamailio(t, "cluster.cfg", addr, c.kamArgs...)
	return c
}

// waitKam waits up to d until kamailio has logged n lines matching re
// since its mark.
func (c *rccCluster) waitKam(re string, n int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for c.kam.count(re) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("kamailio logged %d lines matching %q in %v, want %d", c.kam.count(re), re, d, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// phone starts a baresip phone whose registrar and outbound proxy is
// kamailio, and returns it with the node its REGISTER reached.
func (c *rccCluster) phone(ext, answer string) (*phonetest.Phone, string) {
	c.t.Helper()
	p := phonetest.StartBaresip(c.t, phonetest.Options{User: ext, Password: "demo-" + ext, Registrar: c.kam.addr, AnswerMode: answer})
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := p.Command("reginfo", "")
		if err == nil && strings.Contains(out, "OK") {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("phone %s did not register through kamailio: %q %v", ext, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p, c.registeredOn(ext)
}

// registeredOn returns the node whose log shows a REGISTER of ext (the
// first in the list if several).
func (c *rccCluster) registeredOn(ext string) string {
	for _, id := range c.ids {
		if c.registeredSince(id, ext, 0) {
			return id
		}
	}
	return ""
}

// registeredSince reports whether node id logged a REGISTER of ext after
// log offset from.
func (c *rccCluster) registeredSince(id, ext string, from int) bool {
	logs := c.nodes[id].logs.String()
	if from > len(logs) {
		return false
	}
	for _, line := range strings.Split(logs[from:], "\n") {
		if strings.Contains(line, `"device":"`+ext+`","contact"`) && strings.Contains(line, `"message":"registered"`) {
			return true
		}
	}
	return false
}

// lync signs user in through kamailio; it returns the client, the status
// and the reason phrase (or the system status of a 200).
func (c *rccCluster) lync(user, line string) (*lynctest.Client, int, string) {
	c.t.Helper()
	cl, err := lynctest.New(lynctest.Options{Server: c.kam.addr, User: user, Line: line, Domain: "rcc.example.com", SessionExpires: 1800})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.SignIn(ctx)
	if res == nil {
		return cl, 0, fmt.Sprint(err)
	}
	if res.StatusCode == 200 {
		if m, derr := csta.Decode(res.Body()); derr == nil {
			return cl, 200, m.(*csta.RequestSystemStatusResponse).SystemStatus.String()
		}
	}
	return cl, res.StatusCode, res.Reason
}

// other returns the node that is not id (two nodes).
func (c *rccCluster) other(id string) string {
	for _, o := range c.ids {
		if o != id {
			return o
		}
	}
	return ""
}

// kamcmd runs one kamcmd command against kamailio's control socket.
func (c *rccCluster) kamcmd(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("kamcmd", append([]string{"-s", c.ctl}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("kamcmd %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// kamFlags returns the dispatcher's flags of destination uri ("AX" or
// "AP": active; "IP": inactive, probing; "DX": disabled).
func (c *rccCluster) kamFlags(uri string) string {
	m := regexp.MustCompile(`URI: ` + regexp.QuoteMeta(uri) + `\s+FLAGS: (\w+)`).FindStringSubmatch(c.kamcmd("dispatcher.list"))
	if m == nil {
		return ""
	}
	return m[1]
}

// kill9 ends node id with SIGKILL and returns when the process is gone.
func (c *rccCluster) kill9(id string) {
	s := c.nodes[id]
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd.Process = nil
}

// snapshot asks for SnapshotDevice of line; it returns the answer's status
// and, on 200, the calls on the device.
func snapshot(cl *lynctest.Client, line string) (int, []string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, res, err := cl.Request(ctx, &csta.SnapshotDevice{SnapshotObject: line})
	if res == nil {
		return 0, nil, err
	}
	if res.StatusCode != 200 {
		return res.StatusCode, nil, nil
	}
	sd, ok := ans.(*csta.SnapshotDeviceResponse)
	if !ok {
		return 200, nil, fmt.Errorf("SnapshotDevice answered %T", ans)
	}
	var calls []string
	if sd.SnapshotData == nil {
		return 200, nil, nil
	}
	for _, it := range sd.SnapshotData.Items {
		calls = append(calls, it.ConnectionIdentifier.CallID)
	}
	return 200, calls, nil
}

// clientRequest sends msg in cl's dialog and returns the answer's status.
func clientRequest(cl *lynctest.Client, msg csta.Message) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, _ := cl.Request(ctx, msg)
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// signInUntil signs user in through kamailio until the answer is 200 or d
// has passed; it returns the client and the time of the successful answer.
func (c *rccCluster) signInUntil(user, line string, d time.Duration) (*lynctest.Client, time.Time, error) {
	deadline := time.Now().Add(d)
	for {
		cl, st, r := c.lync(user, line)
		if st == 200 {
			return cl, time.Now(), nil
		}
		_ = cl.Close()
		if time.Now().After(deadline) {
			return nil, time.Time{}, fmt.Errorf("sign-in of %s: %d %s after %v", user, st, r, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call places a MakeCall from alice's line to bob's, bob accepts, and
// returns the call's ID.
func call(t *testing.T, cl *lynctest.Client, a, b *phonetest.Phone) string {
	t.Helper()
	mc, ok := request(t, cl, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine, AutoOriginate: "doNotPrompt"}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall refused")
	}
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	return mc.CallingDevice.CallID
}

// TestClusterFailover: issue 18's end-to-end rig on one machine. A 3-member
// etcd, kamailio with examples/kamailio/cluster.cfg, two built nodes, two
// baresip phones registering through kamailio (Path), a Lync-shaped client
// through kamailio. alice signs in (node X) and calls bob; kill -9 X;
// kamailio marks X down; alice's next request is answered by the survivor
// Y, which adopted her session (target refresh with its Contact) and
// cleared X's call on both phones; a new MakeCall through Y works with no
// phone registering again, and so does a call dialled on a handset; X
// restarted steals nothing; one etcd member killed: service continues;
// quorum lost: the session and its call keep working, a new sign-in gets
// 503 Cs_ClusterUnavailable; Y stopped (SIGSTOP) past its lease: X adopts
// alice's session; Y resumed takes no action on what it lost.
func TestClusterFailover(t *testing.T) {
	const ttl = 2
	c := startRCCCluster(t, 2, ttl)
	a, onA := c.phone("1010", "auto")
	b, onB := c.phone("1020", "manual")
	alice, st, r := c.lync("sip:alice@example.com", aliceLine)
	if st != 200 || r != "normal" {
		t.Fatalf("alice through kamailio: %d %s", st, r)
	}
	x := stationOwner(c.cli, "1010")
	y := c.other(x)
	if x == "" {
		t.Fatal("alice signed in but no node holds station 1010 in etcd")
	}
	t.Logf("alice on %s, phone 1010 registered on %s, 1020 on %s", x, onA, onB)
	if err := c.waitKam(`fe: INVITE sip:rcc@rcc\.example\.com\S* from client \S+ -> node sip:`+c.nodes[x].rccAddr, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	callID := call(t, alice, a, b)
	if st, calls, err := snapshot(alice, aliceLine); st != 200 || len(calls) != 1 || calls[0] != callID || err != nil {
		t.Fatalf("SnapshotDevice in the call: %d %v %v", st, calls, err)
	}

	// kill -9 alice's node.
	c.kam.since()
	yFrom := len(c.nodes[y].logs.String())
	killed := time.Now()
	c.kill9(x)
	if err := c.waitKam(`fe: node sip:`+c.nodes[x].rccAddr+`;transport=tcp down`, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("kamailio marked %s down %v after the kill", x, time.Since(killed).Round(time.Millisecond))

	// alice's next request reaches the survivor.
	st, calls, _ := snapshot(alice, aliceLine)
	answered := time.Since(killed)
	// Re-dispatched by kamailio if it came before the adoption's target
	// refresh, or sent straight to the survivor's Contact after it.
	if err := c.waitKam(`fe: (failover )?in-dialog INFO from client \S+ (node \S+ gone )?-> (owner )?node sip:`+c.nodes[y].rccAddr, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("alice's next request answered %d by %s %v after the kill", st, y, answered.Round(time.Millisecond))
	if st != 200 {
		t.Fatalf("alice's next request after the failover: %d, want 200 from the adopting node", st)
	}
	t.Logf("SnapshotDevice on %s: calls %v", y, calls)
	if ref, err := alice.NextRefresh(ctx10(t)); err != nil {
		t.Fatalf("no target refresh from %s: %v", y, err)
	} else if !strings.Contains(ref.Contact().Address.String(), c.nodes[y].rccAddr) {
		t.Fatalf("target refresh with Contact %s, want %s's", ref.Contact().Address.String(), y)
	}
	if o := stationOwner(c.cli, "1010"); o != y {
		t.Fatalf("station 1010 after the failover held by %q, want %s", o, y)
	}
	// The survivor clears X's call on both phones.
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")
	t.Logf("%s cleared %s's call on both phones %v after the kill", y, x, time.Since(killed).Round(time.Millisecond))
	if st, calls, err := snapshot(alice, aliceLine); st != 200 || len(calls) != 0 || err != nil {
		t.Fatalf("SnapshotDevice on %s after the failover: %d %v %v, want no call", y, st, calls, err)
	}
	callID = call(t, alice, a, b)
	if st, calls, _ := snapshot(alice, aliceLine); st != 200 || len(calls) != 1 || calls[0] != callID {
		t.Fatalf("SnapshotDevice in the new call on %s: %d %v", y, st, calls)
	}
	for _, ext := range []string{"1010", "1020"} {
		if c.registeredSince(y, ext, yFrom) {
			t.Fatalf("phone %s registered with %s before the MakeCall: the test would prove nothing", ext, y)
		}
	}
	a.Hangup()
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")

	// A call dialled on bob's handset: kamailio sends it to the node of
	// bob's extension (the survivor), which rings alice's phone through
	// kamailio (her Path).
	c.kam.since()
	b.Dial("sip:1010@" + c.kam.addr)
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_ESTABLISHED")
	if err := c.waitKam(`fe: INVITE sip:1010@\S+ from phone \S+ -> node sip:`+c.nodes[y].phoneReg, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	b.Hangup()
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")

	// X restarted: back in kamailio's list, it takes nothing back.
	c.kam.since()
	c.nodes[x].run()
	if err := c.waitKam(`fe: node sip:`+c.nodes[x].rccAddr+`;transport=tcp up`, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's request after %s came back: %d", x, st)
	}
	if _, st, r := c.lync("sip:eve@example.com", aliceLine); st != 403 || r != "Cs_StationInUseByAnotherUser" {
		t.Fatalf("eve on alice's station after %s came back: %d %s, want 403 Cs_StationInUseByAnotherUser", x, st, r)
	}
	if o := stationOwner(c.cli, "1010"); o != y {
		t.Fatalf("station 1010 after %s came back held by %q, want %s", x, o, y)
	}

	// One etcd member killed: everything goes on. A take in the first
	// moments may get 503 (the member may have been the leader: election,
	// and the node's client moves to another member), then they succeed:
	// 2–3 s on a quiet machine; the bound leaves room for a loaded one (a
	// run with other tests beside it took over 5 s once).
	c.etcd[0].Kill()
	memberKilled := time.Now()
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's request with one etcd member down: %d", st)
	}
	bob, at, err := c.signInUntil("sip:bob@example.com", bobLine, 15*time.Second)
	if err != nil {
		t.Fatalf("with one etcd member down: %v", err)
	}
	t.Logf("bob signed in %v after an etcd member was killed", at.Sub(memberKilled).Round(time.Millisecond))
	time.Sleep(time.Duration(2*ttl) * time.Second) // leases renewed through the remaining members
	if o := stationOwner(c.cli, "1010"); o != y {
		t.Fatalf("station 1010 with one etcd member down held by %q, want %s", o, y)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bob.Bye(ctx); err != nil {
		t.Fatalf("bob signs out: %v", err)
	}

	// Quorum lost: alice's session and her call work on, new sign-ins are
	// refused with the node's own 503, which kamailio relays as it is.
	callID = call(t, alice, a, b)
	c.etcd[1].Kill()
	c.kam.since()
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's request without etcd quorum: %d", st)
	}
	if _, st, r := c.lync("sip:bob@example.com", bobLine); st != 503 || r != "Cs_ClusterUnavailable" {
		t.Fatalf("bob's sign-in without etcd quorum: %d %s, want 503 Cs_ClusterUnavailable", st, r)
	}
	if n := c.kam.count(`fe: failover INVITE`); n != 0 {
		t.Errorf("kamailio re-dispatched the refused sign-in %d times: a node's 503 is its verdict", n)
	}
	time.Sleep(time.Duration(ttl+1) * time.Second) // past the TTL without a renewal: sessions still run
	if st, calls, _ := snapshot(alice, aliceLine); st != 200 || len(calls) != 1 || calls[0] != callID {
		t.Fatalf("SnapshotDevice %d s into the quorum loss: %d %v, want the call %s", ttl+1, st, calls, callID)
	}
	if _, ok := request(t, alice, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: callID, DeviceID: aliceLine}}).(*csta.ClearConnectionResponse); !ok {
		t.Fatal("ClearConnection without etcd quorum refused")
	}
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")
	c.etcd[0].Start(t)
	c.etcd[1].Start(t)
	bob, _, err = c.signInUntil("sip:bob@example.com", bobLine, 20*time.Second)
	if err != nil {
		t.Fatalf("after etcd quorum came back: %v", err)
	}
	if err := bob.Bye(ctx); err != nil {
		t.Fatalf("bob signs out: %v", err)
	}
	if o := stationOwner(c.cli, "1010"); o != y {
		t.Fatalf("station 1010 after the quorum came back held by %q, want %s", o, y)
	}

	// Split brain: Y stopped past its lease. Its stations go to X; resumed,
	// Y learns its lease is gone and takes no action on them.
	c.kam.since()
	ys := c.nodes[y]
	if err := ys.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = ys.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	st = clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine})
	if err := c.waitKam(`fe: (failover )?in-dialog INFO from client \S+ (node \S+ gone )?-> (owner )?node sip:`+c.nodes[x].rccAddr, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if st != 200 {
		t.Fatalf("alice's request while %s is stopped: %d, want 200 from %s after the adoption", y, st, x)
	}
	t.Logf("alice's request answered by %s %v after %s was stopped", x, time.Since(stopped).Round(time.Millisecond), y)
	if o := stationOwner(c.cli, "1010"); o != x {
		t.Fatalf("station 1010 while %s is stopped held by %q, want %s", y, o, x)
	}
	resumedAt := etcdRevision(t, c.cli)
	resume()
	if !ys.logged("Cs_ClusterLeaseLost") {
		t.Fatalf("%s resumed without logging Cs_ClusterLeaseLost", y)
	}
	time.Sleep(time.Second)
	if keys := nodeWritesSince(t, c.cli, y, resumedAt); len(keys) != 0 {
		t.Fatalf("%s wrote to etcd after it resumed without a lease: %v", y, keys)
	}
	if o := stationOwner(c.cli, "1010"); o != x {
		t.Fatalf("station 1010 after %s resumed held by %q, want %s", y, o, x)
	}
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice on %s after %s resumed: %d", x, y, st)
	}
	if _, st, r := ys.lync("sip:alice@example.com", aliceLine); st != 503 || r != "Cs_ClusterUnavailable" {
		t.Fatalf("a sign-in straight at %s after it lost its lease: %d %s, want 503 Cs_ClusterUnavailable", y, st, r)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if req, err := alice.WaitBye(ctx2); err == nil {
		t.Fatalf("alice's new session on %s got a BYE: %v", x, req)
	}
}

// BenchmarkClusterFailover measures failover time over b.N kills (run it
// with -benchtime 10x or more): alice signed in through kamailio on node X;
// kill -9 X; then
//
//   - answered: kill → alice's next request in her dialog answered by the
//     survivor (481 until sessions are adopted, then 200);
//   - served: kill → alice served again on the survivor (her request
//     answered 200 by an adopting node, or, without adoption, her new
//     sign-in answered 200 once X's lease expired);
//   - owned: kill → etcd shows her station held by the survivor.
//
// X is then started again (it takes nothing back) and the next kill hits
// the survivor. CLUSTER_LEASE_TTL sets the nodes' cluster.lease_ttl
// (default 6, the configuration's default).
func BenchmarkClusterFailover(b *testing.B) {
	ttl := 6
	if v := os.Getenv("CLUSTER_LEASE_TTL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			b.Fatalf("CLUSTER_LEASE_TTL=%q: want seconds, at least 2", v)
		}
		ttl = n
	}
	c := startRCCCluster(b, 2, ttl)
	alice, st, r := c.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		b.Fatalf("alice: %d %s", st, r)
	}
	var answered, served, owned []time.Duration
	var statuses []int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := stationOwner(c.cli, "1010")
		y := c.other(x)
		if x == "" {
			b.Fatalf("kill %d: nobody holds alice's station", i)
		}
		c.kam.since()
		killed := time.Now()
		c.kill9(x)

		st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine})
		if st == 0 {
			b.Fatalf("kill %d: alice's request after killing %s: no answer", i, x)
		}
		answered = append(answered, time.Since(killed))
		statuses = append(statuses, st)
		if st == 200 {
			served = append(served, time.Since(killed))
		} else {
			cl, at, err := c.signInUntil("sip:alice@example.com", aliceLine, time.Duration(ttl+10)*time.Second)
			if err != nil {
				b.Fatalf("kill %d: %v", i, err)
			}
			_ = alice.Close()
			alice = cl
			served = append(served, at.Sub(killed))
		}
		for stationOwner(c.cli, "1010") != y {
			if time.Since(killed) > time.Duration(ttl+10)*time.Second {
				b.Fatalf("kill %d: alice's station not held by %s", i, y)
			}
			time.Sleep(10 * time.Millisecond)
		}
		owned = append(owned, time.Since(killed))

		b.StopTimer()
		c.nodes[x].run()
		if err := c.waitKam(`fe: node sip:`+c.nodes[x].rccAddr+`;transport=tcp up`, 1, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"answered", answered}, {"served", served}, {"owned", owned}} {
		slices.Sort(m.d)
		b.ReportMetric(percentile(m.d, 50).Seconds(), m.name+"-p50-s")
		b.ReportMetric(percentile(m.d, 99).Seconds(), m.name+"-p99-s")
	}
	b.ReportMetric(float64(ttl), "lease-ttl-s")
	b.Logf("lease TTL %d s, %d kills: answered %v (status %v), served %v, owned %v", ttl, b.N, answered, statuses, served, owned)
}

// ctx10 is a context of 10 s for one step of a test.
func ctx10(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// percentile returns the p-th percentile of sorted d (nearest rank).
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	return d[max(i-1, 0)]
}

// TestClusterDrain: the runbook's "drain a node" (docs/cluster.md). The
// node X holding alice is disabled in kamailio's dispatcher (both sets):
// it is no longer probed nor chosen, so bob, whose hash picks X, lands on
// Y; alice's session on X goes on. X stopped cleanly (SIGTERM): alice gets
// a BYE, signs in again and lands on Y at once (X released her station).
// Enabled again, X gets its users' new sign-ins.
func TestClusterDrain(t *testing.T) {
	c := startRCCCluster(t, 2, 2)
	alice, st, r := c.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice: %d %s", st, r)
	}
	x := stationOwner(c.cli, "1010")
	y := c.other(x)
	xs := c.nodes[x]
	rcc, phones := "sip:"+xs.rccAddr+";transport=tcp", "sip:"+xs.phoneReg
	c.kamcmd("dispatcher.set_state", "d", "1", rcc)
	c.kamcmd("dispatcher.set_state", "d", "2", phones)
	time.Sleep(2 * time.Second) // a disabled node is not probed: it stays out
	if c.kamFlags(rcc) != "DX" || c.kamFlags(phones) != "DX" {
		t.Fatalf("kamailio's list after disabling %s:\n%s", x, c.kamcmd("dispatcher.list"))
	}
	bob, st, r := c.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob while %s is drained: %d %s", x, st, r)
	}
	if o := stationOwner(c.cli, "1020"); o != y {
		t.Fatalf("bob's station while %s is drained held by %q, want %s (his hash picks %s)", x, o, y, x)
	}
	if st := clientRequest(alice, &csta.SnapshotDevice{SnapshotObject: aliceLine}); st != 200 {
		t.Fatalf("alice's session on %s while it is drained: %d", x, st)
	}

	// The clean stop ends alice's session; her new sign-in lands on Y.
	xs.stop()
	if _, err := alice.WaitBye(ctx10(t)); err != nil {
		t.Fatalf("alice's session when %s stopped: no BYE: %v", x, err)
	}
	stopped := time.Now()
	if _, st, r := c.lync("sip:alice@example.com", aliceLine); st != 200 || stationOwner(c.cli, "1010") != y {
		t.Fatalf("alice after %s stopped: %d %s, station held by %q, want %s", x, st, r, stationOwner(c.cli, "1010"), y)
	}
	t.Logf("alice signed in on %s %v after %s stopped cleanly", y, time.Since(stopped).Round(time.Millisecond), x)
	if err := bob.Bye(ctx10(t)); err != nil {
		t.Fatalf("bob signs out: %v", err)
	}

	// X back in service: started, then enabled; its users' new sign-ins go there.
	xs.run()
	c.kamcmd("dispatcher.set_state", "ap", "1", rcc)
	c.kamcmd("dispatcher.set_state", "ap", "2", phones)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasPrefix(c.kamFlags(rcc), "A") || !strings.HasPrefix(c.kamFlags(phones), "A") {
		if time.Now().After(deadline) {
			t.Fatalf("%s not active again in kamailio: %s %s", x, c.kamFlags(rcc), c.kamFlags(phones))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, st, r := c.lync("sip:bob@example.com", bobLine); st != 200 || stationOwner(c.cli, "1020") != x {
		t.Fatalf("bob after %s was enabled again: %d %s, station held by %q", x, st, r, stationOwner(c.cli, "1020"))
	}
}
