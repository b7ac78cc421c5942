package switching

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

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
	clk := newFakeClock() // the window ends when the test says so
	cfg.Clock = clk
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
	clk.Advance(cfg.AuthFailureWindow)
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

// TestAuthLimiter: fixed windows per source on the injected clock, and a
// bounded table whose overflow shares one window.
func TestAuthLimiter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newAuthLimiter(&Config{AuthMaxFailures: 2, AuthFailureWindow: time.Minute, Clock: clock})
	ip := netip.MustParseAddr("192.0.2.7")
	other := netip.MustParseAddr("192.0.2.8")
	a.fail(ip)
	if r, _ := a.refused(ip); r {
		t.Fatal("refused after 1 failure of 2")
	}
	a.fail(ip)
	if r, first := a.refused(ip); !r || !first {
		t.Fatalf("after 2 failures: refused %v first %v, want both", r, first)
	}
	if r, first := a.refused(ip); !r || first {
		t.Fatalf("second refusal: refused %v first %v, want refused, not first", r, first)
	}
	if r, _ := a.refused(other); r {
		t.Fatal("another address refused")
	}
	clock.Advance(time.Minute)
	if r, _ := a.refused(ip); r {
		t.Fatal("refused after the window ended")
	}

	// The table is bounded: beyond maxAuthSources new sources share a window.
	for i := range maxAuthSources + 10 {
		a.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	a.mu.Lock()
	n := len(a.src)
	a.mu.Unlock()
	if n > maxAuthSources+1 {
		t.Fatalf("table holds %d sources, bound %d", n, maxAuthSources)
	}
	if r, _ := a.refused(netip.MustParseAddr("198.51.100.1")); !r {
		t.Error("a new source in the shared overflow window (10 failures) is not refused")
	}
	clock.Advance(time.Minute)
	if r, _ := a.refused(netip.MustParseAddr("198.51.100.1")); r {
		t.Error("overflow window not pruned when it ended")
	}

	off := newAuthLimiter(&Config{AuthMaxFailures: -1, AuthFailureWindow: time.Minute, Clock: clock})
	for range 100 {
		off.fail(ip)
	}
	if r, _ := off.refused(ip); r {
		t.Error("refused with the limit off")
	}
}

// TestPhoneGuard: the access list's matching and the start-up warning.
func TestPhoneGuard(t *testing.T) {
	t.Parallel()
	var counts refusalCounts
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	g := newPhoneGuard(&Config{Access: []string{"10.1.0.0/16", "2001:db8::/32", "::ffff:192.0.2.0/120"}}, "198.51.100.9:5060", log, &counts)
	for addr, want := range map[string]bool{
		"10.1.2.3:5060": true, "10.2.0.1:5060": false, "[2001:db8::1]:5060": true, "[2001:db9::1]:5060": false,
		"192.0.2.77:5060": true, "[::ffff:10.1.9.9]:5060": true, "198.51.100.9:5060": true, "198.51.100.10:5060": false,
		"127.0.0.1:5060": false,
	} {
		if got := g.allows(net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))); got != want {
			t.Errorf("allows(%s) = %v, want %v", addr, got, want)
		}
	}
	g.warnOpen(log, "udp", &net.UDPAddr{IP: net.ParseIP("0.0.0.0"), Port: 5060})
	if buf.Len() != 0 {
		t.Errorf("warned with an access list: %s", buf.String())
	}
	open := newPhoneGuard(&Config{}, "198.51.100.9:5060", log, &counts)
	if !open.allows(&net.UDPAddr{IP: net.ParseIP("203.0.113.1"), Port: 1}) {
		t.Error("empty list refuses")
	}
	open.warnOpen(log, "udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5060})
	if buf.Len() != 0 {
		t.Errorf("warned for loopback: %s", buf.String())
	}
	open.warnOpen(log, "tcp", &net.TCPAddr{IP: net.ParseIP("0.0.0.0"), Port: 5060})
	if !strings.Contains(buf.String(), "phones listener accepts any peer") || !strings.Contains(buf.String(), `"transport":"TCP"`) {
		t.Errorf("no warning for an open wildcard listener: %s", buf.String())
	}
}

// TestUnknownCallerChallenged: an INVITE from a user no station has is
// challenged (407) like a station's, not refused with 403.
func TestUnknownCallerChallenged(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	cli := sipClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, user := range []string{"7777", "1010"} {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1020", Host: "127.0.0.1", Port: sw.Addr("udp").(*net.UDPAddr).Port})
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "switch.test"}}
		from.Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "1020", Host: "switch.test"}})
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999}})
		res, err := cli.Do(ctx, req)
		if err != nil {
			t.Fatalf("INVITE from %s: %v", user, err)
		}
		if res.StatusCode != sip.StatusProxyAuthRequired || res.GetHeader("Proxy-Authenticate") == nil {
			t.Errorf("INVITE from %s: %d, want 407 with a challenge", user, res.StatusCode)
		}
	}
}

// TestClip: raw input for the log is cut to 512 bytes on a rune boundary.
func TestClip(t *testing.T) {
	t.Parallel()
	if got := clip("1010"); got != "1010" {
		t.Errorf("short: %q", got)
	}
	long := strings.Repeat("a", 511) + "é" + strings.Repeat("b", 40000)
	got := clip(long)
	if !strings.HasPrefix(got, strings.Repeat("a", 511)) || len(got) > maxLogField+len("…") || !utf8.ValidString(got) {
		t.Errorf("long: %d bytes, valid %v, %q…", len(got), utf8.ValidString(got), got[500:])
	}
}
