package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/csta"
)

// target is where a hostile message is sent.
type target int

const (
	targetUnknown  target = iota
	targetShared          // the TCP connection of a healthy raw session (as behind a Lync front end)
	targetRCC             // a fresh TCP connection to the RCC port
	targetTLS             // the RCC TLS listener (one connection; fresh ones for closing entries)
	targetPhoneUDP        // the phones' UDP listener
	targetPhoneTCP        // the phones' TCP listener
)

const (
	wantNone   = 0  // no answer: a probe OPTIONS is answered next
	wantClosed = -1 // the server closes this connection (and only this one)
)

type attack struct {
	name   string
	to     target
	msg    func(rc *rawConn, a *rawSession, bob dialog) []byte
	want   int    // status, wantNone or wantClosed
	code   string // log code whose refusal counter must go up ("" none)
	inBody string // the answer's body must contain this
}

// dialog is another user's session, which an attacker forges requests for.
type dialog struct{ callID, fromTag, toTag string }

const rccURI = "sip:rcc@rcc.example.com;transport=tcp"

// req is a request outside any dialog, with a fresh Call-ID.
func req(rc *rawConn, method string) rawMsg {
	return rc.request(method, rccURI, fmt.Sprintf("atk-%d@x", time.Now().UnixNano()), "atk", "", 1)
}

// phoneReq is a request to the phones' side.
func phoneReq(rc *rawConn, method string) rawMsg {
	m := rc.request(method, "sip:1010@rcc.example.com", fmt.Sprintf("atk-%d@x", time.Now().UnixNano()), "atk", "", 1)
	return m.with("From", "<sip:1010@rcc.example.com>;tag=atk").with("To", "<sip:1010@rcc.example.com>")
}

func invite(rc *rawConn) rawMsg {
	body, _ := csta.Encode(&csta.RequestSystemStatus{Extensions: &csta.Extensions{Line: aliceLine}})
	return req(rc, "INVITE").withBody(csta.ContentType, string(body))
}

