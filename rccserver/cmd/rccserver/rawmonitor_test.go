package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rawMonitor is the measuring RCC client of the event latency benchmarks:
// one TCP connection, messages written by hand and read straight off the
// socket, each timed when the read that completed it returned, every INFO
// answered 200 at once. It is the instrument, not a client under test, so
// it is built like SIPp's end of the baseline hop: no SIP stack, no
// goroutine hand-off and next to no garbage between the socket and the
// clock (the Go client, lynctest, added its own parse, transaction
// goroutines and collector pauses to the figure: docs/performance.md,
// "Issue 16: the instrument of the event latency"). Hand-written because it must stay
// this thin; lynctest and SIPp drive the protocol itself in other tests.
type rawMonitor struct {
	conn      net.Conn
	mu        sync.Mutex
	delivered map[string]time.Time // by the calling device's digits
	done      chan struct{}
	err       error
}

const rawLine = "tel:+13175551010"

var (
	rawCalling = regexp.MustCompile(`<callingDevice><deviceIdentifier>(?:tel:)?\+?([0-9]+)`)
	rawXref    = regexp.MustCompile(`<monitorCrossRefID>([^<]+)</monitorCrossRefID>`)
)

// startRawMonitor signs alice in on the server at addr, starts a monitor on
// her line and records each DeliveredEvent's arrival until stop is called.
func startRawMonitor(b *testing.B, addr string) *rawMonitor {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	m := &rawMonitor{conn: c, delivered: map[string]time.Time{}, done: make(chan struct{})}
	b.Cleanup(func() { _ = c.Close(); <-m.done })
	local := c.LocalAddr().String()
	callID := fmt.Sprintf("raw-%d@127.0.0.1", time.Now().UnixNano())
	from := "<sip:alice@example.com>;tag=rawmon"
	invite := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<RequestSystemStatus xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"><extensions><privateData><private><lcs:line xmlns:lcs=\"http://schemas.microsoft.com/Lcs/2005/04/RCCExtension\">" + rawLine + "</lcs:line></private></privateData></extensions></RequestSystemStatus>"
	branch := 0
	req := func(method, target, to string, cseq int, body string) string {
		branch++ // the ACK of a 2xx is a transaction of its own (RFC 3261 §13.2.2.4)
		s := fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-raw-%d\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:alice@%s;transport=tcp>\r\n",
			method, target, local, branch, from, to, callID, cseq, method, local)
		if method == "INVITE" {
			s += "Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n"
		}
		if body != "" {
			s += "Content-Disposition: signal;handling=required\r\nContent-Type: application/csta+xml\r\n"
		}
		return s + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	r := &rawReader{conn: c, buf: make([]byte, 0, 1<<16)}
	send := func(s string) {
		if _, err := io.WriteString(c, s); err != nil {
			b.Fatal(err)
		}
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	send(req("INVITE", "sip:rcc@rcc.example.com", "<sip:rcc@rcc.example.com>", 1, invite))
	var ok []byte
	for {
		msg, _, err := r.next()
		if err != nil {
			b.Fatalf("raw monitor: sign-in: %v", err)
		}
		if bytes.HasPrefix(msg, []byte("SIP/2.0 1")) {
			continue
		}
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 200")) {
			b.Fatalf("raw monitor: sign-in answered %q", excerpt(msg))
		}
		ok = msg
		break
	}
	to := "<sip:rcc@rcc.example.com>;tag=" + string(headerParam(ok, "To", "tag"))
	target := string(contactURI(ok))
	send(req("ACK", target, to, 1, ""))
	send(req("INFO", target, to, 2, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<MonitorStart xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"><monitorObject><deviceObject>"+rawLine+"</deviceObject></monitorObject></MonitorStart>"))
	for {
		msg, _, err := r.next()
		if err != nil {
			b.Fatalf("raw monitor: MonitorStart: %v", err)
		}
		if bytes.HasPrefix(msg, []byte("SIP/2.0 200")) && rawXref.Match(msg) {
			break
		}
		if bytes.HasPrefix(msg, []byte("SIP/2.0")) {
			b.Fatalf("raw monitor: MonitorStart answered %q", excerpt(msg))
		}
	}
	_ = c.SetDeadline(time.Time{})
	go m.run(r)
	return m
}

