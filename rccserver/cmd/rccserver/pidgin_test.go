package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestPidginSipe signs alice in with pidgin-sipe, the open-source Lync
// client, run headless inside bitlbee (inetd mode: libpurple driven over an
// IRC conversation on a socket pair, no network port). A fake Lync front
// end (sipgoFrontEnd) answers its REGISTER and provisioning SUBSCRIBE and
// record-routes its CSTA INVITE to the built rccserver, relaying every
// request both ways as a front end does; it answers none of the server's
// INFOs itself. The test sees rccserver admit alice, pidgin-sipe accept
// the RCC line (its debug log), GetCSTAFeatures and MonitorStart answered,
// a click-to-dial placed from pidgin-sipe between two baresip phones with
// its events matched by pidgin-sipe, the session outlive two re-INVITE
// refreshes with a keep-alive every 5 s, and the sign-out (MonitorStop,
// then BYE at once) answered without a 481.
//
// pidgin-sipe 1.25 on Debian 12 needs an LD_PRELOAD fix for its XML parser
// (testdata/sipe_sax_fix.c, built here). Peers: bitlbee-libpurple,
// pidgin-sipe, a C compiler and libxml2's headers (Taskfile APT_PACKAGES).
// SIPE_LOG=file keeps pidgin-sipe's whole debug log, SIPE_FE_LOG=file what
// the front end relayed.
func TestPidginSipe(t *testing.T) {
	for _, bin := range []string{"bitlbee", "cc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (go tool task install-test-deps): %v", bin, err)
		}
	}
	if _, err := os.Stat("/usr/lib/purple-2/libsipe.so"); err != nil {
		t.Fatalf("pidgin-sipe is not installed (go tool task install-test-deps): %v", err)
	}
	preload := buildSAXFix(t)

	path := testConfig(t, "")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	// pidgin-sipe re-INVITEs 60 s before expiry: a 75 s interval makes it
	// refresh every 15 s.
	phonePort := phonetest.FreePort(t)
	for old, repl := range map[string]string{
		"session_expires: 1800":                 "session_expires: 75",
		"min_se: 90":                            "min_se: 70",
		"keepalive: 60 ":                        "keepalive: 5 ",
		"network: udp\n      addr: 127.0.0.1:0": "network: udp\n      addr: 127.0.0.1:" + strconv.Itoa(phonePort),
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("configuration lacks %q", old)
		}
		y = strings.Replace(y, old, repl, 1)
	}
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startBinary(t, buildDaemon(t), path)
	registrar := "127.0.0.1:" + strconv.Itoa(phonePort)
	alice := registeredPhone(t, "1010", "auto", registrar)
	bob := registeredPhone(t, "1020", "manual", registrar)
	fe := startSipeFrontEnd(t, d.addr)
	// pidgin-sipe closes its connection right after its sign-out BYE; a
	// front end still handles what it read, but sipgo drops a request whose
	// connection is gone before a handler sees it. The holder keeps the
	// front end's side open a moment longer.
	hold := startConnHolder(t, fe.addr())
	callFile := filepath.Join(t.TempDir(), "call")
	bee := startBitlbee(t, preload, "SIPE_CALL_FILE="+callFile)
	t.Cleanup(func() {
		if f := os.Getenv("SIPE_LOG"); f != "" {
			_ = os.WriteFile(f, []byte(bee.tail(1<<24)), 0o600)
		}
		if f := os.Getenv("SIPE_FE_LOG"); f != "" {
			_ = os.WriteFile(f, []byte(fe.dump()), 0o600)
		}
	})
	for _, cmd := range []string{
		"account add sipe alice@example.com secret",
		"account sipe set server " + hold,
		"account sipe set transport tcp",
		"account sipe on",
	} {
		bee.command(cmd)
	}

	if err := d.log.waitFor(30*time.Second, func(e logEntry) bool { return e.Message == "session accepted" }); err != nil {
		t.Fatalf("rccserver did not admit alice: %v\n%s", err, bee.tail(6000))
	}
	bee.waitFor(t, 20*time.Second, "process_invite_csta_gateway_response: gateway_status=normal")
	bee.waitFor(t, 20*time.Second, "process_csta_monitor_start_response: monitor_cross_ref_id=")
	fe.waitFor(t, 10*time.Second, "GetCSTAFeatures answered", func(r relayed) bool {
		return r.method == sip.INFO && r.reqRoot == "GetCSTAFeatures" && r.status == 200 && r.resRoot == "GetCSTAFeaturesResponse"
	})
	fe.waitFor(t, 10*time.Second, "MonitorStart answered", func(r relayed) bool {
		return r.method == sip.INFO && r.reqRoot == "MonitorStart" && r.status == 200 && r.resRoot == "MonitorStartResponse"
	})

	// Click-to-dial from pidgin-sipe (the preload hands it the number):
	// MakeCall, alice's phone answers by itself, bob's rings and is
	// answered; pidgin-sipe follows the call's events, then bob hangs up.
	if err := os.WriteFile(callFile, []byte("tel:+13175551020"), 0o600); err != nil {
		t.Fatal(err)
	}
	fe.waitFor(t, 10*time.Second, "MakeCall answered", func(r relayed) bool {
		return r.method == sip.INFO && r.reqRoot == "MakeCall" && r.status == 200 && r.resRoot == "MakeCallResponse"
	})
	bee.waitFor(t, 5*time.Second, "process_csta_make_call_response: call_id=")
	alice.WaitEvent("CALL_ESTABLISHED")
	bee.waitFor(t, 5*time.Second, "sipe_csta_update_id_and_status: device_id=(tel:+13175551010)") // Originated
	bob.WaitEvent("CALL_INCOMING")
	bee.waitFor(t, 5*time.Second, "sipe_csta_update_id_and_status: device_id=(tel:+13175551020)") // Delivered
	bob.Accept()
	bob.WaitEvent("CALL_ESTABLISHED")
	bee.waitForN(t, 5*time.Second, 2, "sipe_csta_update_id_and_status: device_id=(tel:+13175551020)") // Established
	bob.Hangup()
	alice.WaitEvent("CALL_CLOSED")
	// Every event carried pidgin-sipe's monitorCrossRefID. (After the first
	// ConnectionCleared it forgets the call, so it logs the second one, for
	// the other party, as "callID (…) does not match": that is expected.)
	if strings.Contains(bee.tail(1<<24), "monitorCrossRefID (") {
		t.Errorf("pidgin-sipe did not match an event to its monitor")
	}

	// Two refreshes, each a re-INVITE answered 200 with the dialog's
	// Record-Route; keep-alives relayed to pidgin-sipe all the while.
	fe.waitForN(t, 50*time.Second, 2, "re-INVITE refreshes answered 200", func(r relayed) bool {
		return r.method == sip.INVITE && r.inDialog && r.status == 200
	})
	if n := fe.countStarted(func(r relayed) bool { return r.fromServer && r.reqRoot == "SystemStatus" }); n < 5 {
		t.Errorf("%d keep-alives relayed to pidgin-sipe, want at least 5", n)
	}
	if d.log.has(func(e logEntry) bool { return e.Message == "session ended" }) {
		t.Fatalf("the session ended before sign-out:\n%s", d.log.tail(6000))
	}

	bee.command("account sipe off")
	if err := d.log.waitFor(20*time.Second, func(e logEntry) bool { return e.Message == "session ended" }); err != nil {
		t.Fatalf("no session end after sign-out: %v", err)
	}
	fe.waitFor(t, 5*time.Second, "MonitorStop answered", func(r relayed) bool {
		return r.method == sip.INFO && r.reqRoot == "MonitorStop" && r.status == 200 && r.resRoot == "MonitorStopResponse"
	})
	raw := d.log.tail(1 << 20)
	if !strings.Contains(raw, `"reason":"rccserver: client sent BYE"`) {
		t.Errorf("the session did not end on pidgin-sipe's BYE:\n%s", d.log.tail(4000))
	}
	if strings.Contains(raw, "Cs_UnknownDialog") {
		t.Errorf("a request of pidgin-sipe's sign-out was refused as an unknown dialog:\n%s", d.log.tail(4000))
	}
	if t.Failed() {
		t.Logf("front end saw:\n%s\npidgin-sipe (end):\n%s", fe.dump(), bee.tail(8000))
	}
}