func hostileTable() []attack {
	var out []attack
	add := func(name string, to target, want int, code string, msg func(rc *rawConn, a *rawSession, bob dialog) []byte) {
		out = append(out, attack{name: name, to: to, msg: msg, want: want, code: code})
	}
	mal := "Cs_MalformedMessage"
	// Mandatory headers missing, on every method the RCC port handles: a
	// nil-pointer crash of the whole process before (issue 12).
	for _, method := range []string{"INVITE", "INFO", "BYE", "UPDATE"} {
		for _, h := range []string{"Call-ID", "From", "To"} {
			add(method+" without "+h, targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
				if method == "INVITE" {
					return invite(rc).without(h).bytes()
				}
				return req(rc, method).without(h).bytes()
			})
		}
	}
	add("ACK without Call-ID", targetShared, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "ACK").without("Call-ID").bytes()
	})
	add("INFO without CSeq", targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").without("CSeq").bytes()
	})
	add("INFO without Via", targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").without("Via").bytes()
	})
	for _, cseq := range []string{"-1 INFO", "4294967296 INFO", "abc INFO", "1", "1 BYE", "99999999999999999999 INFO"} {
		add("INFO with CSeq "+cseq, targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
			return req(rc, "INFO").with("CSeq", cseq).bytes()
		})
	}
	for _, from := range []string{"<<<", "", "<sip:a@b;tag=x"} {
		add(fmt.Sprintf("INFO with From %q", from), targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
			return req(rc, "INFO").with("From", from).bytes()
		})
	}
	for _, via := range []string{"garbage", "SIP/2.0/TCP", "SIP/2.0/TCP ;branch=x"} {
		add(fmt.Sprintf("INFO with Via %q", via), targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
			return req(rc, "INFO").with("Via", via).bytes()
		})
	}
	add("INVITE with an unparseable Contact", targetShared, 400, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return invite(rc).with("Contact", "<sip:").bytes()
	})
	add("request line without a URI", targetShared, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO")
		m.start = "INFO  SIP/2.0"
		return m.bytes()
	})
	// Oversized but framed: 413 and the connection goes on.
	for _, n := range []int{70_000, 300_000, 1 << 20} {
		add(fmt.Sprintf("INFO with a %d-byte body", n), targetShared, 413, "Cs_MessageTooLarge", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
			return req(rc, "INFO").withBody(csta.ContentType, strings.Repeat("x", n)).bytes()
		})
	}
	add("INVITE with a 100000-byte body", targetShared, 413, "Cs_MessageTooLarge", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return invite(rc).withBody(csta.ContentType, strings.Repeat("<a/>", 25_000)).bytes()
	})
	// Bad CSTA inside the healthy session: the documented 200 + CSTAErrorCode.
	for _, body := range []string{"<not xml", "<Foo xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"/>", strings.Repeat("<a>", 5000)} {
		out = append(out, attack{name: "bad CSTA in the session " + body[:min(len(body), 12)], to: targetShared, want: 200, inBody: "CSTAErrorCode",
			msg: func(rc *rawConn, a *rawSession, _ dialog) []byte { return a.info(csta.ContentType, body).bytes() }})
	}
	add("INFO in the session with text/plain", targetShared, 415, "", func(rc *rawConn, a *rawSession, _ dialog) []byte {
		return a.info("text/plain", "hello").bytes()
	})
	// Another user's dialog from this connection: never honoured.
	for _, method := range []string{"INFO", "BYE", "UPDATE", "INVITE"} {
		add("forged "+method+" in bob's dialog", targetShared, 481, "Cs_DialogNotOnThisConnection", func(rc *rawConn, _ *rawSession, bob dialog) []byte {
			m := rc.request(method, rccURI, bob.callID, bob.fromTag, bob.toTag, 90)
			if method == "INFO" {
				body, _ := csta.Encode(&csta.GetCSTAFeatures{})
				m = m.withBody(csta.ContentType, string(body))
			}
			return m.bytes()
		})
	}
	add("INFO outside any dialog", targetShared, 481, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").bytes()
	})
	add("CANCEL of nothing", targetShared, 481, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "CANCEL").bytes()
	})
	add("OPTIONS without Max-Forwards", targetShared, 200, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "OPTIONS").without("Max-Forwards").bytes()
	})
	add("INVITE with Session-Expires abc", targetShared, 400, "Cs_BadRequest", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return invite(rc).with("Session-Expires", "abc").bytes()
	})
	add("INVITE with Session-Expires 1", targetShared, 422, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return invite(rc).with("Session-Expires", "1").bytes()
	})
	add("INVITE without a body", targetShared, 415, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INVITE").bytes()
	})
	add("INVITE with 500 Via headers", targetShared, 481, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO")
		for i := range 500 {
			m.headers = append(m.headers, [2]string{"Via", fmt.Sprintf("SIP/2.0/TCP 10.0.%d.%d;branch=z9hG4bK%d", i/250, i%250, i)})
		}
		return m.bytes()
	})
	add("INFO with a 60000-byte header", targetShared, 481, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").with("X-Long", strings.Repeat("y", 60_000)).bytes()
	})
	add("stray 200 OK", targetShared, wantNone, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO")
		m.start = "SIP/2.0 200 OK"
		return m.bytes()
	})
	add("stray 200 OK without Call-ID", targetShared, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO").without("Call-ID")
		m.start = "SIP/2.0 200 OK"
		return m.bytes()
	})
	add("text that is not SIP", targetShared, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return []byte("hello there\r\nContent-Length: 0\r\n\r\n")
	})
	add("binary junk", targetShared, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return append([]byte{0xff, 0xfe, 0, 1, 2, '\r', '\n'}, []byte("l: 3\r\n\r\n\x00\x01\x02")...)
	})
	add("unknown method", targetShared, 405, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "FROB").bytes()
	})
	// Framing truly lost: only that connection closes.
	for _, c := range []struct{ name, cl string }{{"no Content-Length", "-"}, {"Content-Length abc", "abc"},
		{"Content-Length -5", "-5"}, {"Content-Length 2^40", "1099511627776"}} {
		add("RCC TCP "+c.name, targetRCC, wantClosed, "Cs_FramingLost", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
			m := req(rc, "INFO")
			m.cl = c.cl
			return m.bytes()
		})
	}
	add("RCC TCP two Content-Lengths", targetRCC, wantClosed, "Cs_FramingLost", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO").with("l", "7")
		return m.bytes()
	})
	add("RCC TCP endless header block", targetRCC, wantClosed, "Cs_FramingLost", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return []byte("INFO " + rccURI + " SIP/2.0\r\nX: " + strings.Repeat("z", 70_000))
	})
	add("RCC TCP half a message, then silence", targetRCC, wantClosed, "Cs_MessageTimeout", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		b := req(rc, "INFO").bytes()
		return b[:len(b)/2]
	})
	// TLS: the same parser behind the handshake.
	add("TLS INFO without Call-ID", targetTLS, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").without("Call-ID").bytes()
	})
	add("TLS INVITE without From", targetTLS, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return invite(rc).without("From").bytes()
	})
	add("TLS BYE with CSeq -1", targetTLS, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "BYE").with("CSeq", "-1 BYE").bytes()
	})
	add("TLS INFO with a 200000-byte body", targetTLS, 413, "Cs_MessageTooLarge", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return req(rc, "INFO").withBody(csta.ContentType, strings.Repeat("x", 200_000)).bytes()
	})
	add("TLS forged BYE in bob's dialog", targetTLS, 481, "Cs_DialogNotOnThisConnection", func(rc *rawConn, _ *rawSession, bob dialog) []byte {
		return rc.request("BYE", rccURI, bob.callID, bob.fromTag, bob.toTag, 91).bytes()
	})
	add("TLS no Content-Length", -targetTLS, wantClosed, "Cs_FramingLost", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := req(rc, "INFO")
		m.cl = "-"
		return m.bytes()
	})
	// The phones' side: one unauthenticated UDP packet used to be enough.
	for _, method := range []string{"REGISTER", "INVITE", "BYE", "INFO", "NOTIFY", "OPTIONS"} {
		for _, h := range []string{"Call-ID", "From", "To"} {
			if method != "REGISTER" && method != "INVITE" && h != "Call-ID" {
				continue
			}
			add("phones UDP "+method+" without "+h, targetPhoneUDP, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
				return phoneReq(rc, method).without(h).bytes()
			})
		}
	}
	add("phones UDP ACK without Call-ID", targetPhoneUDP, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "ACK").without("Call-ID").bytes()
	})
	add("phones UDP REGISTER with CSeq 2^32", targetPhoneUDP, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "REGISTER").with("CSeq", "4294967296 REGISTER").bytes()
	})
	add("phones UDP REGISTER with a bad Contact", targetPhoneUDP, 400, "", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "REGISTER").with("Contact", "<sip:").bytes()
	})
	add("phones UDP garbage", targetPhoneUDP, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not SIP at all")
	})
	add("phones UDP response without Call-ID", targetPhoneUDP, wantNone, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := phoneReq(rc, "INVITE").without("Call-ID")
		m.start = "SIP/2.0 180 Ringing"
		return m.bytes()
	})
	add("phones UDP REGISTER of an unknown extension", targetPhoneUDP, 401, "Cs_PhoneAuthFailed", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "REGISTER").with("From", "<sip:9999@rcc.example.com>;tag=atk").with("To", "<sip:9999@rcc.example.com>").
			with("Authorization", `Digest username="9999", realm="rcc.example.com", nonce="abc", uri="sip:rcc.example.com", response="00000000000000000000000000000000"`).bytes()
	})
	add("phones TCP REGISTER without Call-ID", targetPhoneTCP, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "REGISTER").without("Call-ID").bytes()
	})
	add("phones TCP INVITE without To", targetPhoneTCP, 400, mal, func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "INVITE").without("To").bytes()
	})
	add("phones TCP INFO with a 100000-byte body", targetPhoneTCP, 413, "Cs_MessageTooLarge", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		return phoneReq(rc, "INFO").withBody("application/dtmf-relay", strings.Repeat("x", 100_000)).bytes()
	})
	add("phones TCP no Content-Length", -targetPhoneTCP, wantClosed, "Cs_FramingLost", func(rc *rawConn, _ *rawSession, _ dialog) []byte {
		m := phoneReq(rc, "REGISTER")
		m.cl = "-"
		return m.bytes()
	})
	return out
}

