package sipedge

import (
	"bytes"
	"strings"
	"testing"
)

// plainMessages are shapes the RCC and phone listeners see every second:
// each must take the scan, not the full parse.
var plainMessages = []string{
	benchMsg,
	"INVITE sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1-1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=1SIPpTag01\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: 1-1@127.0.0.1\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:alice@127.0.0.1:5070;transport=tcp>\r\nSupported: timer\r\nContent-Type: application/csta+xml\r\nContent-Length: 0\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:11001;branch=z9hG4bK.x;rport=5070;received=127.0.0.1\r\n" +
		"From: \"RCC\" <sip:rcc@rcc.example.com>;tag=abc\r\nTo: Alice <sip:alice@example.com>;tag=def\r\nCall-ID: x\r\nCSeq: 7 INFO\r\nl: 0\r\n\r\n",
	"BYE sip:alice@127.0.0.1:5070;transport=tcp SIP/2.0\r\nv: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa\r\nf: <tel:+13175551010>;tag=1\r\n" +
		"t: <sip:rcc@rcc.example.com>;tag=2\r\ni: abc\r\nCSeq: 9 BYE\r\nRoute: <sip:fe.example.com;lr>\r\nl: 0\r\n\r\n",
}

func TestPlainValidTakesCommonMessages(t *testing.T) {
	e := New(Options{})
	for _, m := range plainMessages {
		if !plainValid([]byte(m)) {
			t.Errorf("not plain:\n%s", m)
		}
		if o := e.check.full([]byte(m), true); o.verdict != verdictPass {
			t.Errorf("full check refuses %q: %s", m, o.reason)
		}
	}
}

// TestPlainValidLeavesTheRestToTheParser: what is not plain, or is wrong,
// is not passed by the scan (the full parse decides and answers).
func TestPlainValidLeavesTheRestToTheParser(t *testing.T) {
	base := plainMessages[1]
	for name, m := range map[string]string{
		"no Via":              strings.Replace(base, "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1-1\r\n", "", 1),
		"no Call-ID":          strings.Replace(base, "Call-ID: 1-1@127.0.0.1\r\n", "", 1),
		"CSeq of another":     strings.Replace(base, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1),
		"CSeq too large":      strings.Replace(base, "CSeq: 1 INVITE", "CSeq: 2147483648 INVITE", 1),
		"Via without host":    strings.Replace(base, "TCP 127.0.0.1:5070;", "TCP ;", 1),
		"folded header":       strings.Replace(base, "Supported: timer\r\n", "Supported: timer\r\n ,100rel\r\n", 1),
		"IPv6 Via":            strings.Replace(base, "127.0.0.1:5070;branch", "[::1]:5070;branch", 1),
		"bare addr-spec":      strings.Replace(base, "From: <sip:alice@example.com>", "From: sip:alice@example.com", 1),
		"two Contacts":        strings.Replace(base, "transport=tcp>", "transport=tcp>, <sip:b@h>", 1),
		"bad port":            strings.Replace(base, "127.0.0.1:5070;transport", "127.0.0.1:50x0;transport", 1),
		"lower-case method":   strings.Replace(strings.Replace(base, "INVITE sip", "invite sip", 1), "1 INVITE", "1 invite", 1),
		"non-ASCII":           strings.Replace(base, "Supported: timer", "Supported: tïmer", 1),
		"no header block end": strings.TrimSuffix(base, "\r\n"),
	} {
		if plainValid([]byte(m)) {
			t.Errorf("%s: taken as plain", name)
		}
	}
}

// FuzzPlainValid holds the scan to its promise: whatever framed stream
// message it passes, sipgo's parser and the mandatory-header checks pass too.
func FuzzPlainValid(f *testing.F) {
	for _, m := range plainMessages {
		f.Add([]byte(m))
	}
	e := New(Options{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		if !plainValid(msg) {
			return
		}
		fr := framer{check: &e.check, max: e.lim.MaxMessageBytes}
		fr.write(msg)
		o, ok := fr.next()
		if !ok || o.verdict != verdictPass || len(o.msg) != len(msg) {
			return // not one framed message: the framer decides
		}
		if o := e.check.full(msg, true); o.verdict != verdictPass {
			t.Fatalf("scan passes what the parse refuses (%s): %q", o.reason, msg)
		}
	})
}

// TestPlainTextWords: the eight-bytes-at-a-time check agrees with the byte
// loop for every byte value at every place of one and two words and a tail.
func TestPlainTextWords(t *testing.T) {
	for n := range 20 {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if got, want := plainText(b), plainBytes(b); got != want {
					t.Fatalf("plainText(%q) = %v, byte loop %v", b, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "\t\t\t\t\t\t\t\t\t", "Via: SIP/2.0/TCP 127.0.0.1:5070\t;branch=z9hG4bK", " ~~~~~~~~~~~~~~~", "\x1f\x20\x7e\x7f\x80\xff\x00\x09"} {
		if got, want := plainText([]byte(s)), plainBytes([]byte(s)); got != want {
			t.Errorf("plainText(%q) = %v, byte loop %v", s, got, want)
		}
	}
}

// BenchmarkPlainText: the word check against the byte loop on a request's
// header lines (their CRLFs made spaces, so that the whole passes).
func BenchmarkPlainText(b *testing.B) {
	head, _, _ := strings.Cut(benchMsg, "\r\n\r\n")
	msg := []byte(strings.ReplaceAll(head, "\r\n", "  "))
	for _, f := range []struct {
		name string
		fn   func([]byte) bool
	}{{"words", plainText}, {"bytes", plainBytes}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if !f.fn(msg) {
					b.Fatal("not plain")
				}
			}
		})
	}
}

// TestTokenClass: the token class is RFC 3261 §25.1's token characters,
// byte for byte.
func TestTokenClass(t *testing.T) {
	for c := range 256 {
		want := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", byte(c)) >= 0
		if got := tokenChars([]byte{byte(c)}); got != want {
			t.Errorf("%q: token %v, want %v", byte(c), got, want)
		}
		if got := isToken([]byte{byte(c)}); got != want {
			t.Errorf("%q: isToken %v, want %v", byte(c), got, want)
		}
	}
	if isToken(nil) || isToken([]byte(strings.Repeat("a", 33))) || !isToken([]byte(strings.Repeat("a", 32))) {
		t.Error("isToken length bounds")
	}
}

// TestBlanks: the blank helpers are bytes.TrimRight, TrimLeft and
// ContainsAny for " \t".
func TestBlanks(t *testing.T) {
	for _, s := range []string{"", " ", "\t", "a", " a", "a ", "\ta b\t ", " \t \t", "a\tb", "\r a \n"} {
		b := []byte(s)
		if got, want := string(trimBlanksRight(b)), string(bytes.TrimRight(b, " \t")); got != want {
			t.Errorf("trimBlanksRight(%q) = %q, want %q", s, got, want)
		}
		if got, want := string(trimBlanksLeft(b)), string(bytes.TrimLeft(b, " \t")); got != want {
			t.Errorf("trimBlanksLeft(%q) = %q, want %q", s, got, want)
		}
		if got, want := hasBlank(b), bytes.ContainsAny(b, " \t"); got != want {
			t.Errorf("hasBlank(%q) = %v, want %v", s, got, want)
		}
	}
}
