// Command rccbare is the baseline of the RCC load test: a bare sipgo server
// that answers an RCC client's SIP without doing any RCC. It accepts every
// sign-in INVITE with 200 and a fixed RequestSystemStatusResponse and waits
// for the ACK, answers every INFO 200 with a fixed CSTA body, and UPDATE and
// BYE 200. There is no admission, no CSTA decoding, no session timer, no
// keep-alive and no event; a dialog table is its only state.
//
// `go tool task load` runs the same SIPp load against it and against
// rccserver, so the figures in docs/performance.md show what rccserver adds
// to sipgo itself.
//
//	rccbare -addr 127.0.0.1:11002
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/callcontrol"
)

const (
	contentType = "application/csta+xml"
	ns          = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
)

var (
	signInBody = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<RequestSystemStatusResponse xmlns="` + ns + `"><systemStatus>normal</systemStatus></RequestSystemStatusResponse>`)
	// infoBodies are the fixed INFO answers by -answer: what rccserver answers
	// the same request with, so both servers write the same bytes.
	infoBodies = map[string][]byte{
		"dnd": []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<GetDoNotDisturbResponse xmlns="` + ns + `"><doNotDisturbOn>false</doNotDisturbOn></GetDoNotDisturbResponse>`),
		"features": callcontrol.Features().Bytes(),
		"makecall": mustEncode(csta.ResourceError(csta.ResourceOutOfService)), // the load's station is not registered
	}
	infoBody []byte
)

func mustEncode(m csta.Message) []byte {
	b, err := csta.Encode(m)
	if err != nil {
		panic(err)
	}
	return b
}

func main() {
	addr := flag.String("addr", "127.0.0.1:11002", "TCP address to listen on")
	debug := flag.String("debug", "", "if set, an HTTP address whose /heap answers the live heap in bytes after a GC (for the load script)")
	answer := flag.String("answer", "dnd", "INFO answer body: dnd, features or makecall (what rccserver answers the load's request with)")
	flag.Parse()
	if infoBody = infoBodies[*answer]; infoBody == nil {
		fmt.Fprintf(os.Stderr, "rccbare: -answer %q: want dnd, features or makecall\n", *answer)
		os.Exit(2)
	}
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *debug != "" {
		// The same figure rccserver's admin listener gives: heap in use after a GC.
		http.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Fprintln(w, m.HeapAlloc)
		})
		go func() { _ = http.ListenAndServe(*debug, nil) }() // dies with the process; a load-test tool
	}
	if err := run(ctx, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "rccbare:", err)
		os.Exit(1)
	}
}

// bare is the whole server: the SIP stack and the dialog table.
type bare struct {
	dialogUA sipgo.DialogUA
	dialogs  sync.Map // dialog ID -> *sipgo.DialogServerSession
}

func run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("rccbare"))
	if err != nil {
		return err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return err
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		return err
	}
	host, portStr, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(portStr)
	contact := sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	contact.UriParams.Add("transport", "tcp")
	b := &bare{dialogUA: sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: contact}, RewriteContact: true}}
	srv.OnInvite(b.onInvite)
	srv.OnAck(b.onAck)
	srv.OnInfo(b.onInfo)
	srv.OnUpdate(b.onUpdate)
	srv.OnBye(b.onBye)
	fmt.Fprintf(os.Stderr, "rccbare listening on %s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTCP(ln) }()
	select {
	case <-ctx.Done():
		_ = ln.Close()
		_ = ua.Close()
		<-errc
		return nil
	case err := <-errc:
		_ = ua.Close()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}
}

func (b *bare) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		b.ok(req, tx, signInBody)
		return
	}
	dlg, err := b.dialogUA.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, err.Error(), nil))
		return
	}
	b.dialogs.Store(dlg.ID, dlg)
	dlg.OnState(func(s sip.DialogState) {
		if s == sip.DialogStateEnded {
			b.dialogs.Delete(dlg.ID)
		}
	})
	ct := sip.ContentTypeHeader(contentType)
	err = dlg.Respond(sip.StatusOK, "OK", signInBody, &ct,
		sip.NewHeader("Content-Disposition", "signal;handling=required"),
		sip.NewHeader("Supported", "timer"),
		sip.NewHeader("Require", "timer"),
		sip.NewHeader("Session-Expires", "1800;refresher=uac"))
	if err != nil {
		_ = dlg.Close()
	}
}

func (b *bare) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if dlg := b.match(req); dlg != nil {
		_ = dlg.ReadAck(req, tx)
	}
}

// onInfo answers without reading the dialog's CSeq: an INFO may overtake
// the ACK (sipgo hands each incoming message to its own goroutine).
func (b *bare) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if b.match(req) == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	b.ok(req, tx, infoBody)
}

func (b *bare) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if b.match(req) == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Session-Expires", "1800;refresher=uac"))
	res.AppendHeader(sip.NewHeader("Require", "timer"))
	_ = tx.Respond(res)
}

func (b *bare) onBye(req *sip.Request, tx sip.ServerTransaction) {
	dlg := b.match(req)
	if dlg == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = dlg.ReadBye(req, tx)
}

func (b *bare) ok(req *sip.Request, tx sip.ServerTransaction, body []byte) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	ct := sip.ContentTypeHeader(contentType)
	res.AppendHeader(&ct)
	res.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	_ = tx.Respond(res)
}

func (b *bare) match(req *sip.Request) *sipgo.DialogServerSession {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	v, ok := b.dialogs.Load(id)
	if !ok {
		return nil
	}
	return v.(*sipgo.DialogServerSession)
}
