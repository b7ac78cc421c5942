// Package lynctest is a Lync-shaped RCC client for tests: a sipgo user agent
// that signs in with INVITE + RequestSystemStatus, sends CSTA requests in
// INFO, refreshes with UPDATE or re-INVITE, and collects the events the
// server sends back over the same connection.
package lynctest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// Options describe the client.
type Options struct {
	Server    string // host:port of rccserver (or of a proxy in front of it)
	Transport string // "tcp" (default), "tls" or "udp"
	User      string // From address, e.g. "sip:alice@example.com"
	Line      string // line URI for lcs:line, e.g. "tel:+13175551010"
	Domain    string // host of the Request-URI (the Line Server URI), default the server host
	// SessionExpires, if non-zero, is sent in the INVITE (seconds).
	SessionExpires int
	// Route, if set, is sent as a pre-loaded Route header (e.g. a proxy).
	Route string
	// InfoStatus decides the status answered to each INFO the server sends
	// (events, keep-alives); nil answers 200. Returning 0 leaves it unanswered.
	InfoStatus func(msg csta.Message) int
	// UpdateStatus, if set, is the status answered to the server's UPDATEs
	// (a client without UPDATE support answers 501, as pidgin-sipe does);
	// 0 answers 200 and takes the UPDATE's Contact as the remote target.
	UpdateStatus int
	// TLS is the client side of a tls or mtls connection: RootCAs to trust
	// the server, Certificates (or GetClientCertificate) for MTLS. It goes
	// to the client's own UA; a shared UA brings its own.
	TLS *tls.Config
	// UA, if set, is shared (many clients multiplexed on one connection, as a
	// Lync front end does); the caller then owns its lifetime.
	UA *sipgo.UserAgent
}

// Client is one signed-in (or signing-in) RCC client.
type Client struct {
	opts   Options
	ua     *sipgo.UserAgent
	ownUA  bool
	cli    *sipgo.Client
	dlg    *sipgo.DialogClientSession
	callID string

	events    chan Event
	byes      chan *sip.Request
	refreshes chan *sip.Request // UPDATEs from the server (target refresh)
	ended     atomic.Bool
	mu        sync.Mutex

	// The server's INFOs are queued in CSeq order, as a client reading its
	// connection in order sees them: sipgo hands each incoming request to
	// its own goroutine, and the server does not wait for one INFO's
	// answer before it sends the next.
	infoMu   sync.Mutex
	nextCSeq uint32           // CSeq of the next INFO to queue (0: not started, 1)
	held     map[uint32]Event // arrived before an INFO with a lower CSeq
}

// Event is an INFO the server sent, decoded.
type Event struct {
	Msg csta.Message
	Req *sip.Request
}

// registry routes requests from the server to the client whose dialog they
// belong to, when several clients share one UA.
var registry sync.Map // Call-ID -> *Client

// New creates a client; nothing is sent until SignIn.
func New(opts Options) (*Client, error) {
	if opts.Transport == "" {
		opts.Transport = "tcp"
	}
	c := &Client{opts: opts, events: make(chan Event, 1024), byes: make(chan *sip.Request, 1), refreshes: make(chan *sip.Request, 8)}
	ua := opts.UA
	if ua == nil {
		var err error
		var uaOpts []sipgo.UserAgentOption
		if opts.TLS != nil {
			uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(opts.TLS))
		}
		if ua, err = NewUA(uaOpts...); err != nil {
			return nil, err
		}
		c.ownUA = true
	}
	c.ua = ua
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, err
	}
	c.cli = cli
	return c, nil
}

// NewUA creates a user agent whose server side dispatches requests to the
// clients created on it; opts add to it (e.g. sipgo.WithUserAgenTLSConfig).
func NewUA(opts ...sipgo.UserAgentOption) (*sipgo.UserAgent, error) {
	ua, err := sipgo.NewUA(append([]sipgo.UserAgentOption{sipgo.WithUserAgent("lynctest")}, opts...)...)
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		c := lookup(req)
		if c == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Such Call", nil))
			return
		}
		c.onInfo(req, tx)
	})
	srv.OnUpdate(func(req *sip.Request, tx sip.ServerTransaction) {
		c := lookup(req)
		if c == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Such Call", nil))
			return
		}
		c.onUpdate(req, tx)
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		c := lookup(req)
		if c == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Such Call", nil))
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		c.ended.Store(true)
		select {
		case c.byes <- req:
		default:
		}
	})
	return ua, nil
}

