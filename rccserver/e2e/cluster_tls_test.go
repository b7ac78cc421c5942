package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/station/cluster/etcdtest"
)

// TestClusterTLS: one built node joins a real etcd that serves its
// clients over TLS only and requires a client certificate
// (--client-cert-auth), with cluster.tls naming the CA and the node's
// certificate. alice's sign-in takes her station in etcd (read back over
// TLS); /metrics shows the node's role and the take in the etcd latency
// histogram. The same configuration trusting another CA does not start:
// it exits naming Cs_ClusterTLSFailed and the reason, no key material.
func TestClusterTLS(t *testing.T) {
	f, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := certs.ClientConfig(f.CA, f.ClientCert, f.ClientKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ep := etcdtest.StartTLS(t, etcdtest.ServerTLS{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA}, clientTLS)
	clusterYAML := func(id, ca string) string {
		return fmt.Sprintf("{etcd: [%q], node_id: %s, lease_ttl: 2, dial_timeout: 1, tls: {ca: %q, cert: %q, key: %q}}", ep, id, ca, f.ClientCert, f.ClientKey)
	}
	a := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", cluster: clusterYAML("tls-a", f.CA)})
	if !a.logged(`"joined the cluster"`) {
		t.Fatal("the node did not log joining the cluster over TLS")
	}
	before := a.metrics(t)
	if before[`rcc_cluster_node_info{node="tls-a",role="member"}`] != 1 || before["rcc_cluster_lease_healthy"] != 1 {
		t.Fatalf("metrics after joining: role member %v, lease %v", before[`rcc_cluster_node_info{node="tls-a",role="member"}`], before["rcc_cluster_lease_healthy"])
	}
	if _, st, r := a.lync("sip:alice@example.com", aliceLine); st != 200 || r != "normal" {
		t.Fatalf("alice on the TLS node: %d %s", st, r)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: time.Second, Logger: zap.NewNop(), TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Get(ctx, "/rcc/station/1010")
	if err != nil || len(res.Kvs) != 1 || !strings.Contains(string(res.Kvs[0].Value), `"node":"tls-a"`) {
		t.Fatalf("station 1010 in etcd over TLS: %v %v", res, err)
	}
	after := a.metrics(t)
	const takes = `rcc_cluster_etcd_seconds_count{op="take"}`
	if after[takes] != before[takes]+1 || after[`rcc_cluster_etcd_seconds_bucket{op="take",le="+Inf"}`] != after[takes] {
		t.Errorf("take histogram: count %v before, %v after the sign-in; +Inf bucket %v", before[takes], after[takes], after[`rcc_cluster_etcd_seconds_bucket{op="take",le="+Inf"}`])
	}
	// The lease is renewed every third of its TTL (0.67 s here).
	for deadline := time.Now().Add(3 * time.Second); after[`rcc_cluster_etcd_seconds_count{op="renew"}`] < 1 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		after = a.metrics(t)
	}
	if after[`rcc_cluster_etcd_seconds_count{op="put"}`] < 1 || after[`rcc_cluster_etcd_seconds_count{op="renew"}`] < 1 {
		t.Errorf("put %v and renew %v requests not counted", after[`rcc_cluster_etcd_seconds_count{op="put"}`], after[`rcc_cluster_etcd_seconds_count{op="renew"}`])
	}
	if after[`rcc_cluster_etcd_failures_total{op="take"}`] != 0 {
		t.Errorf("failed takes: %v", after[`rcc_cluster_etcd_failures_total{op="take"}`])
	}
	t.Logf("take: %v requests, %.2f ms on average", after[takes], 1000*after[`rcc_cluster_etcd_seconds_sum{op="take"}`]/after[takes])

	// The same node's configuration trusting another CA, as a second node.
	b, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	rogue := strings.Replace(string(b), clusterYAML("tls-a", f.CA), clusterYAML("tls-b", f.RogueCA), 1)
	if rogue == string(b) {
		t.Fatal("cluster section not found in the site's configuration")
	}
	path := a.config + ".rogue.yaml"
	if err := os.WriteFile(path, []byte(rogue), 0o600); err != nil {
		t.Fatal(err)
	}
	cmdCtx, cmdCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cmdCancel()
	cmd := exec.CommandContext(cmdCtx, binary(t), "-config", path)
	cmd.Dir = t.TempDir()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil || cmdCtx.Err() != nil {
		t.Fatalf("a node trusting another CA: %v (context %v)\n%s", err, cmdCtx.Err(), out)
	}
	if !strings.Contains(string(out), "Cs_ClusterTLSFailed") || !strings.Contains(string(out), "certificate signed by unknown authority") {
		t.Errorf("the refusal does not name Cs_ClusterTLSFailed and the reason:\n%s", out)
	}
	if strings.Contains(string(out), "PRIVATE KEY") {
		t.Errorf("key material in the output:\n%s", out)
	}
	t.Logf("wrong CA: exit after %v: %s", time.Since(start).Round(time.Millisecond), lastLine(string(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