// run answers and times INFOs until the connection closes.
func (m *rawMonitor) run(r *rawReader) {
	defer close(m.done)
	out := make([]byte, 0, 1024)
	for {
		msg, at, err := r.next()
		if err != nil {
			m.err = err
			return
		}
		if !bytes.HasPrefix(msg, []byte("INFO ")) {
			continue
		}
		if num := rawCalling.FindSubmatch(msg); num != nil && bytes.Contains(msg, []byte("<DeliveredEvent")) {
			m.mu.Lock()
			if _, dup := m.delivered[string(num[1])]; !dup {
				m.delivered[string(num[1])] = at
			}
			m.mu.Unlock()
		}
		out = append(out[:0], "SIP/2.0 200 OK\r\n"...)
		for _, line := range bytes.Split(msg[:bytes.Index(msg, []byte("\r\n\r\n"))], []byte("\r\n"))[1:] {
			for _, h := range []string{"Via:", "From:", "To:", "Call-ID:", "CSeq:"} {
				if len(line) >= len(h) && bytes.EqualFold(line[:len(h)], []byte(h)) {
					out = append(append(out, line...), "\r\n"...)
				}
			}
		}
		out = append(out, "Content-Length: 0\r\n\r\n"...)
		if _, err := m.conn.Write(out); err != nil {
			m.err = err
			return
		}
	}
}

// stop closes the connection and returns the arrival times.
func (m *rawMonitor) stop() map[string]time.Time {
	_ = m.conn.Close()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.delivered
}

// rawReader frames SIP messages on a stream by Content-Length (RFC 3261
// §18.3) and times each by the read that completed it.
type rawReader struct {
	conn net.Conn
	buf  []byte
	at   time.Time
}

func (r *rawReader) next() ([]byte, time.Time, error) {
	for {
		if end := bytes.Index(r.buf, []byte("\r\n\r\n")); end >= 0 {
			n := end + 4 + contentLength(r.buf[:end])
			if len(r.buf) >= n {
				msg := bytes.Clone(r.buf[:n])
				r.buf = append(r.buf[:0], r.buf[n:]...)
				return msg, r.at, nil
			}
		}
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, make([]byte, cap(r.buf))...)[:len(r.buf)]
		}
		n, err := r.conn.Read(r.buf[len(r.buf):cap(r.buf)])
		r.at = time.Now()
		if err != nil {
			return nil, r.at, err
		}
		r.buf = r.buf[:len(r.buf)+n]
	}
}

func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, _ := strconv.Atoi(string(bytes.TrimSpace(value)))
			return n
		}
	}
	return 0
}

// headerParam returns a parameter of the first header called name.
func headerParam(msg []byte, name, param string) []byte {
	for _, line := range bytes.Split(msg, []byte("\r\n")) {
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(n), []byte(name)) {
			continue
		}
		for _, p := range bytes.Split(v, []byte(";"))[1:] {
			if k, val, _ := bytes.Cut(p, []byte("=")); string(bytes.TrimSpace(k)) == param {
				return bytes.TrimSpace(val)
			}
		}
	}
	return nil
}

// contactURI returns the URI of the first Contact header.
func contactURI(msg []byte) []byte {
	for _, line := range bytes.Split(msg, []byte("\r\n")) {
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(n), []byte("Contact")) {
			continue
		}
		if i, j := bytes.IndexByte(v, '<'), bytes.IndexByte(v, '>'); i >= 0 && j > i {
			return v[i+1 : j]
		}
	}
	return nil
}

func excerpt(msg []byte) string { return strconv.Quote(string(msg[:min(len(msg), 200)])) }