func lookup(req *sip.Request) *Client {
	if v, ok := registry.Load(req.CallID().Value()); ok {
		return v.(*Client)
	}
	return nil
}

func (c *Client) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	msg, err := csta.Decode(req.Body())
	status := sip.StatusOK
	if c.opts.InfoStatus != nil {
		status = c.opts.InfoStatus(msg)
	}
	c.queueInOrder(req, msg, err)
	if status == 0 {
		return // leave the transaction unanswered: the server's Timer F must fire
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, status, "Answer", nil))
}

// onUpdate answers the server's UPDATE 200 and takes its Contact as the
// dialog's remote target (RFC 3311 §5.1, RFC 3261 §12.2.1.2): a node that
// adopted the session after a failover sends one (docs/protocol.md
// "Target refresh after a failover").
func (c *Client) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c.infoMu.Lock()
	if seq := req.CSeq().SeqNo; seq >= c.nextCSeq {
		// The new node's requests number on from here (its CSeq jumped
		// above the old node's): no INFO below it is coming.
		c.nextCSeq = seq + 1
		c.flushLocked()
	}
	c.infoMu.Unlock()
	if st := c.opts.UpdateStatus; st != 0 && st != sip.StatusOK {
		_ = tx.Respond(sip.NewResponseFromRequest(req, st, "Refused", nil))
		select {
		case c.refreshes <- req:
		default:
		}
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	if ct := req.Contact(); ct != nil {
		c.Retarget(*ct.Address.Clone())
	}
	select {
	case c.refreshes <- req:
	default:
	}
}

// Retarget makes target the dialog's remote target: later requests go there.
func (c *Client) Retarget(target sip.Uri) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dlg != nil {
		c.dlg.InviteResponse.Contact().Address = target
	}
}

// remoteTarget returns the dialog's remote target, read under the lock
// Retarget writes it under (a server's UPDATE may arrive at any time).
func (c *Client) remoteTarget() sip.Uri {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dlg.InviteResponse.Contact().Address
}