// TestHostileInput sends a table of malformed, oversized, out-of-order
// and forged messages to the built binary on every listener while two
// healthy sessions, one sharing the attacker's TCP connection, keep
// working; then checks that goroutines and heap come back to baseline.
func TestHostileInput(t *testing.T) {
	pki, err := certs.InitDevPKI(t.TempDir(), certs.DevPKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", tls: &pki, phoneTCP: true,
		limits: "{message_timeout: 2}", phoneLim: "{message_timeout: 2}"})
	tlsCfg, err := pki.ClientTLS("", "")
	if err != nil {
		t.Fatal(err)
	}

	bob, st, _ := s.lync("sip:bob@example.com", bobLine)
	if st != 200 {
		t.Fatalf("bob sign-in: %d", st)
	}
	from, to := bob.Tags()
	bobDlg := dialog{callID: bob.CallID(), fromTag: from, toTag: to}
	bobHealthy := func() {
		t.Helper()
		if _, ok := request(t, bob, &csta.GetCSTAFeatures{}).(*csta.GetCSTAFeaturesResponse); !ok {
			t.Fatal("bob's session no longer answers GetCSTAFeatures")
		}
	}
	shared := dialRaw(t, "tcp", s.rccAddr, nil)
	alice := shared.signIn("sip:alice@example.com", aliceLine)
	alice.features(t)
	bobHealthy()

	conns := map[target]*rawConn{
		targetShared:   shared,
		targetTLS:      dialRaw(t, "tcp", s.tlsAddr, tlsCfg),
		targetPhoneUDP: dialRaw(t, "udp", s.phoneReg, nil),
		targetPhoneTCP: dialRaw(t, "tcp", s.phoneReg, nil),
	}
	heap0, gor0 := s.heapAfterGC(t)

	table := hostileTable()
	if len(table) < 60 {
		t.Fatalf("only %d hostile messages; the issue asks for at least 60", len(table))
	}
	t.Logf("%d hostile messages", len(table))
	codesSeen := map[string]bool{}
	for i, a := range table {
		before := s.metrics(t)
		var rc *rawConn
		switch a.to {
		case targetRCC:
			rc = dialRaw(t, "tcp", s.rccAddr, nil)
		case -targetTLS:
			rc = dialRaw(t, "tcp", s.tlsAddr, tlsCfg)
		case -targetPhoneTCP:
			rc = dialRaw(t, "tcp", s.phoneReg, nil)
		default:
			rc = conns[a.to]
		}
		rc.send(a.msg(rc, alice, bobDlg))
		switch a.want {
		case wantClosed:
			_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.Copy(io.Discard, rc.c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%s: connection not closed", a.name)
			}
		case wantNone:
			probe := req(rc, "OPTIONS")
			if a.to == targetPhoneUDP || a.to == targetPhoneTCP {
				probe = phoneReq(rc, "OPTIONS")
			}
			rc.send(probe.bytes())
			res, err := rc.next(5 * time.Second)
			if err != nil || res.status != 200 || !strings.Contains(res.header("CSeq"), "OPTIONS") {
				t.Errorf("%s: want no answer, then the probe's 200; got %q %v", a.name, res.start+" / "+res.header("CSeq"), err)
			}
		default:
			res, err := rc.next(10 * time.Second)
			for errors.Is(err, errPong) {
				res, err = rc.next(10 * time.Second)
			}
			if err != nil || res.status != a.want {
				t.Errorf("%s: got %d %q %v, want %d", a.name, res.status, res.start, err, a.want)
			}
			if a.inBody != "" && !bytes.Contains(res.body, []byte(a.inBody)) {
				t.Errorf("%s: answer body %q lacks %s", a.name, res.body, a.inBody)
			}
		}
		if a.code != "" {
			metric := `rcc_refusals_total{code="` + a.code + `"}`
			if a.to == targetPhoneUDP || a.to == targetPhoneTCP || a.to == -targetPhoneTCP {
				metric = `rcc_phone_refusals_total{code="` + a.code + `"}`
			}
			deadline := time.Now().Add(3 * time.Second)
			for s.metrics(t)[metric] <= before[metric] {
				if time.Now().After(deadline) {
					t.Errorf("%s: %s did not go up", a.name, metric)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			codesSeen[a.code] = true
		}
		s.alive(t)
		if i%10 == 9 {
			alice.features(t)
			bobHealthy()
		}
	}
	// A CRLF keep-alive ping on the shared connection is answered (RFC 5626 §3.5.1).
	shared.send([]byte("\r\n\r\n"))
	if _, err := shared.next(5 * time.Second); !errors.Is(err, errPong) {
		t.Errorf("double-CRLF ping: got %v, want a pong", err)
	}
	s.alive(t)
	alice.features(t)
	bobHealthy()
	if t.Failed() {
		return
	}
	for code := range codesSeen {
		if !s.logged(`"code":"` + code + `"`) {
			t.Errorf("log has no line with code %s", code)
		}
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Errorf("the log mentions a panic")
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes: raw input is not bounded", len(line))
			break
		}
	}

	// Back to baseline once the attackers are gone (the healthy sessions stay).
	for k, rc := range conns {
		if k != targetShared {
			_ = rc.c.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		heap, gor := s.heapAfterGC(t)
		if gor <= gor0+5 && heap <= heap0*1.5+4<<20 {
			t.Logf("goroutines %v -> %v, heap in use %.1f -> %.1f MiB", gor0, gor, heap0/(1<<20), heap/(1<<20))
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not back to baseline: goroutines %v -> %v, heap %.1f -> %.1f MiB", gor0, gor, heap0/(1<<20), heap/(1<<20))
		}
		time.Sleep(500 * time.Millisecond)
	}
	alice.features(t)
	bobHealthy()
}
