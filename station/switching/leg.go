package switching

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// leg is one SIP dialog between the switch and a device (RFC 3261 §12):
// the switch is the UAC of legs it places and the UAS of calls it receives.
// Each side of a call is its own leg with its own Call-ID, tags, CSeq space
// and SDP origin; that is what makes the switch a B2BUA.
//
// The dialog layer is hand-written, not sipgo's DialogUA sessions (v1.7.2):
// those own the dialog's local CSeq (unexported, no setter) and send no
// re-INVITE (sipgo #134, #172), while every leg here carries re-INVITEs and
// early-dialog NOTIFY/INFO, so one counter (cseq) must number them all
// (RFC 3261 §12.2.1.1). The reason for each piece is at the piece.
type leg struct {
	sw        *Switch
	callID    string // SIP Call-ID, the key in Switch.legs
	device    string
	uac       bool
	transport string // "UDP" or "TCP"
	dest      string // host:port every request of ours goes to
	peer      bool   // a leg to another node (peers.go)

	mu           sync.Mutex
	localTag     string
	remoteTag    string
	localURI     sip.Uri
	remoteURI    sip.Uri
	remoteTarget sip.Uri
	routes       []string // route set, in the order Route headers are sent
	cseq         uint32
	remoteCSeq   uint32
	confirmed    bool // a 2xx was exchanged
	ended        bool // BYE / CANCEL / failure: the dialog is gone
	origin       sdpOrigin
	remoteSDP    []byte // the device's latest description
	localSDP     []byte // the latest description we sent (stamped)

	// UAC: the initial INVITE and a cancel for it while it is pending.
	invite       *sip.Request
	cancelInvite context.CancelFunc
	// abandonInvite gives up the pending INVITE without CANCEL: the device
	// is gone (legwatch.go).
	abandonInvite context.CancelFunc
	// inviteDone is closed when placeInvite has returned: the INVITE
	// transaction has its final response (487 after a CANCEL) or was
	// given up.
	inviteDone chan struct{}
	// UAS: the initial INVITE transaction until it is answered.
	inviteReq *sip.Request
	inviteTx  sip.ServerTransaction
	finalSent chan struct{} // closed once a final response to inviteReq was sent
	answering bool          // a final response to inviteReq is being sent

	// The call and connection the leg belongs to; guarded by model.mu.
	call *call
	conn *connection
	// callRef is call.id, readable without model.mu (the leg's record).
	callRef atomic.Value

	// inviteSeq is the CSeq of our latest INVITE, for its ACK.
	inviteSeq uint32

	// probe is the timer of the next OPTIONS probe (legwatch.go); guarded by mu.
	probe Timer
	// saved: the leg is in Config.Store (persist.go); guarded by mu.
	saved bool

	// reinvite serialises the INVITE transactions we originate on the leg
	// (RFC 3261 §14.1: one pending INVITE per direction).
	reinvite sync.Mutex
}

func (sw *Switch) newLegCommon(device, transport, dest string) *leg {
	l := &leg{
		sw: sw, device: device, transport: strings.ToUpper(transport), dest: dest,
		localTag: sip.GenerateTagN(16), cseq: rand.Uint32N(1 << 16),
	}
	l.origin.sess = rand.Uint64N(1<<62) + 1
	return l
}

// newUACLeg prepares a leg the switch will place: an INVITE to target
// (Request-URI) via dest, From from, To to.
func (sw *Switch) newUACLeg(device string, target, from, to sip.Uri, transport, dest string) *leg {
	l := sw.newLegCommon(device, transport, dest)
	l.uac = true
	l.inviteDone = make(chan struct{})
	l.callID = newCallID() + newCallID() + "@" + sw.cfg.Domain
	l.remoteTarget = target
	l.localURI = from
	l.remoteURI = to
	return l
}

// newStationLeg prepares a leg to station ext reached at w, with the
// registration's Path as its preloaded route set (RFC 3327 §5.4).
func (sw *Switch) newStationLeg(ext string, w reachable, from sip.Uri) *leg {
	l := sw.newUACLeg(ext, w.target, from, sw.sipURI(ext), w.transport, w.dest)
	l.routes = w.routes
	return l
}

