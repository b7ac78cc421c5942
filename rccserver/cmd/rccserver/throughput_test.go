package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkRequestThroughput guards issue 16's request goal
// (docs/performance.md, "Request path and its benchmark"): the built
// rccserver and the built bare sipgo server (rccserver/cmd/rccbare), each in
// its own process, answer the same pipelined CSTA INFOs over one TCP
// connection from one Go client, in the same run. Each sub-benchmark sends
// b.N requests (at least minRequests) to each server, in two halves, and
// reports both servers' requests/s and CPU per request (their own
// user+system time from /proc, the client's excluded) and the ratios x-bare
// (throughput, goal ≥ 0.8) and cpu-x-bare. HELD=n first signs in n idle sessions on a
// second connection to rccserver (issue 16: throughput with 100,000 held
// stays ≥ 0.8× of none), and reports held-x-none against a run without them.
// RCC_BIN names an rccserver binary to measure instead of this tree's.
// PROFILE=dir writes a 5 s CPU profile of rccserver under the same load.
//
//	go test -run '^$' -bench RequestThroughput -benchtime 20000x -count 3 ./rccserver/cmd/rccserver/
//	HELD=100000 go test -run '^$' -bench 'RequestThroughput/features' -benchtime 50000x -timeout 30m ./rccserver/cmd/rccserver/
func BenchmarkRequestThroughput(b *testing.B) {
	rcc := os.Getenv("RCC_BIN") // another build to compare, e.g. the parent commit's
	if rcc == "" {
		rcc = buildDaemon(b)
	}
	bare := buildBare(b)
	held := 0
	if v := os.Getenv("HELD"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("HELD=%q: want a count of sessions", v)
		}
		held = n
	}
	for _, req := range []string{"features", "makecall"} {
		b.Run(req, func(b *testing.B) {
			d := startBinary(b, rcc, throughputConfig(b))
			admin := adminAddr(b, d)
			bp := startBare(b, bare, req)
			// Rounds alternate servers so that load from elsewhere on the
			// machine falls on both alike.
			// At least minRequests, so that `go tool task bench` (default
			// benchtime, small b.N once start-up is counted) still measures.
			n := max(b.N, minRequests)
			var rs, bs round
			for _, half := range []int{n / 2, n - n/2} {
				bs.add(runPipeline(b, bp.addr, bp.cmd.Process.Pid, req, half))
				rs.add(runPipeline(b, d.addr, d.cmd.Process.Pid, req, half))
			}
			b.ReportMetric(rs.rate(), "rcc-req/s")
			b.ReportMetric(bs.rate(), "bare-req/s")
			b.ReportMetric(rs.rate()/bs.rate(), "x-bare")
			b.ReportMetric(rs.cpuPerReq(), "rcc-cpu-µs/req")
			b.ReportMetric(bs.cpuPerReq(), "bare-cpu-µs/req")
			b.ReportMetric(rs.cpuPerReq()/bs.cpuPerReq(), "cpu-x-bare")
			if dir := os.Getenv("PROFILE"); dir != "" {
				profileRequests(b, d, admin, req, filepath.Join(dir, "rccserver-"+req+".prof"))
			}
			if held > 0 {
				stop := holdSessions(b, d.addr, held)
				hs := runPipeline(b, d.addr, d.cmd.Process.Pid, req, n/2)
				stop()
				b.ReportMetric(hs.rate(), "held-req/s")
				b.ReportMetric(hs.rate()/rs.rate(), "held-x-none")
				b.ReportMetric(hs.cpuPerReq(), "held-cpu-µs/req")
			}
			_ = d.stop(15 * time.Second)
		})
	}
}

// profileRequests writes a 5 s CPU profile of rccserver (its admin
// listener's /debug/pprof/profile) taken while requests flow, and its
// allocation profile after.
func profileRequests(b *testing.B, d *binary, admin, req, file string) {
	b.Helper()
	done := make(chan error, 1)
	go func() { done <- fetch("http://"+admin+"/debug/pprof/profile?seconds=5", file) }()
	for {
		runPipeline(b, d.addr, d.cmd.Process.Pid, req, 5000)
		select {
		case err := <-done:
			// The allocations since the start, mostly of the requests.
			allocs := strings.TrimSuffix(file, ".prof") + ".allocs.prof"
			if err := errors.Join(err, fetch("http://"+admin+"/debug/pprof/allocs", allocs)); err != nil {
				b.Fatal(err)
			}
			b.Logf("CPU profile: %s, allocations: %s", file, allocs)
			return
		default:
		}
	}
}

