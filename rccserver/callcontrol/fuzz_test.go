package callcontrol

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/sipedge"
	"github.com/rccserver/rccserver/rccserver/sipedge/sipedgetest"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
)

// fuzzPeer is the source address the fuzzed requests come from; the
// standing session lives there too, so in-dialog requests reach it.
const fuzzPeer = "127.0.0.1:5999"

// fuzzAdmission admits the harness's own sign-ins and refuses the rest, so
// the fuzzer cannot fill the session table.
type fuzzAdmission struct {
	open  *atomic.Bool
	login *station.Login
}

func (a fuzzAdmission) Admit(context.Context, rccserver.AdmitRequest) (*rccserver.Grant, error) {
	if !a.open.Load() {
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeUserNotFound, Reason: "fuzz"}
	}
	return &rccserver.Grant{Status: csta.StatusNormal, Value: &Line{Ext: "1010", Login: a.login}}, nil
}

// fuzzRig is a Server wired to the real CSTA service and a real switch (on
// loopback, phones unregistered), with one standing session whose dialog
// the fuzz inputs can name through placeholders.
type fuzzRig struct {
	srv   *rccserver.Server
	sw    *switching.Switch
	open  atomic.Bool
	toTag string
}

const (
	fuzzCallID  = "fuzz-call@rcc"
	fuzzFromTag = "fuzzf"
	toTagMark   = "$TT$" // replaced by the standing session's To tag
)

func newFuzzRig(tb testing.TB) *fuzzRig {
	tb.Helper()
	text, err := os.ReadFile("../../station/testdata/login.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	stCfg, err := station.LoadYAML(bytes.NewReader(text))
	if err != nil {
		tb.Fatal(err)
	}
	login, err := station.NewService(stCfg).Login(`EXAMPLE\alice`, "tel:+13175551010")
	if err != nil {
		tb.Fatal(err)
	}
	sw, err := switching.New(switching.Config{Domain: "rcc.example.com",
		Listen:   []switching.Listener{{Network: "udp", Addr: "127.0.0.1:0"}},
		Stations: []switching.Station{{Extension: "1010", Password: "x"}, {Extension: "1020", Password: "y"}}}, zerolog.Nop())
	if err != nil {
		tb.Fatal(err)
	}
	swDone := make(chan error, 1)
	go func() { swDone <- sw.Serve(context.Background()) }()
	r := &fuzzRig{sw: sw}
	cfg := rccserver.DefaultConfig()
	cfg.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "127.0.0.1:0"}}
	cfg.Domains = []string{"rcc.example.com"}
	cfg.KeepAlive = 0
	r.srv, err = rccserver.New(rccserver.Options{Config: cfg, Log: zerolog.Nop(), Admission: fuzzAdmission{open: &r.open, login: login},
		Handler: NewService(sw, nil, zerolog.Nop())})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.srv.Listen(); err != nil {
		tb.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- r.srv.Serve(ctx) }()
	tb.Cleanup(func() {
		stop()
		<-srvDone
		_ = sw.Close()
		<-swDone
	})
	r.signIn(tb)
	return r
}

// signIn opens the standing session as a client would: INVITE, 200, ACK.
func (r *fuzzRig) signIn(tb testing.TB) {
	tb.Helper()
	r.open.Store(true)
	defer r.open.Store(false)
	body, _ := csta.Encode(&csta.RequestSystemStatus{Extensions: &csta.Extensions{Line: "tel:+13175551010"}})
	inv := "INVITE sip:rcc@rcc.example.com;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKfuzzinv\r\n" +
		"From: <sip:alice@example.com>;tag=" + fuzzFromTag + "\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: " + fuzzCallID + "\r\n" +
		"CSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5999;transport=tcp>\r\nContent-Type: application/csta+xml\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	req := r.parse(tb, []byte(inv))
	tx := sipedgetest.NewTx()
	tx.OnRespond = func(res *sip.Response) {
		if res.StatusCode != 200 {
			return
		}
		r.toTag, _ = res.To().Params.Get("tag")
		ack := "ACK sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKfuzzack\r\nFrom: <sip:alice@example.com>;tag=" +
			fuzzFromTag + "\r\nTo: <sip:rcc@rcc.example.com>;tag=" + r.toTag + "\r\nCall-ID: " + fuzzCallID + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
		go r.srv.Handle(r.parse(tb, []byte(ack)), sipedgetest.NewTx())
	}
	r.srv.Handle(req, tx)
	if len(r.srv.Sessions()) != 1 {
		tb.Fatalf("standing session not established: %v", tx.Responses())
	}
}

