package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
)

// rawConn speaks SIP as bytes on one connection or UDP socket, so a test
// can send what no SIP stack would and read exactly what comes back.
// Requests the server sends (keep-alives, events) are answered 200 and
// skipped by next.
type rawConn struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	udp  bool
	port int // our local port, for Via and Contact
}

func dialRaw(t *testing.T, network, addr string, tlsCfg *tls.Config) *rawConn {
	t.Helper()
	var c net.Conn
	var err error
	if tlsCfg != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tlsCfg)
	} else {
		c, err = net.DialTimeout(network, addr, 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	p, _ := strconv.Atoi(port)
	return &rawConn{t: t, c: c, r: bufio.NewReaderSize(c, 1<<20), udp: network == "udp", port: p}
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// sipMsg is one message read back.
type sipMsg struct {
	start   string
	status  int // responses
	headers []string
	body    []byte
}

func (m sipMsg) header(name string) string {
	for _, h := range m.headers {
		n, v, ok := strings.Cut(h, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m sipMsg) tag(name string) string {
	_, t, _ := strings.Cut(m.header(name), ";tag=")
	t, _, _ = strings.Cut(t, ";")
	return t
}

var errPong = errors.New("pong")

// next reads the next response (or a CRLF pong: errPong), answering and
// skipping the server's own requests.
func (rc *rawConn) next(timeout time.Duration) (sipMsg, error) {
	deadline := time.Now().Add(timeout)
	for {
		_ = rc.c.SetReadDeadline(deadline)
		m, err := rc.read()
		if err != nil {
			return m, err
		}
		if m.status == 0 {
			rc.answer(m)
			continue
		}
		return m, nil
	}
}

func (rc *rawConn) read() (sipMsg, error) {
	var m sipMsg
	if rc.udp {
		buf := make([]byte, 65535)
		n, err := rc.c.Read(buf)
		if err != nil {
			return m, err
		}
		if strings.Trim(string(buf[:n]), "\r\n") == "" {
			return m, errPong
		}
		return parseRaw(buf[:n])
	}
	var head bytes.Buffer
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			return m, err
		}
		if head.Len() == 0 && (line == "\r\n" || line == "\n") {
			return m, errPong
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	m, err := parseRaw(head.Bytes())
	if err != nil {
		return m, err
	}
	n, _ := strconv.Atoi(m.header("Content-Length"))
	m.body = make([]byte, n)
	_, err = io.ReadFull(rc.r, m.body)
	return m, err
}

func parseRaw(b []byte) (sipMsg, error) {
	var m sipMsg
	head, body, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	m.start, m.headers, m.body = lines[0], lines[1:], body
	if strings.HasPrefix(m.start, "SIP/2.0 ") {
		f := strings.Fields(m.start)
		if len(f) < 2 {
			return m, fmt.Errorf("bad status line %q", m.start)
		}
		m.status, _ = strconv.Atoi(f[1])
	}
	return m, nil
}

// answer replies 200 to a request of the server's (RFC 3261 §8.2.6).
func (rc *rawConn) answer(req sipMsg) {
	if strings.HasPrefix(req.start, "ACK ") {
		return
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range req.headers {
		n, _, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "via", "from", "to", "call-id", "cseq":
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	rc.send([]byte(b.String()))
}

// rawMsg builds a request line by line; headers are kept in order and
// may be dropped or replaced to make the message hostile.
type rawMsg struct {
	start   string
	headers [][2]string
	body    string
	cl      string // Content-Length value; "" computes it, "-" leaves it out
}

func (r rawMsg) without(name string) rawMsg {
	var out [][2]string
	for _, h := range r.headers {
		if !strings.EqualFold(h[0], name) {
			out = append(out, h)
		}
	}
	r.headers = out
	return r
}

func (r rawMsg) with(name, value string) rawMsg {
	r = r.without(name)
	r.headers = append(r.headers, [2]string{name, value})
	return r
}

func (r rawMsg) withBody(ct, body string) rawMsg {
	r.body = body
	return r.with("Content-Type", ct)
}

func (r rawMsg) bytes() []byte {
	var b strings.Builder
	b.WriteString(r.start + "\r\n")
	for _, h := range r.headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	switch r.cl {
	case "":
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
	case "-":
	default:
		b.WriteString("Content-Length: " + r.cl + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.body)
	return []byte(b.String())
}

// request is a well-formed request from this connection.
func (rc *rawConn) request(method, ruri, callID, fromTag, toTag string, cseq int) rawMsg {
	transport := "TCP"
	if rc.udp {
		transport = "UDP"
	}
	to := "<" + ruri + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return rawMsg{start: method + " " + ruri + " SIP/2.0", headers: [][2]string{
		{"Via", fmt.Sprintf("SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK%x", transport, rc.port, rand.Uint64())},
		{"Max-Forwards", "70"},
		{"From", "<sip:alice@example.com>;tag=" + fromTag},
		{"To", to},
		{"Call-ID", callID},
		{"CSeq", fmt.Sprintf("%d %s", cseq, method)},
		{"Contact", fmt.Sprintf("<sip:alice@127.0.0.1:%d;transport=%s>", rc.port, strings.ToLower(transport))},
	}}
}

// rawSession is a signed-in RCC session driven over a rawConn.
type rawSession struct {
	rc                     *rawConn
	callID, fromTag, toTag string
	cseq                   int
	ruri                   string
}

// signIn opens an RCC session on rc as user with line (TR/87 §7.1).
func (rc *rawConn) signIn(user, line string) *rawSession {
	rc.t.Helper()
	body, err := csta.Encode(&csta.RequestSystemStatus{Extensions: &csta.Extensions{Line: line}})
	if err != nil {
		rc.t.Fatal(err)
	}
	s := &rawSession{rc: rc, callID: fmt.Sprintf("raw-%x@e2e", rand.Uint64()), fromTag: fmt.Sprintf("f%x", rand.Uint32()),
		ruri: "sip:rcc@rcc.example.com;transport=tcp", cseq: 1}
	inv := rc.request("INVITE", s.ruri, s.callID, s.fromTag, "", 1).with("From", "<"+user+">;tag="+s.fromTag).
		with("Supported", "timer").with("Content-Disposition", "signal;handling=required").withBody(csta.ContentType, string(body))
	rc.send(inv.bytes())
	res, err := rc.next(10 * time.Second)
	if err != nil || res.status != 200 {
		rc.t.Fatalf("raw sign-in of %s: %d %v (%s)", user, res.status, err, res.start)
	}
	s.toTag = res.tag("To")
	rc.send(rc.request("ACK", s.ruri, s.callID, s.fromTag, s.toTag, 1).with("From", "<"+user+">;tag="+s.fromTag).bytes())
	return s
}

// info builds an in-dialog INFO of the session with the next CSeq.
func (s *rawSession) info(ct, body string) rawMsg {
	s.cseq++
	return s.rc.request("INFO", s.ruri, s.callID, s.fromTag, s.toTag, s.cseq).withBody(ct, body)
}

// features asks GetCSTAFeatures and fails the test unless it is answered.
func (s *rawSession) features(t *testing.T) {
	t.Helper()
	body, _ := csta.Encode(&csta.GetCSTAFeatures{})
	s.rc.send(s.info(csta.ContentType, string(body)).bytes())
	res, err := s.rc.next(10 * time.Second)
	if err != nil || res.status != 200 || !bytes.Contains(res.body, []byte("GetCSTAFeaturesResponse")) {
		t.Fatalf("raw session GetCSTAFeatures: %d %v %q", res.status, err, res.body)
	}
}

// metrics reads the admin listener's Prometheus text into name{labels} -> value.
func (s *site) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + s.admin + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// heapAfterGC forces a collection in the server (pprof's gc=1) and
// returns its in-use heap and goroutine count.
func (s *site) heapAfterGC(t *testing.T) (heap, goroutines float64) {
	t.Helper()
	res, err := http.Get("http://" + s.admin + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatalf("pprof heap: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	m := s.metrics(t)
	return m["go_memstats_heap_inuse_bytes"], m["go_goroutines"]
}

// alive fails the test if the server process has exited.
func (s *site) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.exited:
		s.exited <- err
		t.Fatalf("rccserver exited: %v\n%s", err, s.logs.String())
	default:
	}
}
