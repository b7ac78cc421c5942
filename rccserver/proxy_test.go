package rccserver_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// frontEnd is a minimal stateful proxy standing where a Lync front end
// stands: it record-routes the INVITE (docs/protocol.md "Routing: static route and Record-Route") and relays requests
// both ways. It records how requests from the server reached it.
type frontEnd struct {
	t      *testing.T
	ua     *sipgo.UserAgent
	cli    *sipgo.Client
	ln     net.Listener
	server string // rccserver's listening address
	self   sip.Uri

	mu      sync.Mutex
	clients map[string]string // Call-ID -> client connection source
	fromSrv []seen            // requests that came from the server side
}

type seen struct {
	method sip.RequestMethod
	source string
	route  string
}

func startFrontEnd(t *testing.T, server string) *frontEnd {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fe"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	fe := &frontEnd{t: t, ua: ua, cli: cli, ln: ln, server: server, clients: map[string]string{},
		self: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p, UriParams: sip.NewParams(), Headers: sip.NewParams()}}
	fe.self.UriParams.Add("transport", "tcp")
	fe.self.UriParams.Add("lr", "")
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.INFO, sip.UPDATE, sip.BYE, sip.OPTIONS} {
		srv.OnRequest(m, fe.relay)
	}
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		r := fe.prepare(req)
		_ = fe.cli.WriteRequest(r, sipgo.ClientRequestAddVia)
	})
	done := make(chan struct{})
	go func() { _ = srv.ServeTCP(ln); close(done) }()
	t.Cleanup(func() { _ = ln.Close(); _ = ua.Close(); <-done })
	return fe
}

func (fe *frontEnd) addr() string { return fe.ln.Addr().String() }

// redispatch sends the client side's requests to another server from now
// on, as a front end does when a node died.
func (fe *frontEnd) redispatch(server string) {
	fe.mu.Lock()
	fe.server = server
	fe.mu.Unlock()
}

// prepare clones req, drops our own Route entry and picks the next hop.
func (fe *frontEnd) prepare(req *sip.Request) *sip.Request {
	r := req.Clone()
	if rt := r.Route(); rt != nil && rt.Address.Port == fe.self.Port {
		r.RemoveHeader("Route")
	}
	callID := req.CallID().Value()
	fe.mu.Lock()
	defer fe.mu.Unlock()
	// From the server side: any connection but the client's (after a
	// failover the new node opens its own).
	if c, ok := fe.clients[callID]; ok && req.Source() != c {
		route := ""
		if h := req.GetHeader("Route"); h != nil {
			route = h.Value()
		}
		fe.fromSrv = append(fe.fromSrv, seen{method: req.Method, source: req.Source(), route: route})
		r.SetDestination(fe.clients[callID])
	} else {
		if _, ok := fe.clients[callID]; !ok {
			fe.clients[callID] = req.Source()
		}
		r.SetDestination(fe.server)
	}
	r.SetTransport("TCP")
	return r
}

func (fe *frontEnd) relay(req *sip.Request, tx sip.ServerTransaction) {
	r := fe.prepare(req)
	if req.Method == sip.INVITE && !req.To().Params.Has("tag") {
		r.PrependHeader(&sip.RecordRouteHeader{Address: fe.self})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctr, err := fe.cli.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 502, "Bad Gateway", nil))
		return
	}
	defer ctr.Terminate()
	for {
		select {
		case res := <-ctr.Responses():
			res = res.Clone()
			res.RemoveHeader("Via") // ours, the top one
			_ = tx.Respond(res)
			if !res.IsProvisional() {
				return
			}
		case <-ctr.Done():
			_ = tx.Respond(sip.NewResponseFromRequest(req, 504, "Gateway Timeout", nil))
			return
		case <-ctx.Done():
			return
		}
	}
}

// TestRecordRoutedDialog: the client signs in through a record-routing front
// end; the server's events come back over the connection the INVITE arrived
// on (the front end's own connection, not a new one from the server), with
// the Route set taken from Record-Route (RFC 3261 §12.2.1.1; sipgo issue #361).
func TestRecordRoutedDialog(t *testing.T) {
	h := start(t, harnessOpts{})
	fe := startFrontEnd(t, h.addr)
	c := h.newClient(lynctest.Options{Server: fe.addr()})
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	answer, _, err := c.Request(ctx, &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:+3222220220"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := answer.(*csta.MakeCallResponse); !ok {
		t.Fatalf("answer %T", answer)
	}
	for _, want := range []string{"ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"} {
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if ev.Msg.Root() != want {
			t.Fatalf("got %s, want %s", ev.Msg.Root(), want)
		}
	}
	if res, err := c.Update(ctx); err != nil || res.StatusCode != 200 {
		t.Fatalf("UPDATE through the front end: %v %v", res, err)
	}
	// The front end record-routes only the initial INVITE; the 200 to a
	// re-INVITE still carries the dialog's Record-Route (a client that
	// rebuilds its route set from it keeps routing through the front end).
	res, err := c.ReInvite(ctx)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE through the front end: %v %v", res, err)
	}
	if rr := header(res, "Record-Route"); !strings.Contains(rr, fe.self.Host+":"+strconv.Itoa(fe.self.Port)) {
		t.Errorf("200 to the re-INVITE: Record-Route %q does not name the front end", rr)
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	if len(fe.fromSrv) != 3 {
		t.Fatalf("front end saw %d requests from the server: %+v", len(fe.fromSrv), fe.fromSrv)
	}
	for _, s := range fe.fromSrv {
		if s.source != h.addr {
			t.Errorf("%s arrived from %s: a new connection, not the front end's own to %s", s.method, s.source, h.addr)
		}
		if !strings.Contains(s.route, fe.self.Host+":"+strconv.Itoa(fe.self.Port)) {
			t.Errorf("%s Route %q does not name the front end", s.method, s.route)
		}
	}
}