// newUASLeg wraps an incoming initial INVITE.
func (sw *Switch) newUASLeg(device string, req *sip.Request, tx sip.ServerTransaction) *leg {
	l := sw.newLegCommon(device, req.Transport(), req.Source())
	l.callID = req.CallID().Value()
	l.remoteTag, _ = req.From().Params.Get("tag")
	l.remoteURI = req.From().Address
	l.localURI = req.To().Address
	if c := req.Contact(); c != nil {
		l.remoteTarget = c.Address
	} else {
		l.remoteTarget = req.From().Address
	}
	for _, h := range req.GetHeaders("Record-Route") {
		l.routes = append(l.routes, h.Value())
	}
	l.remoteCSeq = req.CSeq().SeqNo
	l.remoteSDP = req.Body()
	l.inviteReq, l.inviteTx = req, tx
	l.finalSent = make(chan struct{})
	return l
}

// fromHeader and toHeader are the dialog's From/To as we send them.
func (l *leg) fromHeader() *sip.FromHeader {
	h := &sip.FromHeader{Address: l.localURI}
	h.Params.Add("tag", l.localTag)
	return h
}

func (l *leg) toHeader() *sip.ToHeader {
	h := &sip.ToHeader{Address: l.remoteURI}
	if l.remoteTag != "" {
		h.Params.Add("tag", l.remoteTag)
	}
	return h
}

// newRequest builds an in-dialog request (RFC 3261 §12.2.1.1). l.mu must be held.
func (l *leg) newRequest(method sip.RequestMethod, seq uint32) *sip.Request {
	req := sip.NewRequest(method, l.remoteTarget)
	req.AppendHeader(l.fromHeader())
	req.AppendHeader(l.toHeader())
	cid := sip.CallIDHeader(l.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range l.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	if method == sip.INVITE || method == sip.NOTIFY || method == sip.SUBSCRIBE {
		req.AppendHeader(l.sw.contact(l.transport))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", l.sw.cfg.UserAgent))
	l.address(req)
	return req
}

// address pins req to the leg's transport and destination, sent from our
// listener so that the device sees one address for the switch.
func (l *leg) address(req *sip.Request) {
	req.SetTransport(l.transport)
	req.SetDestination(l.dest)
	if l.transport == "UDP" {
		req.Laddr = l.sw.udpLaddr
	}
}

func (l *leg) nextCSeq() uint32 {
	l.cseq++
	return l.cseq
}

func setBody(req interface {
	SetBody([]byte)
	AppendHeader(sip.Header)
}, ct string, body []byte) {
	if len(body) > 0 {
		h := sip.ContentTypeHeader(ct)
		req.AppendHeader(&h)
	}
	req.SetBody(body)
}

// transact sends a request in a client transaction and returns the final
// response. Provisional responses go to onProv. (Not Dialog*Session.Do: it
// numbers the request from the session's own CSeq counter, see leg.)
func (sw *Switch) transact(ctx context.Context, req *sip.Request, onProv func(*sip.Response)) (*sip.Response, error) {
	tx, err := sw.cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSIP, req.Method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				if onProv != nil {
					onProv(res)
				}
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, sipFailure(req.Method, tx.Err())
		case <-ctx.Done():
			return nil, sipFailure(req.Method, ctx.Err())
		}
	}
}

