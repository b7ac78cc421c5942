package sipedge

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func req(method string, headers string, body string) string {
	return method + " sip:rcc@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" + headers +
		"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + string([]byte(fmtInt(n)))) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

const good = "From: <sip:alice@x>;tag=a\r\nTo: <sip:rcc@x>\r\nCall-ID: c1\r\nCSeq: 1 INFO\r\n"

func newTestEdge() *Edge {
	return New(Options{Log: zerolog.Nop(), Limits: Limits{MaxMessageBytes: 4096}})
}

func collect(e *Edge, in string) []outcome {
	f := framer{check: &e.check, max: e.lim.MaxMessageBytes}
	var out []outcome
	// Feed a byte at a time: framing must not depend on read boundaries.
	for i := 0; i < len(in); i++ {
		f.write([]byte{in[i]})
		for {
			o, ok := f.next()
			if !ok {
				break
			}
			if o.verdict == verdictPass {
				o.msg = bytes.Clone(o.msg)
			}
			out = append(out, o)
			if o.verdict == verdictClose {
				return out
			}
		}
	}
	return out
}

func TestFramer(t *testing.T) {
	big := strings.Repeat("x", 5000)
	cases := []struct {
		name   string
		in     string
		want   []verdict
		code   Code
		status string // start of the last reply
	}{
		{"one good", req("INFO", good, "<a/>"), []verdict{verdictPass}, "", ""},
		{"two good", req("INFO", good, "") + req("INFO", good, "<b/>"), []verdict{verdictPass, verdictPass}, "", ""},
		{"ping between", req("INFO", good, "") + "\r\n\r\n" + req("INFO", good, ""), []verdict{verdictPass, verdictPing, verdictPass}, "", ""},
		{"no call-id", req("INFO", "From: <sip:a@x>;tag=a\r\nTo: <sip:b@x>\r\nCSeq: 1 INFO\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, "SIP/2.0 400"},
		{"no from", req("BYE", "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, "SIP/2.0 400"},
		{"no to then good", req("INFO", "From: <sip:a@x>;tag=a\r\nCall-ID: c\r\nCSeq: 1 INFO\r\n", "") + req("INFO", good, ""), []verdict{verdictRefuse, verdictPass}, "", ""},
		{"negative cseq", req("INFO", "From: <sip:a@x>;tag=a\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: -1 INFO\r\n", "") + req("INFO", good, ""), []verdict{verdictRefuse, verdictPass}, "", ""},
		{"2^32 cseq", req("INFO", "From: <sip:a@x>;tag=a\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 4294967296 INFO\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, "SIP/2.0 400"},
		{"cseq method mismatch", req("INFO", "From: <sip:a@x>;tag=a\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, "SIP/2.0 400"},
		{"bad from", req("INFO", "From: <<<\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INFO\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, "SIP/2.0 400"},
		{"too large then good", req("INFO", good, big) + req("INFO", good, ""), []verdict{verdictRefuse, verdictPass}, "", ""},
		{"too large", req("INFO", good, big), []verdict{verdictRefuse}, CodeTooLarge, "SIP/2.0 413"},
		{"bad content-length", "INFO sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: abc\r\n\r\n", []verdict{verdictClose}, CodeFramingLost, ""},
		{"negative content-length", "INFO sip:a@x SIP/2.0\r\nContent-Length: -5\r\n\r\n", []verdict{verdictClose}, CodeFramingLost, ""},
		{"two content-lengths", "INFO sip:a@x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n", []verdict{verdictClose}, CodeFramingLost, ""},
		{"no content-length", "INFO sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n", []verdict{verdictClose}, CodeFramingLost, ""},
		{"endless header", "INFO sip:a@x SIP/2.0\r\nX: " + big, []verdict{verdictClose}, CodeFramingLost, ""},
		{"garbage block", "hello world\r\nContent-Length: 0\r\n\r\n" + req("INFO", good, ""), []verdict{verdictRefuse, verdictPass}, "", ""},
		{"ack not answered", req("ACK", "From: <sip:a@x>;tag=a\r\nTo: <sip:b@x>\r\nCSeq: 1 ACK\r\n", ""), []verdict{verdictRefuse}, CodeMalformed, ""},
		{"response without call-id dropped", "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCSeq: 1 INFO\r\nContent-Length: 0\r\n\r\n", []verdict{verdictRefuse}, CodeMalformed, ""},
		{"compact form", "INFO sip:a@x SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\nf: <sip:a@x>;tag=1\r\nt: <sip:b@x>\r\ni: c\r\nCSeq: 1 INFO\r\nl: 0\r\n\r\n", []verdict{verdictPass}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := collect(newTestEdge(), tc.in)
			var got []verdict
			for _, o := range out {
				got = append(got, o.verdict)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("verdicts %v, want %v (%+v)", got, tc.want, out)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("verdicts %v, want %v", got, tc.want)
				}
			}
			last := out[len(out)-1]
			if tc.code != "" && last.code != tc.code {
				t.Errorf("code %s, want %s", last.code, tc.code)
			}
			if tc.status != "" && !strings.HasPrefix(string(last.reply), tc.status) {
				t.Errorf("reply %q, want %s", last.reply, tc.status)
			}
			if tc.status == "" && tc.code != "" && last.reply != nil {
				t.Errorf("unexpected reply %q", last.reply)
			}
		})
	}
}

func TestRawReplyCopiesRoutingHeaders(t *testing.T) {
	in := "INFO sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <<<\r\nTo: <sip:b@x>\r\ni: c9\r\nCSeq: 7 INFO\r\nContent-Length: 0\r\n\r\n"
	out := collect(newTestEdge(), in)
	if len(out) != 1 || out[0].reply == nil {
		t.Fatalf("got %+v", out)
	}
	r := string(out[0].reply)
	for _, want := range []string{"SIP/2.0 400 Bad Request\r\n", "Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n", "From: <<<\r\n", "Call-ID: c9\r\n", "CSeq: 7 INFO\r\n", "Cs_MalformedMessage", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(r, want) {
			t.Errorf("reply lacks %q:\n%s", want, r)
		}
	}
}

func TestExcerptBounded(t *testing.T) {
	s := Excerpt(bytes.Repeat([]byte{0, '\n', 'a'}, 10000))
	if len(s) > 4*MaxExcerpt+10 || strings.ContainsAny(s, "\n\x00") {
		t.Fatalf("excerpt %d bytes, raw control bytes: %q", len(s), s[:40])
	}
}

// FuzzFramer drives arbitrary bytes, split at an arbitrary point, through
// the framer: it never panics, never passes a message sipgo rejects or
// one over the limit, and never buffers more than the limit plus one read.
func FuzzFramer(f *testing.F) {
	f.Add([]byte(req("INFO", good, "<a/>")), 7)
	f.Add([]byte(req("INFO", good, strings.Repeat("x", 5000))+req("BYE", good, "")), 100)
	f.Add([]byte("\r\n\r\nINFO sip:a SIP/2.0\r\nl: 3\r\n\r\nabc"), 3)
	e := newTestEdge()
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		fr := framer{check: &e.check, max: e.lim.MaxMessageBytes}
		if split < 0 || split > len(data) {
			split = len(data) / 2
		}
		for _, part := range [][]byte{data[:split], data[split:]} {
			fr.write(part)
			for {
				o, ok := fr.next()
				if !ok {
					break
				}
				if o.verdict == verdictPass {
					if len(o.msg) > e.lim.MaxMessageBytes {
						t.Fatalf("passed %d bytes over the limit", len(o.msg))
					}
					if _, _, err := e.check.parser.Parse(o.msg, true); err != nil {
						t.Fatalf("passed a message sipgo rejects: %v", err)
					}
				}
				if o.verdict == verdictClose {
					return
				}
			}
			if len(fr.buf)-fr.off > e.lim.MaxMessageBytes+len(part) {
				t.Fatalf("buffered %d bytes", len(fr.buf)-fr.off)
			}
		}
	})
}

func TestLimitsProblems(t *testing.T) {
	cases := []struct {
		l    Limits
		keys []string
	}{
		{Limits{}, nil},
		{DefaultLimits(), nil},
		{Limits{MaxMessageBytes: 10}, []string{"max_message_bytes"}},
		{Limits{MaxMessageBytes: 2 << 20}, []string{"max_message_bytes"}},
		{Limits{MaxConnections: -1, MaxConnectionsPerIP: -1}, []string{"max_connections", "max_connections_per_ip"}},
		{Limits{IdleTimeout: time.Millisecond, MessageTimeout: -time.Second}, []string{"idle_timeout", "message_timeout"}},
	}
	for _, tc := range cases {
		got := tc.l.Problems()
		if len(got) != len(tc.keys) {
			t.Errorf("%+v: problems %v, want keys %v", tc.l, got, tc.keys)
		}
		for _, k := range tc.keys {
			if got[k] == "" {
				t.Errorf("%+v: no problem for %s", tc.l, k)
			}
		}
	}
	if d := (Limits{}).WithDefaults(); d != DefaultLimits() {
		t.Errorf("zero limits with defaults = %+v", d)
	}
}
