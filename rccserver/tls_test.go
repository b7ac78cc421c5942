package rccserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/viper"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// logSink keeps every JSON log line for assertions.
type logSink struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logSink) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(p), &m); err == nil {
		l.mu.Lock()
		l.lines = append(l.lines, m)
		l.mu.Unlock()
	}
	return len(p), nil
}

// find returns the first line whose fields include want (values compared
// as strings; a value ending in "*" is a prefix).
func (l *logSink) find(want map[string]string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		ok := true
		for k, v := range want {
			got := fmt.Sprint(m[k])
			if p, prefix := strings.CutSuffix(v, "*"); (prefix && !strings.HasPrefix(got, p)) || (!prefix && got != v) {
				ok = false
				break
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

// count returns how many lines include want.
func (l *logSink) count(want map[string]string) int {
	l.mu.Lock()
	lines := l.lines
	l.mu.Unlock()
	n := 0
	for i := range lines {
		sub := &logSink{lines: lines[i : i+1]}
		if sub.find(want) != nil {
			n++
		}
	}
	return n
}

// wait polls for a line with the fields of want.
func (l *logSink) wait(t *testing.T, want map[string]string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m := l.find(want); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no log line with %v within %v; lines:\n%v", want, within, l.lines)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startLogged is start (harness_test.go) with the server's log captured.
func startLogged(t *testing.T, mutate func(*rccserver.Config)) (*harness, *logSink) {
	t.Helper()
	return startLoggedWith(t, echoHandler{}, mutate)
}

func startLoggedWith(t *testing.T, handler rccserver.Handler, mutate func(*rccserver.Config)) (*harness, *logSink) {
	t.Helper()
	logs := &logSink{}
	h := &harness{t: t, done: make(chan error, 1)}
	cfg := rccserver.DefaultConfig()
	cfg.Domains = []string{"rcc.example.com", "127.0.0.1"}
	cfg.KeepAlive = 0
	cfg.RequestTimeout = 2 * time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	mutate(&cfg)
	srv, err := rccserver.New(rccserver.Options{
		Config: cfg,
		Log:    zerolog.New(zerolog.MultiLevelWriter(zerolog.NewTestWriter(t), logs)).Level(zerolog.InfoLevel),
		Admission: rccserver.AdmissionFunc(func(ctx context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
			return &rccserver.Grant{Status: csta.StatusNormal, Release: h.released}, nil
		}),
		Handler: handler,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	h.srv, h.addr = srv, srv.Addrs()[0].String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- srv.Serve(ctx) }()
	t.Cleanup(h.stop)
	return h, logs
}

// devPKI writes a development PKI for one test.
func devPKI(t *testing.T) certs.DevFiles {
	t.Helper()
	f, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mtlsListener is an MTLS listener on loopback with the dev PKI, trusting
// the Lync pool by name.
func mtlsListener(f certs.DevFiles) rccserver.Listener {
	return rccserver.Listener{Transport: "mtls", Addr: "127.0.0.1:0", Config: certs.Config{
		Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA,
		AllowedPeers: []string{"lyncpool.example.com", "*.lyncpool.example.com"}, ReloadInterval: -1,
	}}
}

// clientTLS is the Lync side's TLS configuration (certs.DevFiles.ClientTLS).
func clientTLS(t *testing.T, f certs.DevFiles, cert, key string) *tls.Config {
	t.Helper()
	c, err := f.ClientTLS(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMTLSSignIn(t *testing.T) {
	f := devPKI(t)
	for _, transport := range []string{"mtls", "tls"} {
		t.Run(transport, func(t *testing.T) {
			h, logs := startLogged(t, func(c *rccserver.Config) {
				l := mtlsListener(f)
				if transport == "tls" {
					l.Transport, l.ClientCA, l.AllowedPeers = "tls", "", nil
				}
				c.Listeners = []rccserver.Listener{l}
				c.Access = []string{"127.0.0.0/8", "::1"}
			})
			cfg := clientTLS(t, f, f.ClientCert, f.ClientKey)
			cfg.ServerName = "" // sipgo sets the destination host, 127.0.0.1 (an IP SAN)
			c := h.newClient(lynctest.Options{Transport: "tls", TLS: cfg})
			res, err := c.SignIn(ctxT(t, 5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := res.Contact().Address.String(), "sip:"+h.addr+";transport=tls"; got != want {
				t.Errorf("Contact %q, want %q", got, want)
			}
			if _, res, err := c.Request(ctxT(t, 5*time.Second), &csta.GetCSTAFeatures{}); err != nil || res.StatusCode != 200 {
				t.Fatalf("INFO over TLS: %v %v", res, err)
			}
			want := map[string]string{"message": "TLS client accepted", "version": "TLS 1.3"}
			if transport == "mtls" {
				want["subject"] = "lyncpool.example.com"
			}
			logs.wait(t, want, 2*time.Second)
			if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			h.waitSessions(0, 2*time.Second)
		})
	}
}

// outcome is what a refused client saw: the server closed the connection.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 512))
	for err == nil {
		_, err = c.Read(make([]byte, 512))
	}
	if errors.Is(err, io.EOF) || !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
		return // EOF, reset or a TLS alert: closed by the server
	}
	t.Fatalf("connection not closed by the server: %v", err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestTLSRefusals: each bad client ends with one log line naming the
// reason and with the connection closed; other clients are not held up.
func TestTLSRefusals(t *testing.T) {
	f := devPKI(t)
	const handshakeTimeout = time.Second
	h, logs := startLogged(t, func(c *rccserver.Config) {
		l := mtlsListener(f)
		l.HandshakeTimeout = handshakeTimeout
		c.Listeners = []rccserver.Listener{l, {Transport: "tcp", Addr: "127.0.0.1:0"}}
	})
	mtlsAddr, tcpAddr := h.addr, h.srv.Addrs()[1].String()

	dialTLS := func(t *testing.T, cert, key string) net.Conn {
		raw, err := net.Dial("tcp", mtlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(raw, clientTLS(t, f, cert, key))
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_ = c.Handshake() // under TLS 1.3 the refusal shows on the first read
		_ = c.SetDeadline(time.Time{})
		return c
	}
	tests := []struct {
		name   string
		code   rccserver.LogCode
		reason string
		client func(t *testing.T) net.Conn
	}{
		{"expired certificate", rccserver.CodeAccessDenied, "certificate_expired", func(t *testing.T) net.Conn { return dialTLS(t, f.ExpiredCert, f.ExpiredKey) }},
		{"unknown CA", rccserver.CodeAccessDenied, "unknown_ca", func(t *testing.T) net.Conn { return dialTLS(t, f.RogueCert, f.RogueKey) }},
		{"missing clientAuth EKU", rccserver.CodeAccessDenied, "missing_client_auth_eku", func(t *testing.T) net.Conn { return dialTLS(t, f.NoEKUCert, f.NoEKUKey) }},
		{"peer name not allowed", rccserver.CodeAccessDenied, "peer_not_allowed", func(t *testing.T) net.Conn { return dialTLS(t, f.IntruderCert, f.IntruderKey) }},
		{"no client certificate", rccserver.CodeAccessDenied, "no_client_certificate", func(t *testing.T) net.Conn { return dialTLS(t, "", "") }},
		{"plaintext on the TLS port", rccserver.CodeTLSFailure, "plaintext_on_tls_port", func(t *testing.T) net.Conn {
			c, err := net.Dial("tcp", mtlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, "OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n")
			return c
		}},
		{"TLS on the TCP port", rccserver.CodeTLSFailure, "tls_on_tcp_port", func(t *testing.T) net.Conn {
			raw, err := net.Dial("tcp", tcpAddr)
			if err != nil {
				t.Fatal(err)
			}
			c := tls.Client(raw, clientTLS(t, f, f.ClientCert, f.ClientKey))
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if err := c.Handshake(); err == nil {
				t.Error("handshake with the TCP port succeeded")
			}
			return raw
		}},
		{"handshake never completes", rccserver.CodeTLSFailure, "handshake_timeout", func(t *testing.T) net.Conn {
			silent, err := net.Dial("tcp", mtlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			// A silent client holds up nobody: a good client gets in meanwhile.
			start := time.Now()
			good := dialTLS(t, f.ClientCert, f.ClientKey)
			defer good.Close()
			if tc := good.(*tls.Conn); !tc.ConnectionState().HandshakeComplete || time.Since(start) >= handshakeTimeout {
				t.Errorf("good client behind a silent one: complete %v after %v", tc.ConnectionState().HandshakeComplete, time.Since(start))
			}
			return silent
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			defer c.Close()
			line := logs.wait(t, map[string]string{"code": string(tc.code), "reason": tc.reason, "peer": c.LocalAddr().String()}, 5*time.Second)
			if line["level"] != "warn" || line["message"] == "" {
				t.Errorf("log line %v", line)
			}
			expectClosed(t, c)
		})
	}
	st := h.srv.Stats()
	if st.AccessDenied != 5 || st.TLSFailures != 3 {
		t.Errorf("AccessDenied %d (want 5), TLSFailures %d (want 3)", st.AccessDenied, st.TLSFailures)
	}
	if st.Refusals[string(rccserver.CodeAccessDenied)] != 5 || st.Refusals[string(rccserver.CodeTLSFailure)] != 3 {
		t.Errorf("Refusals %v", st.Refusals)
	}
	// Exactly one line per refusal.
	if n := logs.count(map[string]string{"code": string(rccserver.CodeAccessDenied)}); n != 5 {
		t.Errorf("%d Cs_AccessDenied lines, want 5", n)
	}
}

// TestTLSRenewedCertificate: a renewed server certificate is served to the
// next connection (file polling), while a session on an older connection
// keeps working.
func TestTLSRenewedCertificate(t *testing.T) {
	f := devPKI(t)
	h, _ := startLogged(t, func(c *rccserver.Config) {
		l := mtlsListener(f)
		l.ReloadInterval = 20 * time.Millisecond
		c.Listeners = []rccserver.Listener{l}
	})
	signIn := func() (*lynctest.Client, *x509.Certificate) {
		var mu sync.Mutex
		var seen *x509.Certificate
		cfg := clientTLS(t, f, f.ClientCert, f.ClientKey)
		cfg.ServerName = ""
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			mu.Lock()
			seen = cs.PeerCertificates[0]
			mu.Unlock()
			return nil
		}
		c := h.newClient(lynctest.Options{Transport: "tls", TLS: cfg})
		if _, err := c.SignIn(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return c, seen
	}
	old, oldCert := signIn()
	before := h.srv.TLSStatus()[0]
	if before.Serial != oldCert.SerialNumber.Text(16) || before.DaysLeft < 300 {
		t.Fatalf("TLSStatus %+v, client saw serial %s", before, oldCert.SerialNumber.Text(16))
	}
	if _, err := certs.InitDevPKI(filepath.Dir(f.CA), certs.DevPKIOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.TLSStatus()[0].Serial == before.Serial {
		if time.Now().After(deadline) {
			t.Fatal("renewed certificate not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	renewed, newCert := signIn()
	if newCert.Equal(oldCert) || newCert.SerialNumber.Text(16) != h.srv.TLSStatus()[0].Serial {
		t.Fatalf("new connection got serial %s, want the renewed %s", newCert.SerialNumber.Text(16), h.srv.TLSStatus()[0].Serial)
	}
	// SIGHUP / -reload path: nothing changed, still fine.
	if err := h.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*lynctest.Client{"old": old, "renewed": renewed} {
		if _, res, err := c.Request(ctxT(t, 5*time.Second), &csta.GetCSTAFeatures{}); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s session after reload: %v %v", name, res, err)
		}
	}
	h.waitSessions(2, time.Second)
}

func TestTLSConfigValidate(t *testing.T) {
	no := false
	tests := []struct {
		name string
		l    rccserver.Listener
		want string // "" valid
	}{
		{"mtls", rccserver.Listener{Transport: "mtls", Addr: ":11001", Config: certs.Config{Cert: "c", Key: "k", ClientCA: "ca"}}, ""},
		{"tls pkcs12", rccserver.Listener{Transport: "TLS", Addr: ":11001", Config: certs.Config{PKCS12: "p", PKCS12PasswordEnv: "RCC_P12"}}, ""},
		{"mtls without client_ca", rccserver.Listener{Transport: "mtls", Addr: ":11001", Config: certs.Config{Cert: "c", Key: "k"}}, "listen.listeners[0].client_ca"},
		{"tls without certificate", rccserver.Listener{Transport: "tls", Addr: ":11001"}, "listen.listeners[0].cert"},
		{"tcp with a certificate", rccserver.Listener{Transport: "tcp", Addr: ":11001", Config: certs.Config{Cert: "c"}}, "listen.listeners[0]: certificate settings"},
		{"policy on tls", rccserver.Listener{Transport: "tls", Addr: ":11001", Config: certs.Config{Cert: "c", Key: "k", RequireClientAuthEKU: &no}}, "listen.listeners[0].require_client_auth_eku"},
		{"handshake timeout in seconds", rccserver.Listener{Transport: "tls", Addr: ":11001", Config: certs.Config{Cert: "c", Key: "k"}, HandshakeTimeout: 10}, "listen.listeners[0].handshake_timeout"},
		{"unknown transport", rccserver.Listener{Transport: "sctp", Addr: ":11001"}, "listen.listeners[0].transport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rccserver.DefaultConfig()
			c.Listeners = []rccserver.Listener{tc.l}
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, rccserver.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTLSConfigKeys decodes the YAML keys the daemon's file uses.
func TestTLSConfigKeys(t *testing.T) {
	v := viper.New()
	v.SetConfigType("yaml")
	err := v.ReadConfig(strings.NewReader(`
listen:
  access: [10.1.2.0/24, 10.1.3.7]
  listeners:
    - transport: mtls
      addr: 0.0.0.0:11001
      advertise: rcc.example.com:11001
      pkcs12: /etc/rccserver/rcc.p12
      pkcs12_password_env: RCC_PKCS12_PASSWORD
      client_ca: /etc/rccserver/lync-ca.pem
      require_client_auth_eku: false
      allowed_peers: [lyncpool.example.com, "*.lyncpool.example.com"]
      handshake_timeout: 5s
      reload_interval: 1m
    - transport: tcp
      addr: 10.1.2.3:5060
`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Access    []string             `mapstructure:"access"`
		Listeners []rccserver.Listener `mapstructure:"listeners"`
	}
	if err := v.UnmarshalKey("listen", &got); err != nil {
		t.Fatal(err)
	}
	l := got.Listeners[0]
	if l.PKCS12 != "/etc/rccserver/rcc.p12" || l.PKCS12PasswordEnv != "RCC_PKCS12_PASSWORD" || l.ClientCA != "/etc/rccserver/lync-ca.pem" ||
		l.RequireClientAuthEKU == nil || *l.RequireClientAuthEKU || len(l.AllowedPeers) != 2 ||
		l.HandshakeTimeout != 5*time.Second || l.ReloadInterval != time.Minute || len(got.Access) != 2 {
		t.Fatalf("decoded %+v access %v", l, got.Access)
	}
	c := rccserver.DefaultConfig()
	c.Listeners, c.Access = got.Listeners, got.Access
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
