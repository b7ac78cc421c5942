package sipedge

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const ansPrefix = "z9hG4bK.kaabc."

var ourAnswer = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:11001;branch=" + ansPrefix + "1.x9;rport=5070;received=127.0.0.1\r\n" +
	"From: <sip:rcc@rcc.example.com>;tag=abc\r\nTo: <sip:alice@example.com>;tag=def\r\nCall-ID: 1-1@127.0.0.1\r\nCSeq: 7 INFO\r\nContent-Length: 0\r\n\r\n"

func TestScanAnswer(t *testing.T) {
	var a Answer
	if !takeable([]byte(ourAnswer), []byte(ansPrefix), &a) {
		t.Fatal("our answer not taken")
	}
	if a.Status != 200 || string(a.Reason) != "OK" || string(a.Branch) != ansPrefix+"1.x9" || string(a.CallID) != "1-1@127.0.0.1" || a.CSeq != 7 {
		t.Fatalf("scanned %+v", a)
	}
	compact := strings.NewReplacer("Via:", "v:", "Call-ID:", "i:").Replace(strings.Replace(ourAnswer, "200 OK", "481 Call Leg/Transaction Does Not Exist", 1))
	if !takeable([]byte(compact), []byte(ansPrefix), &a) || a.Status != 481 || string(a.Reason) != "Call Leg/Transaction Does Not Exist" {
		t.Fatalf("compact 481: %+v", a)
	}
	for name, m := range map[string]string{
		"another branch":  strings.Replace(ourAnswer, ansPrefix, "z9hG4bK-1-", 1),
		"second Via ours": strings.Replace(ourAnswer, "Via: ", "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\nVia: ", 1),
		"CSeq of a BYE":   strings.Replace(ourAnswer, "7 INFO", "7 BYE", 1),
		"two Call-IDs":    strings.Replace(ourAnswer, "CSeq:", "Call-ID: other\r\nCSeq:", 1),
		"folded line":     strings.Replace(ourAnswer, "CSeq: 7 INFO\r\n", "CSeq: 7\r\n INFO\r\n", 1),
		"a request":       "INFO sip:a@b SIP/2.0\r\n" + strings.SplitN(ourAnswer, "\r\n", 2)[1],
		"no To":           strings.Replace(ourAnswer, "To: <sip:alice@example.com>;tag=def\r\n", "", 1),
		"status 700":      strings.Replace(ourAnswer, "200 OK", "700 OK", 1),
		"no CSeq":         strings.Replace(ourAnswer, "CSeq: 7 INFO\r\n", "", 1),
	} {
		if takeable([]byte(m), []byte(ansPrefix), &a) {
			t.Errorf("%s: taken", name)
		}
	}
}

// TestConnTakesAnswers: over a framed connection, an answer to our INFO
// goes to Answers.Take and never to the reader; everything else is read.
func TestConnTakesAnswers(t *testing.T) {
	var got []string
	e := New(Options{Answers: &Answers{Branch: ansPrefix, Take: func(a *Answer) bool {
		got = append(got, string(a.Branch)+" "+a.Source)
		return string(a.CallID) != "refused"
	}}})
	a, b := net.Pipe()
	defer a.Close()
	c := e.Conn(b)
	defer c.Close()
	other := strings.Replace(ourAnswer, "1-1@127.0.0.1", "refused", 1)
	go func() { _, _ = a.Write([]byte(ourAnswer + req("INFO", good, "") + other)) }()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	var read string
	for !strings.Contains(read, "refused") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (read %q)", err, read)
		}
		read += string(buf[:n])
	}
	if strings.Contains(read, "1-1@127.0.0.1") || !strings.HasPrefix(read, "INFO ") {
		t.Errorf("read %q", read)
	}
	if len(got) != 2 || got[0] != ansPrefix+"1.x9 pipe" {
		t.Errorf("taken %q", got)
	}
}

// takeable reports whether msg, one whole message, is an answer the edge
// takes, and fills a from it.
func takeable(msg, pf []byte, a *Answer) bool {
	i := bytes.Index(msg, crlf2)
	if i < 0 {
		return false
	}
	n, ok := scanAnswer(msg[:i+2], pf, a)
	return ok && len(msg) == i+4+n
}

// FuzzScanAnswer holds the scan to sipgo's parser: whatever it takes,
// sipgo parses as a response with the same status, top Via branch,
// Call-ID and CSeq, and the edge's checks pass.
func FuzzScanAnswer(f *testing.F) {
	f.Add([]byte(ourAnswer))
	f.Add([]byte(strings.Replace(ourAnswer, "Via:", "v:", 1)))
	f.Add([]byte(strings.Replace(ourAnswer, ";rport", " ; rport", 1)))
	e := newTestEdge()
	f.Fuzz(func(t *testing.T, msg []byte) {
		var a Answer
		if !takeable(msg, []byte(ansPrefix), &a) {
			return
		}
		fr := framer{check: &e.check, max: e.lim.MaxMessageBytes}
		fr.write(msg)
		if o, ok := fr.next(); !ok || o.verdict != verdictPass || len(o.msg) != len(msg) {
			return // not one framed message: the framer never offers it
		}
		m, _, err := e.check.parser.Parse(msg, true)
		if err != nil {
			t.Fatalf("taken, but sipgo refuses: %v", err)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			t.Fatalf("taken, but sipgo reads a %T", m)
		}
		branch, _ := res.Via().Params.Get("branch")
		if res.StatusCode != a.Status || res.Reason != string(a.Reason) || branch != string(a.Branch) ||
			res.CallID().Value() != string(a.CallID) || res.CSeq().SeqNo != a.CSeq || res.CSeq().MethodName != sip.INFO {
			t.Fatalf("scanned %d %q %q %q %d; sipgo %d %q %q %q %d %s", a.Status, a.Reason, a.Branch, a.CallID, a.CSeq,
				res.StatusCode, res.Reason, branch, res.CallID().Value(), res.CSeq().SeqNo, res.CSeq().MethodName)
		}
		if o := e.check.full(msg, true); o.verdict != verdictPass {
			t.Fatalf("taken, but the edge refuses: %s", o.reason)
		}
	})
}
