package sipedge

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// benchMsg is a real request: an in-dialog INFO carrying GetCSTAFeatures,
// as a Lync front end sends it.
const benchMsg = "INFO sip:127.0.0.1:11001;transport=tcp SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 10.0.0.21:5061;branch=z9hG4bK8e2b4a1c;ms-internal-info=\"abc\"\r\n" +
	"Max-Forwards: 69\r\nFrom: <sip:alice@example.com>;tag=84c1d5a2f7;epid=1a2b3c4d5e\r\n" +
	"To: <sip:rcc@rcc.example.com>;tag=7f6e5d4c-3b2a-1908-7654-3210fedcba98\r\n" +
	"Call-ID: 0f8e7d6c5b4a39281706f5e4d3c2b1a0\r\nCSeq: 3 INFO\r\n" +
	"Contact: <sip:fe01.example.com:5061;transport=tls>\r\nUser-Agent: UCCAPI/16.0\r\n" +
	"Content-Type: application/csta+xml\r\nContent-Disposition: signal;handling=required\r\n" +
	"Content-Length: 113\r\n\r\n" +
	"<?xml version=\"1.0\"?><GetCSTAFeatures xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"/>\n\n\n\n"

// BenchmarkSipgoParse is the baseline: what sipgo spends on the message anyway.
func BenchmarkSipgoParse(b *testing.B) {
	p := sip.NewParser()
	msg := []byte(benchMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Parse(msg, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEdgeFrame is the edge's added cost per message on a stream:
// framing, Content-Length, the check parse and the mandatory headers.
func BenchmarkEdgeFrame(b *testing.B) {
	e := New(Options{})
	f := framer{check: &e.check, max: e.lim.MaxMessageBytes}
	msg := []byte(benchMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		f.write(msg)
		o, ok := f.next()
		if !ok || o.verdict != verdictPass {
			b.Fatalf("%+v", o)
		}
	}
}

// BenchmarkEdgeFrameFullParse is BenchmarkEdgeFrame without the plain-shape
// scan: the cost it saves.
func BenchmarkEdgeFrameFullParse(b *testing.B) {
	e := New(Options{})
	msg := []byte(benchMsg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if o := e.check.check(msg, false); o.verdict != verdictPass {
			b.Fatalf("%+v", o)
		}
	}
}

// benchAnswer is a client's answer to one of the server's keep-alive
// INFOs, as SIPp (-aa) writes it.
const benchAnswer = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:41011;branch=z9hG4bK.ka3f9c2a71b0e4.1x7k.2m4q8w1z0c3b\r\n" +
	"From: <sip:rcc@rcc.example.com>;tag=5f2a0c9e71b4d3a8\r\n" +
	"To: <sip:alice@example.com>;tag=28117SIPpTag011\r\n" +
	"Call-ID: 11-28117@127.0.0.1\r\n" +
	"CSeq: 3 INFO\r\n" +
	"Contact: <sip:127.0.0.1:45215;transport=TCP>\r\n" +
	"Content-Length: 0\r\n\r\n"

// BenchmarkEdgeTakeAnswer is the edge's cost per answer to one of the
// server's INFOs on a stream: framing, the scan and the plain-shape check
// that hand it to Answers.Take (here one that takes it and does nothing).
func BenchmarkEdgeTakeAnswer(b *testing.B) {
	e := New(Options{Answers: &Answers{Branch: "z9hG4bK.ka3f9c2a71b0e4.", Take: func(*Answer) bool { return true }}})
	c := &conn{e: e}
	c.fr = framer{check: &e.check, max: e.lim.MaxMessageBytes, tap: c.tapAnswer, take: c.takeAnswer}
	c.remote = "127.0.0.1:45215"
	msg := []byte(benchAnswer)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		c.fr.write(msg)
		if o, ok := c.fr.next(); !ok || o.verdict != verdictTaken {
			b.Fatalf("%+v", o)
		}
	}
}
