// Package etcdtest starts a real one-member etcd (the Debian etcd-server
// package's /usr/bin/etcd) for tests of packages that use station/cluster:
// free loopback ports, data under /dev/shm, stopped at the end of the
// test; StartTLS serves the clients over TLS. A missing etcd fails the test.
package etcdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is the etcd server the tests run.
const Binary = "/usr/bin/etcd"

// Start starts etcd and returns its client URL once it answers.
func Start(t testing.TB) string {
	t.Helper()
	return start(t, ServerTLS{}, nil)
}

// ServerTLS are etcd's certificate files for its client URL (etcd's
// --cert-file, --key-file, --trusted-ca-file; a CA makes it require a
// client certificate, --client-cert-auth).
type ServerTLS struct {
	Cert, Key string
	// ClientCA, if set, is the CA the clients' certificates must chain to.
	ClientCA string
}

// StartTLS starts etcd serving its clients over TLS and returns its
// https:// client URL once a client configured with client answers.
func StartTLS(t testing.TB, srv ServerTLS, client *tls.Config) string {
	t.Helper()
	if srv.Cert == "" || srv.Key == "" || client == nil {
		t.Fatal("etcdtest.StartTLS: server certificate, key and a client TLS configuration needed")
	}
	return start(t, srv, client)
}

func start(t testing.TB, srv ServerTLS, clientTLS *tls.Config) string {
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("etcd is needed (Debian package etcd-server, see Taskfile.yml APT_PACKAGES): %v", err)
	}
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
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
	client, peer := fmt.Sprintf("%s://127.0.0.1:%d", scheme, freePort(t)), fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--name", "m0", "--data-dir", filepath.Join(dir, "m0"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "m0=" + peer, "--initial-cluster-state", "new", "--initial-cluster-token", filepath.Base(dir),
		"--heartbeat-interval", "100", "--election-timeout", "1000", "--logger", "zap", "--log-level", "error"}
	if srv.Cert != "" {
		args = append(args, "--cert-file", srv.Cert, "--key-file", srv.Key)
	}
	if srv.ClientCA != "" {
		args = append(args, "--trusted-ca-file", srv.ClientCA, "--client-cert-auth")
	}
	cmd := exec.Command(Binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); <-exited })
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: time.Second, Logger: zap.NewNop(), TLS: clientTLS})
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
			return client
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd not ready: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
