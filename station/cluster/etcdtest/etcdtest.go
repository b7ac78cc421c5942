// Package etcdtest starts real etcd clusters (the Debian etcd-server
// package's /usr/bin/etcd) for tests of packages that use station/cluster:
// one or more members on free loopback ports, data under /dev/shm, killed
// at the end of the test; members can be killed, stopped and started again
// to play failures; StartTLS serves the clients over TLS. A missing etcd
// fails the test.
package etcdtest

import (
	"context"
	"crypto/tls"
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

// Binary is the etcd server the tests run.
const Binary = "/usr/bin/etcd"

// Member is one etcd process of a Cluster.
type Member struct {
	Name   string
	Client string // client URL
	Log    string // its log file

	args   []string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Cluster is an etcd cluster started by a test.
type Cluster struct {
	Members   []*Member
	Endpoints []string // the members' client URLs, in order
}

// ServerTLS are etcd's certificate files for its client URL (etcd's
// --cert-file, --key-file, --trusted-ca-file; a CA makes it require a
// client certificate, --client-cert-auth).
type ServerTLS struct {
	Cert, Key string
	// ClientCA, if set, is the CA the clients' certificates must chain to.
	ClientCA string
}

// Start starts a one-member etcd and returns its client URL once it answers.
func Start(t testing.TB) string {
	t.Helper()
	return StartCluster(t, 1).Endpoints[0]
}

// StartTLS starts a one-member etcd serving its clients over TLS and
// returns its https:// client URL once a client configured with client
// answers.
func StartTLS(t testing.TB, srv ServerTLS, client *tls.Config) string {
	t.Helper()
	if srv.Cert == "" || srv.Key == "" || client == nil {
		t.Fatal("etcdtest.StartTLS: server certificate, key and a client TLS configuration needed")
	}
	return start(t, 1, srv, client).Endpoints[0]
}

// StartCluster starts an n-member cluster and returns once it has a
// leader that commits a write.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, ServerTLS{}, nil)
}

func start(t testing.TB, n int, srv ServerTLS, clientTLS *tls.Config) *Cluster {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("etcd is needed (Debian package etcd-server, see Taskfile.yml APT_PACKAGES): %v", err)
	}
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm" // fsync there is cheap
	}
	dir, err := os.MkdirTemp(base, "rcc-etcdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	scheme := "http"
	if srv.Cert != "" {
		scheme = "https"
	}
	c := &Cluster{}
	peers := make([]string, n)
	var initial []string
	for i := 0; i < n; i++ {
		m := &Member{Name: fmt.Sprintf("m%d", i), Client: fmt.Sprintf("%s://127.0.0.1:%d", scheme, freePort(t))}
		m.Log = filepath.Join(dir, m.Name+".log")
		peers[i] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		initial = append(initial, m.Name+"="+peers[i])
		c.Members = append(c.Members, m)
		c.Endpoints = append(c.Endpoints, m.Client)
	}
	for i, m := range c.Members {
		m.args = []string{
			"--name", m.Name, "--data-dir", filepath.Join(dir, m.Name),
			"--listen-client-urls", m.Client, "--advertise-client-urls", m.Client,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", filepath.Base(dir),
			"--heartbeat-interval", "100", "--election-timeout", "1000", "--logger", "zap", "--log-level", "error"}
		if srv.Cert != "" {
			m.args = append(m.args, "--cert-file", srv.Cert, "--key-file", srv.Key)
		}
		if srv.ClientCA != "" {
			m.args = append(m.args, "--trusted-ca-file", srv.ClientCA, "--client-cert-auth")
		}
		m.Start(t)
		t.Cleanup(m.Kill)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: time.Second, Logger: zap.NewNop(), TLS: clientTLS})
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
			return c
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(c.Members[0].Log)
			t.Fatalf("etcd not ready: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Start runs the member (again: with its data directory in place, etcd
// rejoins with it and ignores the initial-cluster flags).
func (m *Member) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(m.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	m.cmd = exec.Command(Binary, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); logf.Close(); close(exited) }(m.cmd, m.exited)
}

// Kill ends the member with SIGKILL (a crash) and waits for it; a member
// not running is left alone.
func (m *Member) Kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.exited
		m.cmd = nil
	}
}

// Signal sends sig to the running member (SIGSTOP and SIGCONT pause and
// resume it: a member that answers nothing while its connections stay up).
func (m *Member) Signal(sig syscall.Signal) error {
	if m.cmd == nil || m.cmd.Process == nil {
		return fmt.Errorf("etcdtest: member %s not running", m.Name)
	}
	return m.cmd.Process.Signal(sig)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
