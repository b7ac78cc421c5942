package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// TestDaemonMTLS: the daemon's configuration maps an MTLS listener with its
// certificates and peer policy; a Lync pool certificate signs in, and the
// certificate's days left are exported as a metric.
func TestDaemonMTLS(t *testing.T) {
	files, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin := freePort(t)
	path := testConfig(t, "")
	b, _ := os.ReadFile(path)
	y := strings.Replace(string(b), "    - transport: tcp\n      addr: 127.0.0.1:0",
		fmt.Sprintf("    - transport: mtls\n      addr: 127.0.0.1:0\n      cert: %s\n      key: %s\n      client_ca: %s\n      allowed_peers: [\"*.example.com\"]",
			files.ServerCert, files.ServerKey, files.CA), 1)
	y = strings.Replace(y, `admin: {listen: "127.0.0.1:0"}`, fmt.Sprintf("admin: {listen: %q}", admin), 1)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, path)

	clientTLS, err := files.ClientTLS(files.ClientCert, files.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := lynctest.New(lynctest.Options{Server: addr, Transport: "tls", User: "sip:alice@example.com",
		Line: "tel:+13175551010", Domain: "rcc.example.com",
		TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.SignIn(ctx)
	if err != nil {
		t.Fatalf("MTLS sign-in: %v", err)
	}
	if !strings.Contains(res.Contact().Address.String(), "transport=tls") {
		t.Fatalf("Contact %s is not the TLS listener's", res.Contact().Address.String())
	}
	if _, _, err := c.Request(ctx, &csta.GetCSTAFeatures{}); err != nil {
		t.Fatal(err)
	}
	mres, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	if !strings.Contains(string(body), "rcc_certificate_days_left{") {
		t.Fatalf("no certificate metric in\n%s", body)
	}
}

// freePort returns a free loopback TCP address.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