// buildSAXFix compiles testdata/sipe_sax_fix.c into a preload library.
func buildSAXFix(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("testdata/sipe_sax_fix.c")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sipe_sax_fix.so")
	cmd := exec.Command("cc", "-shared", "-fPIC", "-O2", "-I/usr/include/libxml2", "-o", out, src, "-ldl")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the SAX fix (needs libxml2-dev): %v\n%s", err, b)
	}
	return out
}

// bitlbee is bitlbee -I with libpurple, talked to over a socket pair as an
// IRC client. Its libpurple debug log (BITLBEE_DEBUG) goes to stderr.
type bitlbee struct {
	t    *testing.T
	conn net.Conn
	cmd  *exec.Cmd
	done chan struct{}

	mu      sync.Mutex
	log     strings.Builder // IRC lines and the debug log, interleaved
	changed chan struct{}
}

func startBitlbee(t *testing.T, preload string, env ...string) *bitlbee {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bitlbee.conf")
	if err := os.WriteFile(conf, []byte("[settings]\nRunMode = Inetd\nConfigDir = "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "irc"), os.NewFile(uintptr(fds[1]), "irc-bitlbee")
	conn, err := net.FileConn(ours)
	_ = ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := &bitlbee{t: t, conn: conn, done: make(chan struct{}), changed: make(chan struct{})}
	b.cmd = exec.Command("bitlbee", "-I", "-c", conf, "-d", dir)
	b.cmd.Stdin, b.cmd.Stdout = theirs, theirs
	b.cmd.Env = append(append(os.Environ(), "LD_PRELOAD="+preload, "BITLBEE_DEBUG=1", "PURPLE_UNSAFE_DEBUG=1", "PURPLE_VERBOSE_DEBUG=1", "HOME="+dir), env...)
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start bitlbee: %v", err)
	}
	_ = theirs.Close()
	var readers sync.WaitGroup
	readers.Go(func() { b.read(stderr, false) })
	readers.Go(func() { b.read(conn, true) })
	go func() {
		readers.Wait()
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		_ = conn.Close()
		<-b.done
	})
	b.send("NICK tester")
	b.send("USER tester 0 * :tester")
	b.waitFor(t, 20*time.Second, " 001 tester ")
	b.send("JOIN &bitlbee")
	b.waitFor(t, 10*time.Second, "JOIN :&bitlbee")
	return b
}