// NextRefresh waits for the next UPDATE the server sent.
func (c *Client) NextRefresh(ctx context.Context) (*sip.Request, error) {
	select {
	case r := <-c.refreshes:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// queueInOrder queues the decoded INFOs in CSeq order (undecodable ones
// keep their place but are not queued).
func (c *Client) queueInOrder(req *sip.Request, msg csta.Message, decodeErr error) {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	seq := req.CSeq().SeqNo
	if c.held == nil {
		c.held = map[uint32]Event{}
	}
	if c.nextCSeq == 0 {
		c.nextCSeq = 1 // rccserver numbers the requests it sends in a dialog from 1
	}
	ev := Event{Msg: msg, Req: req}
	if decodeErr != nil {
		ev.Msg = nil
	}
	if seq < c.nextCSeq {
		seq = c.nextCSeq // late or repeated: queue it now
	}
	c.held[seq] = ev
	c.flushLocked()
}

// flushLocked queues the held INFOs that are next in CSeq order.
func (c *Client) flushLocked() {
	for {
		e, ok := c.held[c.nextCSeq]
		if !ok {
			return
		}
		delete(c.held, c.nextCSeq)
		c.nextCSeq++
		if e.Msg == nil {
			continue
		}
		select {
		case c.events <- e:
		default:
		}
	}
}

// SignIn sends the INVITE with RequestSystemStatus and, on 2xx, the ACK. It
// returns the final response (also for refusals, with an *sipgo.ErrDialogResponse error).
func (c *Client) SignIn(ctx context.Context) (*sip.Response, error) {
	host, portStr, err := net.SplitHostPort(c.opts.Server)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	domain := c.opts.Domain
	if domain == "" {
		domain = host
	}
	body, err := csta.Encode(&csta.RequestSystemStatus{Extensions: &csta.Extensions{Line: c.opts.Line}})
	if err != nil {
		return nil, err
	}
	uri := sip.Uri{Scheme: "sip", User: "rcc", Host: domain, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	uri.UriParams.Add("transport", c.opts.Transport)
	req := sip.NewRequest(sip.INVITE, uri)
	req.SetBody(body)
	req.SetTransport(c.opts.Transport)
	req.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	from, err := parseAddr(c.opts.User)
	if err != nil {
		return nil, err
	}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(10))
	fromHdr := sip.FromHeader{Address: from.Address, Params: from.Params}
	toHdr := sip.ToHeader{Address: uri, Params: sip.NewParams()}
	req.AppendHeader(&fromHdr)
	req.AppendHeader(&toHdr)
	ct := sip.ContentTypeHeader(csta.ContentType)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if c.opts.SessionExpires > 0 {
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(c.opts.SessionExpires)))
	}
	if c.opts.Route != "" {
		req.AppendHeader(sip.NewHeader("Route", c.opts.Route))
	}
	callID := sip.CallIDHeader(sip.GenerateTagN(16) + "@lynctest")
	req.AppendHeader(&callID)
	c.callID = string(callID)
	registry.Store(c.callID, c)

	contactURI := sip.Uri{Scheme: "sip", User: from.Address.User, Host: "lynctest.invalid", UriParams: sip.NewParams(), Headers: sip.NewParams()}
	dua := sipgo.DialogUA{Client: c.cli, ContactHDR: sip.ContactHeader{Address: contactURI}}
	dlg, err := dua.WriteInvite(ctx, req)
	if err != nil {
		registry.Delete(c.callID)
		return nil, err
	}
	c.dlg = dlg
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		registry.Delete(c.callID)
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			return de.Res, err
		}
		return dlg.InviteResponse, err
	}
	if err := dlg.Ack(ctx); err != nil {
		return dlg.InviteResponse, err
	}
	return dlg.InviteResponse, nil
}

type addr struct {
	Address sip.Uri
	Params  sip.HeaderParams
}

func parseAddr(s string) (addr, error) {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return addr{}, fmt.Errorf("user %q: %w", s, err)
	}
	return addr{Address: u}, nil
}

// Tags returns the dialog's From (ours) and To (the server's) tags, for
// tests that forge in-dialog requests.
func (c *Client) Tags() (from, to string) {
	if c.dlg == nil {
		return "", ""
	}
	from, _ = c.dlg.InviteRequest.From().Params.Get("tag")
	to, _ = c.dlg.InviteResponse.To().Params.Get("tag")
	return from, to
}

// CallID returns the dialog's Call-ID.
func (c *Client) CallID() string { return c.callID }

// Request sends msg in an INFO and returns the decoded answer from the 200 body.
func (c *Client) Request(ctx context.Context, msg csta.Message) (csta.Message, *sip.Response, error) {
	body, err := csta.Encode(msg)
	if err != nil {
		return nil, nil, err
	}
	res, err := c.RequestRaw(ctx, csta.ContentType, body)
	if err != nil {
		return nil, res, err
	}
	if res.StatusCode != sip.StatusOK {
		return nil, res, fmt.Errorf("INFO answered %d %s", res.StatusCode, res.Reason)
	}
	answer, err := csta.Decode(res.Body())
	return answer, res, err
}

// RequestRaw sends an INFO with any content type and body.
func (c *Client) RequestRaw(ctx context.Context, contentType string, body []byte) (*sip.Response, error) {
	req := sip.NewRequest(sip.INFO, c.remoteTarget())
	if contentType != "" {
		ct := sip.ContentTypeHeader(contentType)
		req.AppendHeader(&ct)
		req.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	}
	req.SetBody(body)
	return c.do(ctx, req)
}

func (c *Client) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	c.mu.Lock() // one CSeq counter, like a real client's dialog
	defer c.mu.Unlock()
	return c.dlg.Do(ctx, req)
}