// fetch writes what url answers into file.
func fetch(url, file string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, res.Body)
	return errors.Join(err, f.Close())
}

// adminAddr reads the admin listener's address from the daemon's log.
func adminAddr(b *testing.B, d *binary) string {
	b.Helper()
	if err := d.log.waitFor(10*time.Second, func(e logEntry) bool { return e.Message == "rccserver running" }); err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`"admin":"([0-9.:]+)"`).FindStringSubmatch(d.log.tail(1 << 16))
	if m == nil {
		b.Fatal("no admin listener in the log")
	}
	return m[1]
}

// minRequests is the fewest requests a measurement sends to each server.
const minRequests = 10000

// pipelineSessions and pipelineWindow: requests in flight at once, one per
// session, as the SIPp load's closed loop (examples/sipp/load/rcc_load.xml).
const (
	pipelineSessions = 64
	pipelineWindow   = 64
)

// round is the outcome of some pipelined requests against one server.
type round struct {
	n     int
	wall  time.Duration
	cpuMs int64 // the server's user+system time
}

func (r *round) add(o round) { r.n += o.n; r.wall += o.wall; r.cpuMs += o.cpuMs }
func (r round) rate() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.n) / r.wall.Seconds()
}

func (r round) cpuPerReq() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.cpuMs) * 1000 / float64(r.n)
}

var cstaBodies = map[string]struct{ req, answer string }{
	"features": {`<GetCSTAFeatures xmlns="` + cstaNS + `"/>`, "<GetCSTAFeaturesResponse"},
	"makecall": {`<MakeCall xmlns="` + cstaNS + `"><callingDevice>tel:+13175551010</callingDevice><calledDirectoryNumber>tel:+13175551020</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate></MakeCall>`, "<CSTAErrorCode"},
}

const cstaNS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"

// runPipeline signs in pipelineSessions sessions on a new connection, then
// sends n requests with pipelineWindow in flight and checks every answer.
func runPipeline(b *testing.B, addr string, pid int, req string, n int) round {
	b.Helper()
	if n == 0 {
		return round{}
	}
	c := dialRaw(b, addr)
	defer c.close()
	sess := make([]*rawSession, pipelineSessions)
	for i := range sess {
		sess[i] = c.signIn(b, fmt.Sprintf("tp%d-%d", time.Now().UnixNano(), i))
	}
	body := cstaBodies[req]
	slots := make(chan *rawSession, pipelineWindow)
	for i := range pipelineWindow {
		slots <- sess[i%len(sess)]
	}
	// The reader hands each answered session back to the writer.
	errc := make(chan error, 1)
	go func() {
		var err error
		for range n {
			var r rawResponse
			if r, err = c.read(); err != nil {
				break
			}
			if r.status != 200 || !bytes.Contains(r.body, []byte(body.answer)) {
				err = fmt.Errorf("answer %d %q", r.status, excerptOf(r.body))
				break
			}
			slots <- c.byCallID(r.callID)
		}
		errc <- err
	}()
	cpu0 := procCPUms(b, pid)
	start := time.Now()
	for range n {
		s := <-slots
		if err := c.write(s.info(body.req)); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	cpu := procCPUms(b, pid) - cpu0
	for _, s := range sess {
		c.bye(b, s)
	}
	return round{n: n, wall: wall, cpuMs: cpu}
}

// holdSessions signs in n sessions on a connection of their own and keeps
// them until stop, which closes the connection.
func holdSessions(b *testing.B, addr string, n int) (stop func()) {
	b.Helper()
	c := dialRaw(b, addr)
	const window = 200
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	slots := make(chan struct{}, window)
	wg.Go(func() {
		for range n {
			r, err := c.readFinal()
			if err != nil {
				errc <- err
				return
			}
			if r.status != 200 {
				errc <- fmt.Errorf("held sign-in answered %d", r.status)
				return
			}
			s := c.byCallID(r.callID)
			s.toTag = r.toTag
			if err := c.write(s.ack()); err != nil {
				errc <- err
				return
			}
			<-slots
		}
		errc <- nil
	})
	prefix := fmt.Sprintf("held%d-", time.Now().UnixNano())
	for i := range n {
		slots <- struct{}{}
		s := c.add(prefix + strconv.Itoa(i))
		if err := c.write(s.invite()); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	if err := <-errc; err != nil {
		b.Fatalf("holding %d sessions: %v", n, err)
	}
	return c.close
}

// rawConn is a Lync-front-end-shaped SIP client written for speed, not
// kindness: fixed request texts, a framing reader, no transactions.
type rawConn struct {
	conn net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
	mu   sync.Mutex
	sess map[string]*rawSession
}

type rawSession struct {
	callID, fromTag, toTag string
	local                  string
	cseq                   int
	buf                    []byte
}

type rawResponse struct {
	status        int
	callID, toTag string
	body          []byte
}

func dialRaw(b *testing.B, addr string) *rawConn {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return &rawConn{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), sess: map[string]*rawSession{}}
}

func (c *rawConn) close() { _ = c.conn.Close() }

func (c *rawConn) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(p)
	return err
}