func (b *bitlbee) read(r io.Reader, irc bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if irc && strings.HasPrefix(line, "PING ") {
			b.send("PONG " + strings.TrimPrefix(line, "PING "))
		}
		b.mu.Lock()
		b.log.WriteString(line)
		b.log.WriteByte('\n')
		close(b.changed)
		b.changed = make(chan struct{})
		b.mu.Unlock()
	}
}

func (b *bitlbee) send(line string) {
	_, _ = b.conn.Write([]byte(line + "\r\n"))
}

// command sends one command to bitlbee's control channel.
func (b *bitlbee) command(cmd string) {
	b.send("PRIVMSG &bitlbee :" + cmd)
	time.Sleep(200 * time.Millisecond) // bitlbee answers each in turn; no need to race it
}

func (b *bitlbee) waitFor(t *testing.T, limit time.Duration, text string) {
	t.Helper()
	b.waitForN(t, limit, 1, text)
}

// waitForN waits until text occurs n times in the log.
func (b *bitlbee) waitForN(t *testing.T, limit time.Duration, n int, text string) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		found, changed := strings.Count(b.log.String(), text) >= n, b.changed
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-b.done:
			t.Fatalf("bitlbee ended before %q:\n%s", text, b.tail(8000))
		case <-deadline.C:
			t.Fatalf("no %q from pidgin-sipe within %v:\n%s", text, limit, b.tail(8000))
		}
	}
}

func (b *bitlbee) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return tailString(b.log.String(), n)
}

// sipeFrontEnd is a fake Lync front end for pidgin-sipe: registrar and
// provisioning source for alice, and a record-routing stateful proxy
// between pidgin-sipe's connection and rccserver (RFC 3261 §16).
type sipeFrontEnd struct {
	t      *testing.T
	cli    *sipgo.Client
	ln     net.Listener
	server string  // rccserver
	self   sip.Uri // our Record-Route

	mu      sync.Mutex
	client  string         // pidgin-sipe's connection
	started []relayed      // requests as relayed, before their answer
	seen    []relayed      // requests with their final answer
	open    map[string]int // Call-ID -> pidgin-sipe's requests not yet answered
	changed chan struct{}
}

// relayed is one request the front end relayed and its final answer.
type relayed struct {
	fromServer bool
	inDialog   bool
	method     sip.RequestMethod
	cseq       uint32
	reqRoot    string
	status     int
	resRoot    string
}

func (r relayed) String() string {
	dir := "client→server"
	if r.fromServer {
		dir = "server→client"
	}
	return fmt.Sprintf("%s %d %s %s → %d %s", dir, r.cseq, r.method, r.reqRoot, r.status, r.resRoot)
}

