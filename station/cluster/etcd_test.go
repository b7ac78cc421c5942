package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdBinary is the Debian etcd-server package's server.
const etcdBinary = "/usr/bin/etcd"

// member is one etcd process started by a test.
type member struct {
	name, client string
	args         []string
	log          string
	cmd          *exec.Cmd
	exited       chan struct{}
}

// start runs the member (again: with its data directory in place, etcd
// rejoins with it and ignores the initial-cluster flags).
func (m *member) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(m.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	m.cmd = exec.Command(etcdBinary, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); logf.Close(); close(exited) }(m.cmd, m.exited)
}

// kill ends the member with SIGKILL (a crash) and waits for it.
func (m *member) kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.exited
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcd starts an n-member etcd cluster on loopback free ports with
// data in a temporary directory (under /dev/shm when there is one: fsync
// there is cheap) and waits until it answers. A missing etcd fails the test.
func startEtcd(t *testing.T, n int) ([]*member, []string) {
	t.Helper()
	if _, err := os.Stat(etcdBinary); err != nil {
		t.Fatalf("etcd is needed (Debian package etcd-server, see Taskfile.yml APT_PACKAGES): %v", err)
	}
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "rcc-etcd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ms := make([]*member, n)
	peers := make([]string, n)
	var initial []string
	for i := range ms {
		ms[i] = &member{name: fmt.Sprintf("m%d", i), client: fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
		peers[i] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		initial = append(initial, ms[i].name+"="+peers[i])
	}
	var endpoints []string
	for i, m := range ms {
		endpoints = append(endpoints, m.client)
		m.log = filepath.Join(dir, m.name+".log")
		m.args = []string{
			"--name", m.name, "--data-dir", filepath.Join(dir, m.name),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", filepath.Base(dir),
			"--heartbeat-interval", "100", "--election-timeout", "1000", "--logger", "zap", "--log-level", "error"}
		m.start(t)
		t.Cleanup(m.kill)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(context.Background()), time.Second)
		_, err := cli.Put(ctx, "/rcc-test/ready", "1")
		cancel()
		if err == nil {
			return ms, endpoints
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "m0.log"))
			t.Fatalf("etcd not ready: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