func (c *rawConn) add(callID string) *rawSession {
	s := &rawSession{callID: callID, fromTag: "f" + callID, local: c.conn.LocalAddr().String(), cseq: 1}
	c.mu.Lock()
	c.sess[callID] = s
	c.mu.Unlock()
	return s
}

func (c *rawConn) byCallID(id string) *rawSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess[id]
}

func (c *rawConn) signIn(b *testing.B, callID string) *rawSession {
	b.Helper()
	s := c.add(callID)
	if err := c.write(s.invite()); err != nil {
		b.Fatal(err)
	}
	r, err := c.readFinal()
	if err != nil || r.status != 200 {
		b.Fatalf("sign-in: %d %v %q", r.status, err, excerptOf(r.body))
	}
	s.toTag = r.toTag
	if err := c.write(s.ack()); err != nil {
		b.Fatal(err)
	}
	return s
}

func (c *rawConn) bye(b *testing.B, s *rawSession) {
	b.Helper()
	s.cseq++
	msg := s.request("BYE", "", "")
	if err := c.write(msg); err != nil {
		b.Fatal(err)
	}
	if r, err := c.readFinal(); err != nil || r.status != 200 {
		b.Fatalf("BYE: %d %v", r.status, err)
	}
}

// readFinal reads responses until one that is not 1xx.
func (c *rawConn) readFinal() (rawResponse, error) {
	for {
		r, err := c.read()
		if err != nil || r.status >= 200 {
			return r, err
		}
	}
}

// read returns the next response; requests from the server (there are none
// with keep-alive off) are an error.
func (c *rawConn) read() (rawResponse, error) {
	var r rawResponse
	line, err := c.br.ReadSlice('\n')
	for err == nil && len(bytes.TrimSpace(line)) == 0 {
		line, err = c.br.ReadSlice('\n')
	}
	if err != nil {
		return r, err
	}
	if !bytes.HasPrefix(line, []byte("SIP/2.0 ")) || len(line) < 11 {
		return r, fmt.Errorf("not a response: %q", excerptOf(line))
	}
	if r.status, err = strconv.Atoi(string(line[8:11])); err != nil {
		return r, err
	}
	cl := -1
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return r, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "content-length", "l":
			cl, err = strconv.Atoi(string(value))
			if err != nil {
				return r, err
			}
		case "call-id", "i":
			r.callID = string(value)
		case "to", "t":
			if _, tag, ok := bytes.Cut(value, []byte(";tag=")); ok {
				tag, _, _ = bytes.Cut(tag, []byte(";"))
				r.toTag = string(tag)
			}
		}
	}
	if cl < 0 {
		return r, errors.New("response without Content-Length")
	}
	r.body = make([]byte, cl)
	_, err = io.ReadFull(c.br, r.body)
	return r, err
}