func startSipeFrontEnd(t *testing.T, server string) *sipeFrontEnd {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-frontend"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	fe := &sipeFrontEnd{t: t, cli: cli, ln: ln, server: server, changed: make(chan struct{}), open: map[string]int{},
		self: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}}
	fe.self.UriParams.Add("transport", "tcp")
	fe.self.UriParams.Add("lr", "")
	srv.OnRegister(fe.register)
	srv.OnSubscribe(fe.subscribe)
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.INFO, sip.BYE, sip.UPDATE} {
		srv.OnRequest(m, fe.relay)
	}
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { fe.relayAck(req) })
	srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		// SERVICE, OPTIONS and the rest of a Lync sign-in: accepted, ignored.
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	done := make(chan struct{})
	go func() { _ = srv.ServeTCP(ln); close(done) }()
	t.Cleanup(func() { _ = ln.Close(); _ = ua.Close(); <-done })
	return fe
}

func (fe *sipeFrontEnd) addr() string { return fe.ln.Addr().String() }

// relayAck passes an ACK on (end to end: no transaction of its own).
func (fe *sipeFrontEnd) relayAck(req *sip.Request) {
	r, _ := fe.prepare(req)
	_ = fe.cli.WriteRequest(r, sipgo.ClientRequestAddVia)
}

// ackFromTransaction relays the ACK of a 2xx if sipgo hands it to the
// INVITE's server transaction rather than to OnAck: pidgin-sipe's Via has
// no RFC 3261 branch, so its ACK can match the INVITE's transaction by the
// RFC 2543 rules. Without this the server would keep retransmitting its
// 200 and hold the session's events until the ACK (RFC 3261 §13.3.1.4).
func (fe *sipeFrontEnd) ackFromTransaction(tx sip.ServerTransaction) {
	select {
	case ack := <-tx.Acks():
		fe.relayAck(ack)
	case <-tx.Done():
	case <-time.After(2 * time.Second):
	}
}

// register accepts any REGISTER at once: a direct 200 skips
// authentication. pidgin-sipe subscribes to provisioning only if the 200
// lists it in Allow-Events.
func (fe *sipeFrontEnd) register(req *sip.Request, tx sip.ServerTransaction) {
	fe.mu.Lock()
	fe.client = req.Source()
	fe.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if c := req.Contact(); c != nil {
		res.AppendHeader(sip.NewHeader("Contact", c.Value()+";expires=3600"))
	}
	res.AppendHeader(sip.NewHeader("Expires", "3600"))
	res.AppendHeader(sip.NewHeader("Allow-Events", "vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,presence,presence.wpending"))
	res.AppendHeader(sip.NewHeader("Server", "RTC/3.0"))
	_ = tx.Respond(res)
}

// subscribe answers every SUBSCRIBE 200 with its Event; the provisioning
// one carries alice's line and line server in the 200 itself, marked as a
// piggybacked first NOTIFY (ms-piggyback-cseq), which is how pidgin-sipe
// reads it.
func (fe *sipeFrontEnd) subscribe(req *sip.Request, tx sip.ServerTransaction) {
	event := ""
	if h := req.GetHeader("Event"); h != nil {
		event = h.Value()
	}
	var body []byte
	if event == "vnd-microsoft-provisioning" {
		body = []byte(`<provision><user uri="sip:alice@example.com"><line uri="tel:+13175551010" server="sip:rcc@rcc.example.com"/></user></provision>`)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	if to := res.To(); to != nil && !to.Params.Has("tag") {
		to.Params.Add("tag", "fe"+strconv.Itoa(int(req.CSeq().SeqNo)))
	}
	res.AppendHeader(sip.NewHeader("Event", event))
	res.AppendHeader(sip.NewHeader("Expires", "3600"))
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/vnd-microsoft-roaming-provisioning+xml"))
		res.AppendHeader(sip.NewHeader("ms-piggyback-cseq", "1"))
	}
	_ = tx.Respond(res)
}

