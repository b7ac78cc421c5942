package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/station/cluster"
)

// TestCheckClusterKeys: -check validates the cluster keys, naming them;
// without cluster.etcd nothing is joined.
func TestCheckClusterKeys(t *testing.T) {
	cfg, err := loadConfig(testConfig(t, ""))
	if err != nil || cfg.file.Cluster.enabled() {
		t.Fatalf("no cluster section: enabled=%v, %v", cfg != nil && cfg.file.Cluster.enabled(), err)
	}
	cfg, err = loadConfig(testConfig(t, "cluster: {etcd: [\"http://127.0.0.1:2379\", \"http://10.0.0.2:2379\"], node_id: rcc1, lease_ttl: 4, dial_timeout: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.file.Cluster.config()
	if len(cc.Endpoints) != 2 || cc.Node != "rcc1" || cc.LeaseTTL != 4*time.Second || cc.RequestTimeout != 3*time.Second {
		t.Fatalf("cluster config %+v", cc)
	}
	// The address for calls between nodes: the key, else a UDP phones
	// listener on a specific IP, else none.
	cfg.file.Phones.Listen = nil
	if a := clusterSIPAddr(cfg); a != "" {
		t.Errorf("clusterSIPAddr without listeners = %q", a)
	}
	cfg.file.Phones.Listen = append(cfg.file.Phones.Listen, struct {
		Network string `mapstructure:"network"`
		Addr    string `mapstructure:"addr"`
	}{"udp", "0.0.0.0:5060"}, struct {
		Network string `mapstructure:"network"`
		Addr    string `mapstructure:"addr"`
	}{"udp", "10.0.0.5:5060"})
	if a := clusterSIPAddr(cfg); a != "10.0.0.5:5060" {
		t.Errorf("clusterSIPAddr = %q, want the specific UDP listener", a)
	}
	cfg.file.Cluster.SIPAddress = "10.0.0.9:5070"
	if a := clusterSIPAddr(cfg); a != "10.0.0.9:5070" {
		t.Errorf("clusterSIPAddr = %q, want cluster.sip_address", a)
	}
	// -check says that etcd replaces the state file.
	var out, errOut strings.Builder
	if printCheck(cfg, nil, &out, &errOut) != 0 || !strings.Contains(out.String(), "kept in etcd; state.file") {
		t.Errorf("-check with a cluster printed %q %q, want the note on state.file", out.String(), errOut.String())
	}
	for extra, want := range map[string]string{
		"cluster: {etcd: [\"127.0.0.1:2379\"]}\n":                                       "cluster.etcd[0]",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], node_id: a/b}\n":                  "node",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], lease_ttl: 1}\n":                  "lease_ttl",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], dial_timeout: -1}\n":              "cluster.dial_timeout",
		"cluster: {node_id: a}\n":                                                       "without cluster.etcd",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], nodeid: a}\n":                     "nodeid",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], sip_address: \"0.0.0.0:5060\"}\n": "cluster.sip_address",
		"cluster: {etcd: [\"http://127.0.0.1:2379\"], sip_address: pbx:5060}\n":         "cluster.sip_address",
	} {
		if _, err := loadConfig(testConfig(t, extra)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", extra, err, want)
		}
	}
}

// TestClusterUnreachableAtStart: with no etcd answering, the daemon does
// not start; the error names the endpoints and Cs_ClusterUnavailable, and
// nothing is left running (the state file can be opened again).
func TestClusterUnreachableAtStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	path := testConfig(t, "cluster: {etcd: [\""+dead+"\"], node_id: a, dial_timeout: 1}\n")
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := newDaemon(cfg, zerolog.Nop())
	if err == nil {
		d.abandon()
		t.Fatal("daemon built without etcd")
	}
	if !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), cluster.CodeUnavailable) {
		t.Fatalf("error %q does not name the endpoint and %s", err, cluster.CodeUnavailable)
	}
	if took := time.Since(start); took > joinTimeout {
		t.Fatalf("refusal took %v", took)
	}
	cfg.file.Cluster = fileCluster{}
	d, err = newDaemon(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("state file still held after the failed start: %v", err)
	}
	d.abandon()
}

// TestCheckClusterTLS: -check loads the cluster.tls files and refuses
// mixed http:// and https:// endpoints, TLS keys with http:// endpoints, a
// certificate without its key, a key of another certificate and a file
// that is not there, naming the keys. The messages name files, never
// their content.
func TestCheckClusterTLS(t *testing.T) {
	f, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := `["https://127.0.0.1:2379", "https://127.0.0.2:2379"]`
	good := fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q, cert: %q, key: %q}}\n", ep, f.CA, f.ClientCert, f.ClientKey)
	cfg, err := loadConfig(testConfig(t, good))
	if err != nil {
		t.Fatalf("good TLS keys: %v", err)
	}
	if tc, err := cfg.file.Cluster.tlsConfig(); err != nil || tc == nil || tc.RootCAs == nil || tc.GetClientCertificate == nil {
		t.Fatalf("tlsConfig: %v %v", tc, err)
	}
	for _, ok := range []string{
		fmt.Sprintf("cluster: {etcd: %s, node_id: a}\n", ep), // the system's CAs
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q}}\n", ep, f.CA),
	} {
		if _, err := loadConfig(testConfig(t, ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	key, _ := os.ReadFile(f.ClientKey)
	for extra, want := range map[string]string{
		"cluster: {etcd: [\"http://127.0.0.1:2379\", \"https://127.0.0.2:2379\"], node_id: a}\n":                                  "mixes http:// and https://",
		fmt.Sprintf("cluster: {etcd: [\"http://127.0.0.1:2379\"], node_id: a, tls: {ca: %q}}\n", f.CA):                            "cluster.tls: set but cluster.etcd lists http://",
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q, cert: %q}}\n", ep, f.CA, f.ClientCert):                         "needs both cert and key",
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q, cert: %q, key: %q}}\n", ep, f.CA, f.ClientCert, f.ServerKey):   "does not match",
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q}}\n", ep, f.CA+".missing"):                                      "cluster.tls (ca",
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q}}\n", ep, f.ClientKey):                                          "no PEM CERTIFICATE",
		fmt.Sprintf("cluster: {etcd: %s, node_id: a, tls: {ca: %q, cert: %q, key: %q}}\n", ep, f.CA, f.ExpiredCert, f.ExpiredKey): "valid",
		fmt.Sprintf("cluster: {tls: {ca: %q}}\n", f.CA):                                                                           "without cluster.etcd",
	} {
		_, err := loadConfig(testConfig(t, extra))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", extra, err, want)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(key[40:80])) {
			t.Errorf("%q: the error shows key material: %v", extra, err)
		}
	}
}

// TestClusterRoleSingle: without cluster.etcd the node reports the role
// single and none of the etcd series.
func TestClusterRoleSingle(t *testing.T) {
	cfg, err := loadConfig(testConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDaemon(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer d.abandon()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{d})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	role := ""
	for _, mf := range mfs {
		switch mf.GetName() {
		case "rcc_cluster_node_info":
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "role" && m.GetGauge().GetValue() == 1 {
						role += l.GetValue()
					}
				}
			}
		case "rcc_cluster_etcd_seconds", "rcc_cluster_lease_healthy":
			t.Errorf("%s exposed by a single node", mf.GetName())
		}
	}
	if role != "single" {
		t.Errorf("role %q, want single", role)
	}
}