func (s *rawSession) invite() []byte {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<RequestSystemStatus xmlns="` + cstaNS +
		`"><extensions><privateData><private><lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+13175551010</lcs:line></private></privateData></extensions></RequestSystemStatus>`
	return s.request("INVITE", "Supported: timer\r\nContent-Disposition: signal;handling=required\r\nContent-Type: application/csta+xml\r\n", body)
}

func (s *rawSession) ack() []byte { return s.request("ACK", "", "") }

func (s *rawSession) info(body string) []byte {
	s.cseq++
	return s.request("INFO", "Content-Disposition: signal;handling=required\r\nContent-Type: application/csta+xml\r\n", body)
}

// request writes one request of the dialog. INFOs reuse the session's
// buffer: at most one of a session is in flight, and write has copied it
// to the socket before the next.
func (s *rawSession) request(method, extra, body string) []byte {
	to := "<sip:rcc@rcc.example.com>"
	if s.toTag != "" {
		to += ";tag=" + s.toTag
	}
	var b []byte
	if method == "INFO" {
		b = s.buf[:0]
	}
	b = fmt.Appendf(b, "%s sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-%s-%d-%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:alice@%s;transport=tcp>\r\n%sContent-Length: %d\r\n\r\n%s",
		method, s.local, s.callID, s.cseq, method, s.fromTag, to, s.callID, s.cseq, method, s.local, extra, len(body), body)
	if method == "INFO" {
		s.buf = b
	}
	return b
}

// procCPUms is the user+system CPU time of process pid so far (proc(5)).
func procCPUms(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which may hold spaces: utime is the
	// 14th field of the line, stime the 15th.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return (ut + st) * 1000 / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func excerptOf(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// throughputConfig is the embedded default on free loopback ports with
// keep-alive off: the bare server sends none either.
func throughputConfig(b *testing.B) string {
	b.Helper()
	return serverConfig(b, 0)
}

// serverConfig is the embedded default on free loopback ports, with the
// admin listener, a state file in a temporary directory and keep-alive
// every keepalive seconds (0: off).
func serverConfig(b *testing.B, keepalive int) string {
	b.Helper()
	base, err := os.ReadFile("../../../examples/rccserver.yaml")
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.ReadFile("../../../examples/station.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dirFile, _ := filepath.Abs("../../../examples/directory.yaml")
	y := string(base)
	for _, r := range []struct{ from, to string }{
		{"addr: 127.0.0.1:11001", "addr: 127.0.0.1:0"},
		{"addr: 127.0.0.1:5060\n    - network: tcp\n      addr: 127.0.0.1:5060", "addr: 127.0.0.1:0"},
		{"keepalive: 60 ", fmt.Sprintf("keepalive: %d ", keepalive)},
		{"file: directory.yaml", "file: " + dirFile},
	} {
		if !strings.Contains(y, r.from) {
			b.Fatalf("examples/rccserver.yaml no longer has %q", r.from)
		}
		y = strings.Replace(y, r.from, r.to, 1)
	}
	path := filepath.Join(b.TempDir(), "rccserver.yaml")
	y += "\nadmin: {listen: \"127.0.0.1:0\"}\n"
	y += fmt.Sprintf("state: {file: %q}\n", filepath.Join(filepath.Dir(path), "state.db"))
	if err := os.WriteFile(path, []byte(y+"\n"+string(st)), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

func buildBare(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "rccbare")
	out, err := exec.Command("go", "build", "-o", bin, "../rccbare").CombinedOutput()
	if err != nil {
		b.Fatalf("go build rccbare: %v\n%s", err, out)
	}
	return bin
}

type bareProc struct {
	cmd  *exec.Cmd
	addr string
}

var bareListening = regexp.MustCompile(`listening on (127\.0\.0\.1:[0-9]+)`)

// startBare runs rccbare on a free port answering what rccserver answers
// req with; extra are more of its flags.
func startBare(b *testing.B, bin, req string, extra ...string) *bareProc {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-answer", req}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := bareListening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }() // ends when the process does
			return &bareProc{cmd: cmd, addr: m[1]}
		}
	}
	b.Fatalf("rccbare did not start: %v", sc.Err())
	return nil
}