func (r *fuzzRig) parse(tb testing.TB, b []byte) *sip.Request {
	tb.Helper()
	m, err := r.srv.Edge().Parser().ParseSIP(b)
	if err != nil {
		tb.Fatalf("parse %q: %v", b, err)
	}
	req := m.(*sip.Request)
	req.SetSource(fuzzPeer)
	req.SetTransport("TCP")
	return req
}

// FuzzRCCHandlers drives arbitrary bytes through the edge's checks and
// sipgo's parser into the RCC side's request handlers and this CSTA
// service, in-process, with a
// standing session: no input may panic (the handler boundary turns a panic
// into Cs_InternalError, which fails the target) or leave a request
// unanswered.
func FuzzRCCHandlers(f *testing.F) {
	r := newFuzzRig(f)
	features, _ := csta.Encode(&csta.GetCSTAFeatures{})
	makeCall, _ := csta.Encode(&csta.MakeCall{CallingDevice: "tel:+13175551010", CalledDirectoryNumber: "tel:+13175551020"})
	monitor, _ := csta.Encode(&csta.MonitorStart{MonitorObject: "tel:+13175551010"})
	inDialog := func(method string, cseq int, ct string, body []byte) []byte {
		return []byte(method + " sip:127.0.0.1:5060;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKx" + strconv.Itoa(cseq) +
			"\r\nFrom: <sip:alice@example.com>;tag=" + fuzzFromTag + "\r\nTo: <sip:rcc@rcc.example.com>;tag=" + toTagMark +
			"\r\nCall-ID: " + fuzzCallID + "\r\nCSeq: " + strconv.Itoa(cseq) + " " + method + "\r\nSession-Expires: 1800\r\nContent-Type: " + ct +
			"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	}
	for i, b := range [][]byte{features, makeCall, monitor, []byte("<x"), []byte("")} {
		f.Add(inDialog("INFO", 10+i, csta.ContentType, b))
	}
	f.Add(inDialog("UPDATE", 20, "", nil))
	f.Add(inDialog("INVITE", 21, csta.ContentType, []byte("<RequestSystemStatus/>")))
	f.Add(inDialog("BYE", 22, "", nil))
	f.Add(inDialog("OPTIONS", 23, "", nil))
	f.Add([]byte("INVITE sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: n1\r\nCSeq: 1 INVITE\r\nContent-Type: application/csta+xml\r\nContent-Length: 5\r\n\r\n<a/>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(r.srv.Sessions()) == 0 {
			r.signIn(t) // a fuzzed BYE ended it
		}
		data = bytes.ReplaceAll(data, []byte(toTagMark), []byte(r.toTag))
		if code, _ := r.srv.Edge().Check(data, false); code != "" {
			return // refused and answered by the edge (its own fuzz target covers it)
		}
		m, err := r.srv.Edge().Parser().ParseSIP(data)
		if err != nil {
			t.Fatalf("the edge passed what sipgo cannot parse: %v", err)
		}
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource(fuzzPeer)
		req.SetTransport("TCP")
		switch req.Method {
		case sip.INVITE, sip.ACK, sip.INFO, sip.UPDATE, sip.BYE, sip.OPTIONS, sip.CANCEL:
		default:
			return // sipgo answers 405 itself
		}
		tx := sipedgetest.NewTx()
		tx.OnRespond = func(res *sip.Response) {
			if req.Method == sip.INVITE && res.StatusCode == 200 && req.To() != nil && !req.To().Params.Has("tag") {
				tx.Terminate() // nothing will ACK a fuzzed sign-in
			}
		}
		before := r.srv.Stats().Refusals[string(rccserver.CodeInternal)]
		done := make(chan struct{})
		go func() { r.srv.Handle(req, tx); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("handler for %s did not return", req.Method)
		}
		if r.srv.Stats().Refusals[string(rccserver.CodeInternal)] != before {
			t.Fatalf("a handler panicked on %q", sipedge.Excerpt(data))
		}
		if req.Method != sip.ACK && len(tx.Responses()) == 0 {
			t.Fatalf("%s left unanswered: %q", req.Method, sipedge.Excerpt(data))
		}
	})
}

// FuzzFastInfo drives arbitrary in-dialog messages through the edge's fast
// path (rccserver/fastinfo.go) of a server with one standing session: what
// it takes is answered once, with a response sipgo parses for the same
// dialog and CSeq, and no handler panics. What it leaves goes to sipgo
// (FuzzRCCHandlers covers that path).
func FuzzFastInfo(f *testing.F) {
	r := newFuzzRig(f)
	features, _ := csta.Encode(&csta.GetCSTAFeatures{})
	makeCall, _ := csta.Encode(&csta.MakeCall{CallingDevice: "tel:+13175551010", CalledDirectoryNumber: "tel:+13175551020"})
	for i, b := range [][]byte{features, makeCall, []byte("<x"), []byte("")} {
		body := string(b)
		f.Add([]byte("INFO sip:127.0.0.1:5060;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKf" + strconv.Itoa(i) +
			";rport\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKp\r\nRecord-Route: <sip:fe.example.com;lr>\r\nFrom: <sip:alice@example.com>;tag=" + fuzzFromTag +
			"\r\nTo: <sip:rcc@rcc.example.com>;tag=" + toTagMark + "\r\nCall-ID: " + fuzzCallID + "\r\nCSeq: " + strconv.Itoa(100+i) +
			" INFO\r\nContent-Type: " + csta.ContentType + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(r.srv.Sessions()) == 0 {
			r.signIn(t)
		}
		data = bytes.ReplaceAll(data, []byte(toTagMark), []byte(r.toTag))
		if code, _ := r.srv.Edge().Check(data, true); code != "" {
			return
		}
		before := r.srv.Stats().Refusals[string(rccserver.CodeInternal)]
		w := &notifyWriter{written: make(chan []byte, 2)}
		if !r.srv.HandleStream(data, fuzzPeer, w) {
			return
		}
		var out []byte
		select {
		case out = <-w.written:
		case <-time.After(10 * time.Second):
			t.Fatalf("taken, never answered: %q", sipedge.Excerpt(data))
		}
		if r.srv.Stats().Refusals[string(rccserver.CodeInternal)] != before {
			t.Fatalf("a handler panicked on %q", sipedge.Excerpt(data))
		}
		m, err := r.srv.Edge().Parser().ParseSIP(out)
		if err != nil {
			t.Fatalf("answer sipgo cannot parse (%v): %q", err, out)
		}
		res, ok := m.(*sip.Response)
		req, _ := r.srv.Edge().Parser().ParseSIP(data)
		if !ok || res.StatusCode != 200 || res.CallID().Value() != req.CallID().Value() || res.CSeq().SeqNo != req.CSeq().SeqNo ||
			len(res.GetHeaders("Via")) != len(req.GetHeaders("Via")) {
			t.Fatalf("answer %q to %q", out, data)
		}
	})
}

// notifyWriter hands each write to the test.
type notifyWriter struct{ written chan []byte }

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.written <- bytes.Clone(p)
	return len(p), nil
}