// prepare clones req for the next hop: our own Route entry goes, and the
// destination is rccserver or pidgin-sipe's connection.
func (fe *sipeFrontEnd) prepare(req *sip.Request) (*sip.Request, bool) {
	r := req.Clone()
	if rt := r.Route(); rt != nil && rt.Address.Port == fe.self.Port {
		r.RemoveHeader("Route")
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fromServer := req.Source() == fe.server
	if fromServer {
		r.SetDestination(fe.client)
	} else {
		r.SetDestination(fe.server)
	}
	r.SetTransport("TCP")
	return r, fromServer
}

// relay forwards a request statefully and its answers back; a request the
// next hop leaves unanswered gets 408 (RFC 3261 §16.7), as from a real
// front end.
func (fe *sipeFrontEnd) relay(req *sip.Request, tx sip.ServerTransaction) {
	r, fromServer := fe.prepare(req)
	inDialog := req.To() != nil && req.To().Params.Has("tag")
	if req.Method == sip.INVITE && !inDialog {
		r.PrependHeader(&sip.RecordRouteHeader{Address: fe.self})
	}
	rec := relayed{fromServer: fromServer, inDialog: inDialog, method: req.Method, cseq: req.CSeq().SeqNo, reqRoot: bodyRoot(req.Body())}
	callID := req.CallID().Value()
	if fromServer {
		// sipgo hands each message to its own goroutine; a front end
		// passes a connection's messages on in order. So a request from
		// the server waits until the answers it read before it (to
		// pidgin-sipe's requests in this dialog) have been passed on:
		// a MakeCallResponse reaches pidgin-sipe before the call's events.
		fe.waitAnswered(callID, time.Second)
	} else {
		fe.mu.Lock()
		fe.open[callID]++
		fe.mu.Unlock()
		defer func() {
			fe.mu.Lock()
			if fe.open[callID]--; fe.open[callID] <= 0 {
				delete(fe.open, callID)
			}
			close(fe.changed)
			fe.changed = make(chan struct{})
			fe.mu.Unlock()
		}()
	}
	fe.mu.Lock()
	fe.started = append(fe.started, rec)
	fe.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ctr, err := fe.cli.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		rec.status = 502
		fe.record(rec)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 502, "Bad Gateway", nil))
		return
	}
	defer ctr.Terminate()
	for {
		select {
		case res := <-ctr.Responses():
			res = res.Clone()
			res.RemoveHeader("Via") // ours, the top one
			_ = tx.Respond(res)
			if !res.IsProvisional() {
				rec.status, rec.resRoot = res.StatusCode, bodyRoot(res.Body())
				fe.record(rec)
				if req.Method == sip.INVITE && res.IsSuccess() {
					fe.ackFromTransaction(tx)
				}
				return
			}
		case <-ctr.Done():
			rec.status = sip.StatusRequestTimeout
			fe.record(rec)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusRequestTimeout, "Request Timeout", nil))
			return
		case <-ctx.Done():
			rec.status = sip.StatusRequestTimeout
			fe.record(rec)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusRequestTimeout, "Request Timeout", nil))
			return
		}
	}
}

// waitAnswered waits, at most limit, until pidgin-sipe's requests in the
// dialog callID have been answered.
func (fe *sipeFrontEnd) waitAnswered(callID string, limit time.Duration) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		fe.mu.Lock()
		n, changed := fe.open[callID], fe.changed
		fe.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		}
	}
}

var xmlRoot = regexp.MustCompile(`<([A-Za-z][\w.-]*)[\s/>]`)

// bodyRoot is the root element of a CSTA body ("" for none).
func bodyRoot(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if m, err := csta.Decode(body); err == nil {
		return m.Root()
	}
	s := string(body)
	if i := strings.Index(s, "?>"); i >= 0 {
		s = s[i+2:]
	}
	if m := xmlRoot.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return "?"
}

func (fe *sipeFrontEnd) record(r relayed) {
	fe.mu.Lock()
	fe.seen = append(fe.seen, r)
	close(fe.changed)
	fe.changed = make(chan struct{})
	fe.mu.Unlock()
}

func (fe *sipeFrontEnd) count(f func(relayed) bool) int {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	n := 0
	for _, r := range fe.seen {
		if f(r) {
			n++
		}
	}
	return n
}

func (fe *sipeFrontEnd) countStarted(f func(relayed) bool) int {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	n := 0
	for _, r := range fe.started {
		if f(r) {
			n++
		}
	}
	return n
}

func (fe *sipeFrontEnd) waitFor(t *testing.T, limit time.Duration, what string, f func(relayed) bool) {
	t.Helper()
	fe.waitForN(t, limit, 1, what, f)
}

func (fe *sipeFrontEnd) waitForN(t *testing.T, limit time.Duration, n int, what string, f func(relayed) bool) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		fe.mu.Lock()
		changed := fe.changed
		fe.mu.Unlock()
		if fe.count(f) >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("front end: %d × %s not seen within %v; saw:\n%s", n, what, limit, fe.dump())
		}
	}
}

func (fe *sipeFrontEnd) dump() string {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	var b strings.Builder
	for _, r := range fe.seen {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// startConnHolder relays TCP between pidgin-sipe and the front end and,
// when pidgin-sipe closes, keeps the front end's side open for 3 s so that
// the requests it sent last are still answered (into the void).
func startConnHolder(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			wg.Go(func() {
				_, _ = io.Copy(in, out)
				_ = in.Close()
			})
			wg.Go(func() {
				_, _ = io.Copy(out, in)
				select {
				case <-time.After(3 * time.Second):
				case <-stop:
				}
				_ = out.Close()
			})
		}
	})
	t.Cleanup(func() {
		close(stop)
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}
