package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/certs"
)

func newManager(t *testing.T, o certs.ManagerOptions) (*certs.Manager, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.Log = zerolog.New(logs)
	m, err := certs.NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	return m, logs
}

func TestManagerExpiry(t *testing.T) {
	f := devPKI(t)
	notAfter := readCert(t, f.ServerCert).NotAfter
	tests := []struct {
		name string
		now  time.Time
		days int
		log  string
	}{
		{"fresh", notAfter.Add(-100 * 24 * time.Hour), 100, ""},
		{"ten days left", notAfter.Add(-10*24*time.Hour - time.Hour), 10, "expires soon"},
		{"hours left", notAfter.Add(-time.Hour), 0, "expires soon"},
		{"expired yesterday", notAfter.Add(24*time.Hour + time.Hour), -2, "has expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, logs := newManager(t, certs.ManagerOptions{Config: certs.Config{Cert: f.ServerCert, Key: f.ServerKey},
				Now: func() time.Time { return tc.now }})
			if got := m.DaysUntilExpiry(); got != tc.days {
				t.Errorf("DaysUntilExpiry %d, want %d", got, tc.days)
			}
			if got := m.Status().DaysLeft; got != tc.days {
				t.Errorf("Status.DaysLeft %d, want %d", got, tc.days)
			}
			out := logs.String()
			for _, w := range []string{"expires soon", "has expired"} {
				if strings.Contains(out, w) != (w == tc.log) {
					t.Errorf("log has %q: %v, want %v:\n%s", w, !(w == tc.log), w == tc.log, out)
				}
			}
		})
	}
}

func TestManagerReload(t *testing.T) {
	f := devPKI(t)
	dir := filepath.Dir(f.CA)
	m, logs := newManager(t, certs.ManagerOptions{Config: certs.Config{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA}, Mutual: true})
	before := m.Status().Serial
	if _, err := certs.InitDevPKI(dir, certs.DevPKIOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	after := m.Status().Serial
	if after == before {
		t.Fatal("serial unchanged after renewal and Reload")
	}
	// A broken key: the reload fails, the renewed certificate stays in service.
	if err := os.WriteFile(f.ServerKey, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); !errors.Is(err, certs.ErrLoad) {
		t.Fatalf("Reload with a broken key: %v", err)
	}
	if got := m.Status().Serial; got != after {
		t.Fatalf("serial %s after a failed reload, want %s", got, after)
	}
	if !strings.Contains(logs.String(), "previous one stays in service") {
		t.Fatalf("no log of the failed reload:\n%s", logs)
	}
}

func TestManagerPollsFiles(t *testing.T) {
	f := devPKI(t)
	m, _ := newManager(t, certs.ManagerOptions{Config: certs.Config{PKCS12: f.ServerPKCS12, PKCS12Password: f.Password, ReloadInterval: 10 * time.Millisecond}})
	before := m.Status().Serial
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := certs.InitDevPKI(filepath.Dir(f.CA), certs.DevPKIOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Status().Serial == before {
		if time.Now().After(deadline) {
			t.Fatal("renewed bundle not picked up by polling")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// handshake runs a TLS handshake over loopback TCP and returns both sides'
// errors and the server certificate the client saw.
func handshake(t *testing.T, server *tls.Config, client *tls.Config) (seen *x509.Certificate, sc, cc *tls.Conn, serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   *tls.Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- result{nil, err}
			return
		}
		tc := tls.Server(c, server)
		res <- result{tc, tc.Handshake()}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc = tls.Client(raw, client)
	clientErr = cc.Handshake()
	if clientErr == nil {
		// Under TLS 1.3 a refused client certificate shows on the first read.
		_ = cc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := cc.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			clientErr = err
		}
		_ = cc.SetReadDeadline(time.Time{})
		seen = cc.ConnectionState().PeerCertificates[0]
	}
	r := <-res
	sc, serverErr = r.c, r.err
	t.Cleanup(func() {
		_ = cc.Close()
		if sc != nil {
			_ = sc.Close()
		}
	})
	return seen, sc, cc, serverErr, clientErr
}

func clientConfig(t *testing.T, f certs.DevFiles, cert, key string) *tls.Config {
	t.Helper()
	c, err := f.ClientTLS(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestManagerHandshake(t *testing.T) {
	f := devPKI(t)
	m, _ := newManager(t, certs.ManagerOptions{Mutual: true, Config: certs.Config{
		Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA, AllowedPeers: []string{"lyncpool.example.com"}}})
	tests := []struct {
		name      string
		cert, key string
		max       uint16
		want      error
	}{
		{"lync pool", f.ClientCert, f.ClientKey, 0, nil},
		{"lync pool over TLS 1.2", f.ClientCert, f.ClientKey, tls.VersionTLS12, nil},
		{"no certificate", "", "", 0, certs.ErrNoClientCertificate},
		{"no clientAuth EKU", f.NoEKUCert, f.NoEKUKey, 0, certs.ErrMissingClientAuthEKU},
		{"expired", f.ExpiredCert, f.ExpiredKey, tls.VersionTLS12, certs.ErrExpired},
		{"unknown CA", f.RogueCert, f.RogueKey, 0, certs.ErrUnknownCA},
		{"not allowed", f.IntruderCert, f.IntruderKey, 0, certs.ErrPeerNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientConfig(t, f, tc.cert, tc.key)
			cfg.MaxVersion = tc.max
			_, _, _, serverErr, clientErr := handshake(t, m.TLSConfig(), cfg)
			if !errors.Is(serverErr, tc.want) || (tc.want == nil) != (serverErr == nil) {
				t.Fatalf("server handshake: %v, want %v", serverErr, tc.want)
			}
			if (tc.want == nil) != (clientErr == nil) {
				t.Fatalf("client: %v", clientErr)
			}
		})
	}
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		cfg := clientConfig(t, f, f.ClientCert, f.ClientKey)
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if _, _, _, serverErr, _ := handshake(t, m.TLSConfig(), cfg); serverErr == nil {
			t.Fatal("a TLS 1.1 client was accepted")
		}
	})
}

// TestManagerReloadKeepsLiveConnections: a connection made before a reload
// keeps working; the next one gets the renewed certificate.
func TestManagerReloadKeepsLiveConnections(t *testing.T) {
	f := devPKI(t)
	m, _ := newManager(t, certs.ManagerOptions{Mutual: true, Config: certs.Config{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA}})
	first, sc, cc, _, _ := handshake(t, m.TLSConfig(), clientConfig(t, f, f.ClientCert, f.ClientKey))
	if _, err := certs.InitDevPKI(filepath.Dir(f.CA), certs.DevPKIOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = sc.Write([]byte("still here")) }()
	buf := make([]byte, 10)
	if _, err := cc.Read(buf); err != nil || string(buf) != "still here" {
		t.Fatalf("old connection after reload: %q %v", buf, err)
	}
	second, _, _, _, clientErr := handshake(t, m.TLSConfig(), clientConfig(t, f, f.ClientCert, f.ClientKey))
	if clientErr != nil {
		t.Fatal(clientErr)
	}
	if first.Equal(second) {
		t.Fatal("new connection still got the old certificate")
	}
}