// sipFailure wraps a transaction's end without a final response: a timeout
// (RFC 3261 §17.1.1.2 Timer B, §17.1.2.2 Timer F) is also ErrNoResponse.
func sipFailure(method sip.RequestMethod, err error) error {
	if errors.Is(err, sip.ErrTransactionTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w: %s: %w", ErrSIP, ErrNoResponse, method, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrSIP, method, err)
}

// request sends an in-dialog non-INVITE request (BYE, INFO, NOTIFY) and
// returns the final response; a non-2xx answer is an error.
func (l *leg) request(ctx context.Context, method sip.RequestMethod, ct string, body []byte, hdrs ...sip.Header) (*sip.Response, error) {
	l.mu.Lock()
	req := l.newRequest(method, l.nextCSeq())
	l.mu.Unlock()
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	setBody(req, ct, body)
	ctx, cancel := context.WithTimeout(ctx, sip.Timer_F)
	defer cancel()
	res, err := l.sw.transact(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	if !res.IsSuccess() {
		return res, &StatusError{Method: string(method), Code: res.StatusCode, Reason: res.Reason}
	}
	return res, nil
}

// errCancelled marks an INVITE the switch cancelled itself.
var errCancelled = errors.New("cancelled by the switch")

func cancelErr(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errCancelled
}

// inviteResult is the outcome of an initial INVITE we placed.
type inviteResult struct {
	res *sip.Response // final response (nil on transport error / timeout)
	err error
}

// placeInvite sends the leg's initial INVITE (RFC 3261 §13.2.1) with the
// given body and extra headers and waits for the final response. onProv
// sees every provisional response. Until the final response the leg can be
// cancelled with cancelPending (RFC 3261 §9.1); an INVITE nobody responds to
// within Config.SetupTimeout is abandoned. A 2xx confirms the dialog; the
// caller must then ACK with ack.
//
// Not DialogClientSession.WaitAnswer: its CANCEL loses the INVITE's
// destination (phones are reached at their registration's source address)
// and it gives up after 10 responses.
func (l *leg) placeInvite(ctx context.Context, body []byte, hdrs []Header, onProv func(*sip.Response)) inviteResult {
	defer close(l.inviteDone)
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		cancel(nil)
		return inviteResult{err: errCancelled}
	}
	req := sip.NewRequest(sip.INVITE, l.remoteTarget)
	req.AppendHeader(l.fromHeader())
	req.AppendHeader(&sip.ToHeader{Address: l.remoteURI})
	cid := sip.CallIDHeader(l.callID)
	req.AppendHeader(&cid)
	l.inviteSeq = l.nextCSeq()
	req.AppendHeader(&sip.CSeqHeader{SeqNo: l.inviteSeq, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range l.routes { // a preloaded route set: the phone's Path
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.AppendHeader(l.sw.contact(l.transport))
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.AppendHeader(sip.NewHeader("User-Agent", l.sw.cfg.UserAgent))
	for _, h := range hdrs {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	if len(body) > 0 {
		body = l.origin.stamp(body)
		l.localSDP = body
	}
	setBody(req, "application/sdp", body)
	l.address(req)
	l.invite = req
	l.cancelInvite = func() { cancel(errCancelled) }
	l.abandonInvite = func() { cancel(errLegLost) }
	l.mu.Unlock()
	defer cancel(nil)

	tx, err := l.sw.cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return inviteResult{err: fmt.Errorf("%w: INVITE: %w", ErrSIP, err)}
	}
	defer tx.Terminate()

	clk := l.sw.cfg.Clock
	setup := clk.NewTimer(l.sw.cfg.SetupTimeout)
	defer setup.Stop()
	cancelled := false
	done := ctx.Done()
	// After our CANCEL, the 487 (or a crossing 2xx) is awaited on the INVITE
	// transaction, bounded by Timer B in case the device never answers it.
	var cancelWait <-chan time.Time
	for {
		select {
		case res := <-tx.Responses():
			setup.Stop()
			if res.IsProvisional() {
				if res.StatusCode > 100 {
					l.mu.Lock()
					if tag, ok := res.To().Params.Get("tag"); ok {
						l.remoteTag = tag // early dialog (RFC 3261 §12.1.2)
					}
					if c := res.Contact(); c != nil {
						l.remoteTarget = c.Address
					}
					l.mu.Unlock()
					if onProv != nil {
						onProv(res)
					}
				}
				continue
			}
			if res.IsSuccess() {
				l.confirm(res)
				if cancelled {
					// CANCEL crossed the 2xx (RFC 3261 §9.1): take the call and hang up.
					var answer []byte
					if len(req.Body()) == 0 {
						answer = sdpBlackHole(res.Body())
					}
					l.ack(answer)
					l.sendBye()
					return inviteResult{res: res, err: cancelErr(ctx)}
				}
			}
			if cancelled {
				return inviteResult{res: res, err: cancelErr(ctx)}
			}
			return inviteResult{res: res}
		case <-tx.Done():
			if cancelled {
				return inviteResult{err: cancelErr(ctx)}
			}
			return inviteResult{err: sipFailure(sip.INVITE, tx.Err())}
		case <-cancelWait:
			return inviteResult{err: cancelErr(ctx)}
		case <-setup.C():
			return inviteResult{err: fmt.Errorf("%w: %w: INVITE: no response in %v: %w", ErrSIP, ErrNoResponse, l.sw.cfg.SetupTimeout, sip.ErrTransactionTimeout)}
		case <-done:
			done = nil
			cancelled = true
			if errors.Is(context.Cause(ctx), errLegLost) {
				// The device stopped answering: no CANCEL and no 487 to wait for.
				return inviteResult{err: errLegLost}
			}
			l.sendCancel(req)
			wait := clk.NewTimer(sip.Timer_B)
			defer wait.Stop()
			cancelWait = wait.C()
		}
	}
}

// sendCancel cancels a pending INVITE (RFC 3261 §9.1): same Request-URI,
// Call-ID, From, To, CSeq number and top Via as the INVITE. (sipgo builds a
// CANCEL only inside WaitAnswer, without the INVITE's destination.)
func (l *leg) sendCancel(inv *sip.Request) {
	cancel := sip.NewRequest(sip.CANCEL, inv.Recipient)
	cancel.AppendHeader(sip.HeaderClone(inv.Via()))
	cancel.AppendHeader(sip.HeaderClone(inv.From()))
	cancel.AppendHeader(sip.HeaderClone(inv.To()))
	cancel.AppendHeader(sip.HeaderClone(inv.CallID()))
	cancel.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	sip.CopyHeaders("Route", inv, cancel)
	cancel.SetBody(nil)
	l.address(cancel)
	ctx, stop := context.WithTimeout(l.sw.ctx, sip.Timer_F)
	tx, err := l.sw.cli.TransactionRequest(ctx, cancel, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil {
		stop()
		l.sw.log.Debug().Err(err).Str("sip_call_id", l.callID).Msg("CANCEL not sent")
		return
	}
	// The CANCEL's own response only ends its transaction (RFC 3261 §9.1).
	l.sw.spawnOrRun(func() {
		defer stop()
		defer tx.Terminate()
		select {
		case <-tx.Responses():
		case <-tx.Done():
		case <-ctx.Done():
		}
	})
}

// cancelPending cancels the leg's INVITE if it is still pending and marks
// the leg ended; it reports whether there was one.
func (l *leg) cancelPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.confirmed || l.ended {
		return false
	}
	if l.cancelInvite == nil {
		// Not sent yet (or a UAS leg): placeInvite will see ended.
		if l.uac {
			l.ended = true
			return true
		}
		return false
	}
	l.ended = true
	l.cancelInvite()
	return true
}

// confirm records the dialog state of a 2xx to our INVITE (RFC 3261 §12.1.2):
// remote tag, remote target and the route set (Record-Route reversed).
func (l *leg) confirm(res *sip.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tag, ok := res.To().Params.Get("tag"); ok {
		l.remoteTag = tag
	}
	if c := res.Contact(); c != nil {
		l.remoteTarget = c.Address
	}
	// The route set is fixed by the first 2xx (RFC 3261 §12.1.2): without
	// Record-Route it is empty, even where a Path was preloaded.
	rr := res.GetHeaders("Record-Route")
	if !l.confirmed {
		l.routes = nil
		for i := len(rr) - 1; i >= 0; i-- {
			l.routes = append(l.routes, rr[i].Value())
		}
	}
	if len(res.Body()) > 0 {
		l.remoteSDP = res.Body()
	}
	l.confirmed = true
	l.sw.saveLeg(l)
}

// ack sends the ACK for the 2xx to our last INVITE (RFC 3261 §13.2.2.4),
// carrying body when the INVITE had no offer. (Not WriteAck: it takes the
// dialog's latest CSeq, not the INVITE's, once an early-dialog NOTIFY/INFO
// went out, sipgo PR #355 open; TestSipgoDialogACKCSeq.)
func (l *leg) ack(body []byte) {
	l.mu.Lock()
	req := l.newRequest(sip.ACK, l.inviteSeq)
	if len(body) > 0 {
		body = l.origin.stamp(body)
		l.localSDP = body
	}
	l.mu.Unlock()
	setBody(req, "application/sdp", body)
	if err := l.sw.cli.WriteRequest(req, sipgo.ClientRequestAddVia); err != nil {
		l.sw.log.Warn().Err(err).Str("sip_call_id", l.callID).Msg("ACK not sent")
	}
}

// bye ends the dialog (RFC 3261 §15.1.1) if it is confirmed, and forgets
// the leg. It is idempotent. (Not Dialog*Session.Bye: its CSeq would come
// from the session's counter, below our re-INVITEs; the UAS one also
// ignores target refreshes.)
func (l *leg) bye() {
	l.mu.Lock()
	send := l.confirmed && !l.ended
	l.ended = true
	l.mu.Unlock()
	if send {
		l.sendBye()
	}
	l.sw.forgetLeg(l)
}

func (l *leg) sendBye() {
	ctx, cancel := context.WithTimeout(l.sw.ctx, sip.Timer_F)
	defer cancel()
	if _, err := l.request(ctx, sip.BYE, "", nil); err != nil {
		l.sw.log.Debug().Err(err).Str("sip_call_id", l.callID).Msg("BYE failed")
	}
}

// reInvite sends an in-dialog INVITE with body (an offer, or nil to ask the
// device for one) and returns the device's 2xx. If body was an offer the
// ACK is sent here; otherwise the caller sends it with the answer
// (RFC 3725 flow I). A 491 (RFC 3261 §14.1) is retried once. (sipgo's
// dialog sessions have no re-INVITE: sipgo #134, #172.)
func (l *leg) reInvite(ctx context.Context, body []byte) (*sip.Response, error) {
	l.reinvite.Lock()
	defer l.reinvite.Unlock()
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		if l.ended || !l.confirmed {
			l.mu.Unlock()
			return nil, fmt.Errorf("%w: re-INVITE on a dialog that is not confirmed", ErrInvalidState)
		}
		l.inviteSeq = l.nextCSeq()
		req := l.newRequest(sip.INVITE, l.inviteSeq)
		req.AppendHeader(sip.NewHeader("Allow", allowMethods))
		sent := body
		if len(body) > 0 {
			sent = l.origin.stamp(body)
		}
		l.mu.Unlock()
		setBody(req, "application/sdp", sent)
		tctx, cancel := context.WithTimeout(ctx, sip.Timer_B)
		res, err := l.sw.transact(tctx, req, nil)
		cancel()
		if err != nil {
			return nil, err
		}
		if res.StatusCode == sip.StatusRequestPending && attempt == 0 {
			if err := clock.Sleep(ctx, l.sw.cfg.Clock, glareWait(l.uac)); err != nil {
				return nil, fmt.Errorf("%w: re-INVITE retry after 491: %w", ErrSIP, err)
			}
			continue
		}
		if !res.IsSuccess() {
			return res, &StatusError{Method: "re-INVITE", Code: res.StatusCode, Reason: res.Reason}
		}
		l.mu.Lock()
		if len(sent) > 0 {
			l.localSDP = sent
		}
		if len(res.Body()) > 0 {
			l.remoteSDP = res.Body()
		}
		if c := res.Contact(); c != nil {
			l.remoteTarget = c.Address
		}
		if l.saved {
			l.sw.saveLeg(l) // the target refresh and the CSeq (RFC 3261 §12.2.1.2)
		}
		l.mu.Unlock()
		if len(body) > 0 {
			l.ack(nil)
		}
		return res, nil
	}
}

// respond sends a response to the leg's pending initial INVITE (UAS legs).
// A 2xx carries body and our Contact and is retransmitted until the ACK
// arrives (RFC 3261 §13.3.1.4). It reports whether the response was sent.
func (l *leg) respond(code int, reason string, body []byte, hdrs ...sip.Header) error {
	l.mu.Lock()
	if l.inviteTx == nil || l.finalSent == nil {
		l.mu.Unlock()
		return fmt.Errorf("%w: no pending INVITE", ErrInvalidState)
	}
	if l.answering {
		l.mu.Unlock()
		return fmt.Errorf("%w: INVITE already answered", ErrInvalidState)
	}
	res := sip.NewResponseFromRequest(l.inviteReq, code, reason, nil)
	if code > 100 {
		res.To().Params.Add("tag", l.localTag)
	}
	if code >= 200 && code < 300 {
		res.AppendHeader(l.sw.contact(l.transport))
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
		if len(body) > 0 {
			body = l.origin.stamp(body)
			l.localSDP = body
		}
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	setBody(res, "application/sdp", body)
	tx := l.inviteTx
	final := code >= 200
	if final {
		if l.answering {
			l.mu.Unlock()
			return fmt.Errorf("%w: INVITE already answered", ErrInvalidState)
		}
		l.answering = true
		if code < 300 {
			l.confirmed = true
			l.sw.saveLeg(l)
		} else {
			l.ended = true
		}
	}
	l.mu.Unlock()

	// finalSent is closed only after the final response went out: the
	// INVITE handler returns on it and sipgo then ends the transaction.
	sent := func() {
		if final {
			close(l.finalSent)
		}
	}
	if code >= 200 && code < 300 {
		return l.sw.respond2xx(tx, l.inviteReq, res, sent)
	}
	err := tx.Respond(res)
	sent()
	if err != nil {
		return fmt.Errorf("%w: respond %d: %w", ErrSIP, code, err)
	}
	return nil
}

// respond2xx sends a 2xx to an INVITE and retransmits it (T1 doubling to
// T2) until the ACK arrives or 64*T1 passed (RFC 3261 §13.3.1.4, RFC 6026).
// sent, if not nil, runs once the first copy went out. (Not
// DialogServerSession.WriteResponse, v1.7.2: it jumps from T1 to T2 instead
// of doubling and re-arms its 64*T1 limit at every retransmission;
// TestSipgoDialog2xxRetransmission.)
func (sw *Switch) respond2xx(tx sip.ServerTransaction, req *sip.Request, res *sip.Response, sent func()) error {
	key := ackKey(req.CallID().Value(), req.CSeq().SeqNo)
	ch := make(chan struct{})
	sw.acksMu.Lock()
	sw.acks[key] = ch
	sw.acksMu.Unlock()
	defer func() {
		sw.acksMu.Lock()
		delete(sw.acks, key)
		sw.acksMu.Unlock()
	}()
	err := tx.Respond(res)
	if sent != nil {
		sent()
	}
	if err != nil {
		return fmt.Errorf("%w: respond 2xx: %w", ErrSIP, err)
	}
	interval := sip.T1
	retransmit := sw.cfg.Clock.NewTimer(interval)
	defer retransmit.Stop()
	giveUp := sw.cfg.Clock.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	reliable := sip.IsReliable(req.Transport())
	for {
		select {
		case <-ch:
			return nil
		case <-retransmit.C():
			if !reliable {
				_ = tx.Respond(res)
			}
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		case <-giveUp.C():
			return fmt.Errorf("%w: no ACK for 2xx", ErrSIP)
		case <-sw.ctx.Done():
			return ErrClosed
		}
	}
}

// glareWait is how long to wait before retrying an INVITE that got a 491
// (RFC 3261 §14.1): 2.1 to 4 s in units of 10 ms if we chose the dialog's
// Call-ID (we placed the leg), 0 to 2 s otherwise.
func glareWait(ownsCallID bool) time.Duration {
	if ownsCallID {
		return time.Duration(210+rand.IntN(400-210+1)) * 10 * time.Millisecond
	}
	return time.Duration(rand.IntN(200+1)) * 10 * time.Millisecond
}

func ackKey(callID string, seq uint32) string { return fmt.Sprintf("%s %d", callID, seq) }

// markEnded marks the dialog gone without sending anything (the device
// sent BYE, or the leg failed).
func (l *leg) markEnded() {
	l.mu.Lock()
	l.ended = true
	l.confirmed = false
	l.mu.Unlock()
}

// sdp returns the device's latest description.
func (l *leg) sdp() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remoteSDP
}

// state returns whether the dialog is confirmed and whether it ended.
func (l *leg) state() (confirmed, ended bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.confirmed, l.ended
}

const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, UPDATE"
