package e2e_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// kamailio is Debian's kamailio running examples/kamailio/kamailio.cfg in
// the foreground, as the Lync front end in front of the rccserver binary.
type kamailio struct {
	t      testing.TB
	addr   string // 127.0.0.1:port, TCP
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
	mark   int // count and waitLog look at the log from here on
}

// kamailioBinary finds kamailio (Debian installs it in /usr/sbin, which may
// be missing from PATH). It is a required peer: without it the test fails.
func kamailioBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("kamailio"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/kamailio"); err == nil {
		return "/usr/sbin/kamailio"
	}
	t.Fatal("kamailio is not installed (Debian package kamailio; go tool task install-test-deps)")
	return ""
}

// startKamailio starts kamailio on a free loopback TCP port, relaying the
// RCC domain to rccAddr. It has its own working directory and pid file and
// needs no database and no privileges beyond binding that port.
func startKamailio(t *testing.T, rccAddr string) *kamailio {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	return runKamailio(t, "kamailio.cfg", addr, "-A", "LISTEN=tcp:"+addr,
		"-A", fmt.Sprintf("RCC_DST=\"sip:%s;transport=tcp\"", rccAddr))
}

// runKamailio starts kamailio with examples/kamailio/<cfg>, the defines in
// args, and waits until it accepts TCP connections at addr.
func runKamailio(t testing.TB, cfgName, addr string, args ...string) *kamailio {
	t.Helper()
	bin := kamailioBinary(t)
	cfg, err := filepath.Abs("../../examples/kamailio/" + cfgName)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := &kamailio{t: t, logs: &syncBuffer{}, exited: make(chan error, 1), addr: addr}
	k.cmd = exec.Command(bin, append([]string{"-DD", "-E", "-f", cfg, "-w", dir, "-P", filepath.Join(dir, "kamailio.pid"),
		"-m", "32", "-M", "4"}, args...)...)
	k.cmd.Dir = dir
	k.cmd.Stdout, k.cmd.Stderr = k.logs, k.logs
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	go func() { k.exited <- k.cmd.Wait() }()
	t.Cleanup(k.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.addr, time.Second)
		if err == nil {
			c.Close()
			return k
		}
		select {
		case err := <-k.exited:
			k.cmd.Process = nil
			t.Fatalf("kamailio exited: %v\n%s", err, k.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio not listening on %s\n%s", k.addr, k.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends kamailio: SIGTERM to the main process (it stops its children),
// SIGKILL to the whole process group if it lingers.
func (k *kamailio) stop() {
	if k.cmd.Process == nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL) // stray children, if any
	if k.t.Failed() || os.Getenv("KAMAILIO_LOG") != "" {
		k.t.Logf("kamailio log:\n%s", k.logs.String())
	}
	k.cmd.Process = nil
}

// since starts a new part of the log: count and waitLog look only at
// what kamailio logs from now on.
func (k *kamailio) since() { k.mark = len(k.logs.String()) }

// count returns how many log lines of kamailio match re since the mark.
func (k *kamailio) count(re string) int {
	return len(regexp.MustCompile(re).FindAllString(k.logs.String()[k.mark:], -1))
}

// waitLog waits until kamailio has logged n lines matching re since the mark.
func (k *kamailio) waitLog(t *testing.T, re string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for k.count(re) < n {
		if time.Now().After(deadline) {
			t.Fatalf("kamailio logged %d lines matching %q, want %d", k.count(re), re, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRouted checks kamailio's record of one RCC dialog: the sign-in
// INVITE went to rccserver, at least events INFOs came back from rccserver
// to the client, the client's ACK, INFOs, BYE (and UPDATE if refreshed)
// went along the route set, and nothing bypassed it.
func (k *kamailio) checkRouted(t *testing.T, events int, refreshed bool) {
	t.Helper()
	k.waitLog(t, `fe: in-dialog BYE from client`, 1)
	if n := k.count(`fe: INVITE sip:rcc@rcc\.example\.com\S* from client`); n != 1 {
		t.Errorf("kamailio relayed %d sign-in INVITEs, want 1", n)
	}
	if n := k.count(`fe: in-dialog INFO from rccserver`); n < events {
		t.Errorf("kamailio relayed %d INFOs from rccserver, the client got %d events", n, events)
	}
	want := []string{`fe: in-dialog ACK from client`, `fe: in-dialog INFO from client`}
	if refreshed {
		want = append(want, `fe: in-dialog UPDATE from client`)
	}
	for _, re := range want {
		if k.count(re) == 0 {
			t.Errorf("kamailio logged no %q", re)
		}
	}
	if k.count(`fe: in-dialog \S+ without our Route|fe: refused`) != 0 {
		t.Errorf("requests bypassed the route set:\n%s", k.logs.String()[k.mark:])
	}
}

// TestKamailioFrontEnd: a Lync client signs in through kamailio, which
// record-routes the dialog as a Lync front end does (docs/protocol.md "Routing: static route and Record-Route"), and
// drives a call between two baresip phones; the server's events and the
// client's refresh and sign-out all pass through kamailio along the route
// set. The client is first the sipgo emulator rccserver/lynctest (every
// event decoded and checked), then SIPp playing examples/demo's click to
// dial scenario.
func TestKamailioFrontEnd(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	k := startKamailio(t, s.rccAddr)
	a := s.phone("1010", "auto")   // alice's desk phone goes off-hook on MakeCall
	b := s.phone("1020", "manual") // bob accepts by hand

	t.Run("lynctest", func(t *testing.T) { kamailioLynctest(t, k, a, b) })
	t.Run("SIPp", func(t *testing.T) { kamailioSIPp(t, k, a, b) })
}

func kamailioLynctest(t *testing.T, k *kamailio, a, b *phonetest.Phone) {
	k.since()
	alice, err := lynctest.New(lynctest.Options{Server: k.addr, User: "sip:alice@example.com", Line: aliceLine,
		Domain: "rcc.example.com", SessionExpires: 1800})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alice.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	res, err := alice.SignIn(ctx)
	if err != nil || res == nil || res.StatusCode != 200 {
		t.Fatalf("sign-in through kamailio: %v %v", res, err)
	}
	if m, err := csta.Decode(res.Body()); err != nil || m.(*csta.RequestSystemStatusResponse).SystemStatus.String() != "normal" {
		t.Fatalf("sign-in answer %q: %v", res.Body(), err)
	}
	// kamailio really record-routed: the 200 carries its Record-Route, and
	// it came over the client's one connection, to kamailio.
	var rr []string
	for _, h := range res.GetHeaders("Record-Route") {
		rr = append(rr, h.Value())
	}
	if len(rr) != 1 || !strings.Contains(rr[0], k.addr) || !strings.Contains(rr[0], ";lr") {
		t.Fatalf("200 OK Record-Route %q, want kamailio's <sip:%s;transport=tcp;lr>", rr, k.addr)
	}
	if res.Source() != k.addr {
		t.Errorf("200 OK came from %s, not from kamailio %s", res.Source(), k.addr)
	}
	k.waitLog(t, `fe: INVITE sip:rcc@rcc\.example\.com\S* from client`, 1)

	xref := request(t, alice, &csta.MonitorStart{MonitorObject: aliceLine}).(*csta.MonitorStartResponse).MonitorCrossRefID

	// Click to dial: alice's phone goes off-hook, bob's rings, bob accepts.
	mc, ok := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine, AutoOriginate: "doNotPrompt"}).(*csta.MakeCallResponse)
	if !ok {
		t.Fatal("MakeCall refused")
	}
	id := mc.CallingDevice.CallID
	var events []lynctest.Event
	nextEv := func(want string) csta.Message {
		t.Helper()
		ev, err := alice.NextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if ev.Msg.Root() != want {
			t.Fatalf("got %s, want %s", ev.Msg.Root(), want)
		}
		events = append(events, ev)
		return ev.Msg
	}
	si := nextEv("ServiceInitiatedEvent").(*csta.ServiceInitiatedEvent)
	a.WaitEvent("CALL_ESTABLISHED")
	or := nextEv("OriginatedEvent").(*csta.OriginatedEvent)
	b.WaitEvent("CALL_INCOMING")
	de := nextEv("DeliveredEvent").(*csta.DeliveredEvent)
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	es := nextEv("EstablishedEvent").(*csta.EstablishedEvent)
	for name, got := range map[string][2]string{
		"ServiceInitiated": {si.InitiatedConnection.CallID, si.MonitorCrossRefID},
		"Originated":       {or.OriginatedConnection.CallID, or.MonitorCrossRefID},
		"Delivered":        {de.Connection.CallID, de.MonitorCrossRefID},
		"Established":      {es.EstablishedConnection.CallID, es.MonitorCrossRefID},
	} {
		if got[0] != id || got[1] != xref {
			t.Errorf("%s: callID %q monitor %q, want %q %q", name, got[0], got[1], id, xref)
		}
	}

	// Alice hangs up from the client.
	if _, ok := request(t, alice, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: aliceLine}}).(*csta.ClearConnectionResponse); !ok {
		t.Fatal("ClearConnection refused")
	}
	for {
		ev, err := alice.NextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for alice's ConnectionClearedEvent: %v", err)
		}
		events = append(events, ev)
		cc, ok := ev.Msg.(*csta.ConnectionClearedEvent)
		if !ok {
			t.Fatalf("after ClearConnection got %s", ev.Msg.Root())
		}
		if cc.DroppedConnection.CallID != id {
			t.Fatalf("ConnectionClearedEvent for call %q, want %q", cc.DroppedConnection.CallID, id)
		}
		if cc.DroppedConnection.DeviceID == aliceLine {
			break
		}
	}
	b.WaitEvent("CALL_CLOSED")

	// Every event reached the client from kamailio, the route set's only hop.
	for _, ev := range events {
		if src := ev.Req.Source(); src != k.addr {
			t.Errorf("%s arrived from %s, not through kamailio %s", ev.Msg.Root(), src, k.addr)
		}
		if v := ev.Req.Via(); v == nil || v.Port != mustPort(t, k.addr) {
			t.Errorf("%s top Via %v does not name kamailio", ev.Msg.Root(), v)
		}
	}

	// Refresh, stop the monitor, sign out: all along the route set.
	if res, err := alice.Update(ctx); err != nil || res.StatusCode != 200 {
		t.Fatalf("UPDATE through kamailio: %v %v", res, err)
	}
	if _, ok := request(t, alice, &csta.MonitorStop{MonitorCrossRefID: xref}).(*csta.MonitorStopResponse); !ok {
		t.Fatal("MonitorStop refused")
	}
	if err := alice.Bye(ctx); err != nil {
		t.Fatalf("BYE through kamailio: %v", err)
	}

	// kamailio's own record of the dialog: each event INFO went from
	// rccserver back to the client, the client's requests to rccserver.
	k.checkRouted(t, len(events), true)
	a.WaitEvent("CALL_CLOSED")
}

// kamailioSIPp plays examples/demo/click_to_dial.xml through kamailio: SIPp
// checks the order of the events and that each has the MakeCall's callID
// and the monitor's cross-reference.
func kamailioSIPp(t *testing.T, k *kamailio, a, b *phonetest.Phone) {
	k.since()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed (Debian package sip-tester; go tool task install-test-deps): %v", err)
	}
	scenario, err := filepath.Abs("../../examples/demo/click_to_dial.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(sipp, "-sf", scenario, "-t", "t1", "-aa", "-i", "127.0.0.1", "-p", strconv.Itoa(phonetest.FreePort(t)),
		"-m", "1", "-timeout", "40s", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "steps.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		k.addr)
	cmd.Dir = dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	done := make(chan struct{}) // closed when sipp has exited, with its result in waitErr
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	report := func() string {
		var b strings.Builder
		for _, f := range []string{"errors.log", "steps.log", "messages.log"} {
			c, _ := os.ReadFile(filepath.Join(dir, f))
			fmt.Fprintf(&b, "--- sipp %s\n%s\n", f, tail(c, 6000))
		}
		return b.String()
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	// Bob picks up when his phone rings; the scenario talks 4 s, hangs up.
	if _, err := b.WaitEventTimeout("CALL_INCOMING", 15*time.Second); err != nil {
		t.Fatalf("bob's phone: %v\n%s", err, report())
	}
	b.Accept()
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_ESTABLISHED")
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("sipp click_to_dial.xml through kamailio: %v\n%s\n%s", waitErr, out.String(), report())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("sipp still running after 40 s\n%s", report())
	}
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")
	steps, _ := os.ReadFile(filepath.Join(dir, "steps.log"))
	order := regexp.MustCompile(`event (\w+),`).FindAllStringSubmatch(string(steps), -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	want := []string{"ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent", "EstablishedEvent", "ConnectionClearedEvent"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("SIPp saw events %v, want %v", got, want)
	}
	k.checkRouted(t, len(want), false)
}

func mustPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
