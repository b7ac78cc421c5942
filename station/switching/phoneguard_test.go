package switching

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// logBuffer collects the switch's JSON log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines whose code is code.
func (b *logBuffer) lines(code LogCode) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["code"] == string(code) {
			out = append(out, m)
		}
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSwitchLog is startSwitch with the log also written to a buffer.
func startSwitchLog(t *testing.T, cfg Config) (*Switch, *logBuffer) {
	t.Helper()
	cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}
	if cfg.Domain == "" {
		cfg.Domain = "switch.test"
	}
	if cfg.SetupTimeout == 0 {
		cfg.SetupTimeout = 3 * time.Second
	}
	lb := &logBuffer{}
	log := zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t), lb)).Level(zerolog.InfoLevel)
	sw, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- sw.Serve(context.Background()) }()
	t.Cleanup(func() {
		_ = sw.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sw, lb
}

// sipClient is a sipgo client for hand-made requests to the switch.
func sipClient(t *testing.T) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	return cli
}

func register(sw *Switch, user string) *sip.Request {
	target := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: sw.Addr("udp").(*net.UDPAddr).Port}
	req := sip.NewRequest(sip.REGISTER, target)
	aor := sip.Uri{Scheme: "sip", User: user, Host: "switch.test"}
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999}})
	req.AppendHeader(sip.NewHeader("Expires", "60"))
	return req
}

// TestPhoneAuthRateLimit: wrong passwords are logged Cs_PhoneAuthFailed
// (never the password); after AuthMaxFailures from one address every
// request needing authentication gets 403, logged once
// (Cs_PhoneAuthRateLimited) and then only counted, until the window ends.
// A real baresip with a wrong password is refused and logged the same way.
func TestPhoneAuthRateLimit(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.AuthMaxFailures = 3
	cfg.AuthFailureWindow = 2 * time.Second
	sw, lb := startSwitchLog(t, cfg)
	cli := sipClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	try := func(user, password string) int {
		t.Helper()
		req := register(sw, user)
		res, err := cli.Do(ctx, req)
		if err != nil {
			t.Fatalf("REGISTER: %v", err)
		}
		if res.StatusCode == sip.StatusUnauthorized && password != "" {
			if res, err = cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password}); err != nil {
				t.Fatalf("REGISTER with auth: %v", err)
			}
		}
		return res.StatusCode
	}
	start := time.Now()
	for i, user := range []string{"1010", "7777", "1020"} {
		if got := try(user, "guess-"+strconv.Itoa(i)); got != sip.StatusUnauthorized {
			t.Fatalf("attempt %d (%s): %d, want 401", i, user, got)
		}
	}
	for i := range 3 {
		if got := try("1010", "secret10"); got != sip.StatusForbidden {
			t.Fatalf("over the limit, attempt %d: %d, want 403", i, got)
		}
	}
	if time.Since(start) >= cfg.AuthFailureWindow {
		t.Fatalf("the attempts took %v, longer than the window: the test proves nothing", time.Since(start))
	}
	r := sw.Refusals()
	if r[CodePhoneAuthFailed] != 3 || r[CodePhoneAuthRateLimited] != 3 {
		t.Errorf("Refusals = %v, want 3 failed and 3 rate-limited", r)
	}
	failed := lb.lines(CodePhoneAuthFailed)
	if len(failed) != 3 || failed[0]["reason"] != "wrong_password" || failed[1]["reason"] != "unknown_user" ||
		failed[0]["auth_user"] != "1010" || failed[0]["peer"] == nil {
		t.Errorf("Cs_PhoneAuthFailed lines = %v", failed)
	}
	if limited := lb.lines(CodePhoneAuthRateLimited); len(limited) != 1 {
		t.Errorf("Cs_PhoneAuthRateLimited lines = %v, want exactly 1 (the rest are counted)", limited)
	}
	if strings.Contains(lb.String(), "guess-") {
		t.Errorf("a password reached the log")
	}
	// The window ends: the right password gets in again.
	waitFor(t, "the end of the window", func() bool { return time.Since(start) > cfg.AuthFailureWindow })
	if got := try("1010", "secret10"); got != sip.StatusOK {
		t.Fatalf("after the window: %d, want 200", got)
	}

	// A real phone with the wrong password: baresip retries it until the
	// limit answers 403, which stops it.
	phonetest.StartBaresip(t, phonetest.Options{User: "1030", Password: "wrong", Registrar: udpAddr(sw)})
	waitFor(t, "baresip's failures logged and limited", func() bool {
		n := 0
		for _, l := range lb.lines(CodePhoneAuthFailed) {
			if l["auth_user"] == "1030" && l["reason"] == "wrong_password" {
				n++
			}
		}
		return n == cfg.AuthMaxFailures && len(lb.lines(CodePhoneAuthRateLimited)) == 2
	})
	if sw.Registered("1030") {
		t.Errorf("1030 registered with a wrong password")
	}
}

