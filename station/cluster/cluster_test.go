package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("CLUSTER_TEST_CHILD") != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Node: "a"},
		{Endpoints: []string{"http://127.0.0.1:1"}},
		{Endpoints: []string{"http://127.0.0.1:1"}, Node: "a/b"},
		{Endpoints: []string{"http://127.0.0.1:1"}, Node: "a", LeaseTTL: 1500 * time.Millisecond},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	if err := (Config{Endpoints: []string{"http://127.0.0.1:1"}, Node: "a"}).Validate(); err != nil {
		t.Errorf("Validate(minimal) = %v", err)
	}
}

// TestStationOwnership: one node takes a station; another node is refused
// for any user (Cs_StationInUseByAnotherUser); a logout releases it; a
// second node with a live node's ID cannot join; Close frees everything at once.
func TestStationOwnership(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	a, b := join(t, ep, "a"), join(t, ep, "b")
	if err := a.Take(ctx, "1010", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := a.Take(ctx, "1010", "alice"); err != nil {
		t.Errorf("re-take by the holder: %v", err)
	}
	for _, tc := range []struct {
		n    *Node
		user string
	}{{b, "eve"}, {b, "alice"}, {a, "eve"}} {
		err := tc.n.Take(ctx, "1010", tc.user)
		if !errors.Is(err, ErrStationInUse) || Code(err) != "Cs_StationInUseByAnotherUser" {
			t.Errorf("node %s Take(1010, %s) = %v (code %q), want ErrStationInUse", tc.n.ID(), tc.user, err, Code(err))
		}
	}
	if o, ok, err := b.Owner(ctx, "1010"); err != nil || !ok || o != (Owner{Node: "a", User: "alice"}) {
		t.Errorf("Owner(1010) = %+v %v %v", o, ok, err)
	}
	if err := b.Release(ctx, "1010", "alice"); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release by another node = %v, want ErrNotHeld", err)
	}
	if err := a.Release(ctx, "1010", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := b.Take(ctx, "1010", "bob"); err != nil {
		t.Fatalf("take after logout: %v", err)
	}
	if got := b.Held(); len(got) != 1 || got["1010"] != "bob" {
		t.Errorf("b.Held() = %v", got)
	}
	if _, err := Join(ctx, Config{Endpoints: ep, Node: "a", LeaseTTL: 2 * time.Second}); !errors.Is(err, ErrNodeIDInUse) {
		t.Errorf("Join with a live node's ID = %v, want ErrNodeIDInUse", err)
	}
	// Close revokes the lease: the station is free at once, not after the TTL.
	_ = b.Close()
	if err := a.Take(ctx, "1010", "alice"); err != nil {
		t.Errorf("take right after the holder closed: %v", err)
	}
	if err := b.Take(ctx, "1020", "bob"); !errors.Is(err, ErrClosed) {
		t.Errorf("Take after Close = %v, want ErrClosed", err)
	}
}

// TestMemberKilled: in a 3-member cluster one member is killed; the
// remaining two keep quorum, records stay, new takes work.
func TestMemberKilled(t *testing.T) {
	ms, ep := startEtcd(t, 3)
	ctx := ctxT(t)
	a, b := join(t, ep, "a"), join(t, ep, "b")
	if err := a.Take(ctx, "1010", "alice"); err != nil {
		t.Fatal(err)
	}
	ms[0].Kill()
	// A request in flight during a leader election may fail: the take is
	// retried for at most two election timeouts plus a lease TTL.
	if err := eventually(5*time.Second, func() error { return b.Take(ctx, "1020", "bob") }); err != nil {
		t.Fatalf("take with one member of three dead: %v", err)
	}
	if err := b.Take(ctx, "1010", "eve"); !errors.Is(err, ErrStationInUse) {
		t.Errorf("1010 after the member died: %v, want still held by a", err)
	}
	time.Sleep(3 * time.Second) // past the TTL: the keep-alives must have gone through
	if !a.Healthy() || !b.Healthy() {
		t.Errorf("leases after a member died: a %s, b %s", a.State(), b.State())
	}
}

// TestQuorumLost: with two of three members dead, new takes are refused
// with Cs_ClusterUnavailable (fast: the request requires a leader), the
// node keeps what it holds locally and is no longer Healthy after its TTL;
// when the members come back it is healthy again and keeps its station.
func TestQuorumLost(t *testing.T) {
	ms, ep := startEtcd(t, 3)
	ctx := ctxT(t)
	a := join(t, ep, "a")
	if err := a.Take(ctx, "1010", "alice"); err != nil {
		t.Fatal(err)
	}
	ms[1].Kill()
	ms[2].Kill()
	start := time.Now()
	err := a.Take(ctx, "1020", "bob")
	if !errors.Is(err, ErrUnavailable) || Code(err) != "Cs_ClusterUnavailable" {
		t.Fatalf("Take without quorum = %v (code %q), want ErrUnavailable", err, Code(err))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %v, want within the request timeout", d)
	}
	// Past the lease TTL without a confirmed keep-alive. A leader that lost
	// its quorum goes on renewing leases (in etcd 3.4, the Debian package,
	// a renewal is no raft proposal and checks no quorum)
	// until it steps down, one election timeout (1 s here) after it last
	// heard from a quorum: hence TTL + election timeout + a margin.
	if err := eventually(5*time.Second, func() error {
		if s := a.State(); s != LeaseUnconfirmed {
			return fmt.Errorf("state without quorum = %s, want unconfirmed", s)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	start = time.Now()
	if err := a.Take(ctx, "1030", "carol"); !errors.Is(err, ErrUnavailable) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("Take while unconfirmed = %v after %v, want ErrUnavailable at once", err, time.Since(start))
	}
	if got := a.Held(); got["1010"] != "alice" {
		t.Errorf("Held() without quorum = %v, want 1010 kept", got)
	}
	select {
	case <-a.Lost():
		t.Error("lease reported lost while etcd only lacks quorum")
	default:
	}

	// Quorum back: the lease survived (a new etcd leader extends the
	// leases it inherits), the node is healthy again without rejoining,
	// its station is still its own and new takes work.
	ms[1].Start(t)
	ms[2].Start(t)
	if err := eventually(15*time.Second, func() error { return a.Take(ctx, "1030", "carol") }); err != nil {
		t.Fatalf("take after quorum returned: %v (state %s)", err, a.State())
	}
	if !a.Healthy() {
		t.Errorf("state after quorum returned = %s", a.State())
	}
	if o, ok, err := a.Owner(ctx, "1010"); err != nil || !ok || o.Node != "a" {
		t.Errorf("1010 after quorum returned: %+v %v %v, want a's", o, ok, err)
	}
}

// TestSplitBrain: a node process is stopped (SIGSTOP) past its lease TTL;
// its station's record expires on its own and another node takes it; when
// the process resumes (SIGCONT) it is not Healthy, refuses to take
// anything, learns that its lease is lost, and wrote nothing.
func TestSplitBrain(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	child := startChild(t, ep)
	child.expect("taken 1010")
	b := join(t, ep, "b")
	if err := b.Take(ctx, "1010", "bob"); !errors.Is(err, ErrStationInUse) {
		t.Fatalf("1010 while the child holds it: %v", err)
	}
	if err := child.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := eventually(10*time.Second, func() error { return b.Take(ctx, "1010", "bob") }); err != nil {
		t.Fatalf("the stopped node's station never freed: %v", err)
	}
	t.Logf("the stopped node's station was free after %v", time.Since(stopped).Round(100*time.Millisecond))
	if err := child.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	child.send("take 1030")
	if got := child.line(); got != "take 1030 Cs_ClusterUnavailable" && got != "take 1030 Cs_ClusterLeaseLost" {
		t.Errorf("resumed node's take answered %q, want a refusal", got)
	}
	child.send("wait-lost")
	child.expect("lost held=0")
	if o, ok, _ := b.Owner(ctx, "1030"); ok {
		t.Errorf("the resumed node wrote 1030: %+v", o)
	}
	if o, _, _ := b.Owner(ctx, "1010"); o.Node != "b" {
		t.Errorf("1010 owner after the resume = %+v, want b", o)
	}
}

// child is a node in another process (this test binary re-run), so that
// it can be stopped with SIGSTOP.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.Writer
	out *bufio.Scanner
}

func startChild(t *testing.T, ep []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLUSTER_TEST_CHILD="+strings.Join(ep, ","))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGCONT); in.Close(); _ = cmd.Wait() })
	return &child{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

func (c *child) send(s string) { fmt.Fprintln(c.in, s) }

func (c *child) line() string {
	c.t.Helper()
	got := make(chan string, 1)
	go func() {
		if c.out.Scan() {
			got <- c.out.Text()
		}
		close(got)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		c.t.Fatal("child: no answer")
		return ""
	}
}

func (c *child) expect(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("child said %q, want %q", got, want)
	}
}

// runChild is the child's main: join as "child", take 1010, then answer
// commands on stdin until it closes.
func runChild() int {
	ep := strings.Split(os.Getenv("CLUSTER_TEST_CHILD"), ",")
	n, err := Join(context.Background(), Config{Endpoints: ep, Node: "child", LeaseTTL: 2 * time.Second, RequestTimeout: time.Second})
	if err != nil {
		fmt.Println("join", err)
		return 1
	}
	defer n.Close()
	ctx := context.Background()
	if err := n.Take(ctx, "1010", "alice"); err != nil {
		fmt.Println("take 1010", Code(err))
		return 1
	}
	fmt.Println("taken 1010")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "take":
			code := Code(n.Take(ctx, arg, "carol"))
			if code == "" {
				code = "ok"
			}
			fmt.Println("take", arg, code)
		case "wait-lost":
			select {
			case <-n.Lost():
				fmt.Printf("lost held=%d\n", len(n.Held()))
			case <-time.After(5 * time.Second):
				fmt.Println("not lost", n.State())
			}
		}
	}
	return 0
}

// TestTakeRace: two nodes take the same 20 stations at the same moment;
// the transaction lets exactly one win each, the other gets ErrStationInUse.
func TestTakeRace(t *testing.T) {
	_, ep := startEtcd(t, 1)
	ctx := ctxT(t)
	nodes := []*Node{join(t, ep, "a"), join(t, ep, "b")}
	const stations = 20
	errs := make([][2]error, stations)
	var wg sync.WaitGroup
	for i := range stations {
		for j, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i][j] = n.Take(ctx, fmt.Sprint(2000+i), "user-"+n.ID())
			}()
		}
	}
	wg.Wait()
	for i, e := range errs {
		won := 0
		for _, err := range e {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrStationInUse):
				t.Errorf("station %d: %v", 2000+i, err)
			}
		}
		if won != 1 {
			t.Errorf("station %d: %d winners (%v), want exactly 1", 2000+i, won, e)
		}
	}
	if got := len(nodes[0].Held()) + len(nodes[1].Held()); got != stations {
		t.Errorf("stations held in all = %d, want %d", got, stations)
	}
}

// TestCodeOfEtcdTimeouts: etcd's request timeouts (code Unavailable, e.g.
// "request timed out, possibly due to connection lost" while quorum is
// being lost) are Cs_ClusterUnavailable, not Cs_ClusterFailed.
func TestCodeOfEtcdTimeouts(t *testing.T) {
	n := &Node{}
	for _, err := range []error{rpctypes.ErrTimeoutDueToConnectionLost, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrNoLeader} {
		if got := Code(n.classify(err)); got != CodeUnavailable {
			t.Errorf("Code(classify(%v)) = %s, want %s", err, got, CodeUnavailable)
		}
	}
}