// Update refreshes the session with a body-less UPDATE (RFC 4028 / Communicator 2007 R2+).
func (c *Client) Update(ctx context.Context) (*sip.Response, error) {
	req := sip.NewRequest(sip.UPDATE, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if c.opts.SessionExpires > 0 {
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(c.opts.SessionExpires)+";refresher=uac"))
	}
	return c.do(ctx, req)
}

// ReInvite refreshes with a re-INVITE carrying RequestSystemStatus, as older
// clients do, and acknowledges the 200.
func (c *Client) ReInvite(ctx context.Context) (*sip.Response, error) {
	body, _ := csta.Encode(&csta.RequestSystemStatus{Extensions: &csta.Extensions{Line: c.opts.Line}})
	req := sip.NewRequest(sip.INVITE, c.remoteTarget())
	ct := sip.ContentTypeHeader(csta.ContentType)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if c.opts.SessionExpires > 0 {
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(c.opts.SessionExpires)+";refresher=uac"))
	}
	contact := c.dlg.InviteRequest.Contact()
	req.AppendHeader(sip.HeaderClone(contact))
	req.SetBody(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.dlg.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if res.IsSuccess() {
				ack := sip.NewRequest(sip.ACK, c.dlg.InviteResponse.Contact().Address)
				ack.AppendHeader(sip.HeaderClone(req.From()))
				ack.AppendHeader(sip.HeaderClone(res.To()))
				ack.AppendHeader(sip.HeaderClone(req.CallID()))
				ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
				cl := sip.ContentLengthHeader(0) // mandatory on stream transports (RFC 3261 §20.14)
				ack.AppendHeader(&cl)
				ack.SetTransport(req.Transport())
				ack.SetDestination(req.Destination())
				if err := c.cli.WriteRequest(ack, sipgo.ClientRequestAddVia); err != nil {
					return res, err
				}
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Bye signs out.
func (c *Client) Bye(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer registry.Delete(c.callID)
	c.ended.Store(true)
	return c.dlg.Bye(ctx)
}

// SignOut sends INFO MonitorStop for xref and a BYE back to back, the BYE
// written before the MonitorStop is answered (pidgin-sipe signs out that
// way), and returns both final answers.
func (c *Client) SignOut(ctx context.Context, xref string) (stop, bye *sip.Response, err error) {
	body, err := csta.Encode(&csta.MonitorStop{MonitorCrossRefID: xref})
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer registry.Delete(c.callID)
	info := sip.NewRequest(sip.INFO, c.dlg.InviteResponse.Contact().Address)
	ct := sip.ContentTypeHeader(csta.ContentType)
	info.AppendHeader(&ct)
	info.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	info.SetBody(body)
	infoTx, err := c.dlg.TransactionRequest(ctx, info)
	if err != nil {
		return nil, nil, err
	}
	defer infoTx.Terminate()
	byeTx, err := c.dlg.TransactionRequest(ctx, sip.NewRequest(sip.BYE, c.dlg.InviteResponse.Contact().Address))
	if err != nil {
		return nil, nil, err
	}
	defer byeTx.Terminate()
	c.ended.Store(true)
	if stop, err = final(ctx, infoTx); err != nil {
		return nil, nil, fmt.Errorf("MonitorStop: %w", err)
	}
	if bye, err = final(ctx, byeTx); err != nil {
		return stop, nil, fmt.Errorf("BYE: %w", err)
	}
	return stop, bye, nil
}

// final waits for tx's final response.
func final(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// NextEvent waits for the next INFO the server sent.
func (c *Client) NextEvent(ctx context.Context) (Event, error) {
	select {
	case ev := <-c.events:
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// WaitBye waits for a BYE from the server.
func (c *Client) WaitBye(ctx context.Context) (*sip.Request, error) {
	select {
	case r := <-c.byes:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close releases the client's user agent if it owns it.
func (c *Client) Close() error {
	registry.Delete(c.callID)
	if c.ownUA {
		return c.ua.Close()
	}
	return nil
}