// TestPhoneAccessList: with Config.Access set, a baresip phone outside it
// never registers (its datagrams are dropped), a TCP connection from it is
// closed at once, both counted and logged Cs_PhoneAccessDenied; a switch
// whose list holds loopback answers as usual.
func TestPhoneAccessList(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.Access = []string{"192.0.2.0/24", "2001:db8::/32"}
	sw, lb := startSwitchLog(t, cfg)

	p := phonetest.StartBaresip(t, phonetest.Options{User: "1010", Password: "secret10", Registrar: udpAddr(sw)})
	if ev, err := p.WaitEventTimeout("REGISTER_OK", 2*time.Second); err == nil {
		t.Fatalf("a phone outside phones.access registered: %+v", ev)
	}
	if sw.Registered("1010") {
		t.Fatal("Registered(1010) with the phone outside the access list")
	}
	c, err := net.DialTimeout("tcp", sw.Addr("tcp").String(), time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("OPTIONS sip:switch.test SIP/2.0\r\n\r\n"))
	if n, err := c.Read(make([]byte, 100)); err == nil {
		t.Fatalf("refused TCP connection answered %d bytes", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("refused TCP connection left open")
	}
	if n := sw.Refusals()[CodePhoneAccessDenied]; n < 2 {
		t.Errorf("Refusals[%s] = %d, want ≥ 2 (UDP and TCP)", CodePhoneAccessDenied, n)
	}
	var udp, tcp bool
	for _, l := range lb.lines(CodePhoneAccessDenied) {
		udp = udp || l["transport"] == "UDP"
		tcp = tcp || l["transport"] == "TCP"
		if l["reason"] != "address_not_allowed" {
			t.Errorf("line %v: reason", l)
		}
	}
	if !udp || !tcp {
		t.Errorf("Cs_PhoneAccessDenied lines: udp %v tcp %v", udp, tcp)
	}

	cfg = twoStations()
	cfg.Access = []string{"127.0.0.0/8"}
	open := startSwitch(t, cfg)
	phone(t, open, "1020", "secret20", "manual")
	if n := open.Refusals()[CodePhoneAccessDenied]; n != 0 {
		t.Errorf("allowed phone counted as refused: %d", n)
	}
}

// TestAccessConfig: bad entries are configuration errors naming the entry.
func TestAccessConfig(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.300", "example.com", "10.0.0.0/33", ""} {
		err := Config{Access: []string{"10.0.0.1", bad}}.Validate()
		if err == nil || !strings.Contains(err.Error(), "access[1]") {
			t.Errorf("Access %q: %v", bad, err)
		}
	}
	if err := (Config{Access: []string{"10.0.0.1", "::ffff:10.1.0.0/112", "2001:db8::/32"}}).Validate(); err != nil {
		t.Errorf("valid access list: %v", err)
	}
}
