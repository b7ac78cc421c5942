package rccserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// sendInDialog sends a request we originate in s's dialog and waits for its
// final response (BYE uses it; events and keep-alives are pipelined, see
// Session.drain).
func (srv *Server) sendInDialog(s *Session, method sip.RequestMethod, cseq uint32, body []byte) error {
	tx, err := srv.startInDialog(s, method, cseq, body)
	if err != nil {
		return err
	}
	defer tx.Terminate()
	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.RequestTimeout)
	defer cancel()
	return awaitFinal(ctx, method, tx, nil)
}

// startInDialog builds a request we originate in s's dialog and writes it.
// It builds the request per RFC 3261 §12.2.1.1 — Request-URI the client's
// Contact, Route the INVITE's Record-Route set in order, our own CSeq — and
// pins it to the connection the INVITE arrived on. sipgo's dlg.Do would open
// a new connection when the dialog is record-routed (sipgo issue #361); a
// Lync front end expects our requests back on its own connection.
//
// sipgo writes the request before it returns the transaction, so requests
// started one after another leave on the connection in that order.
func (srv *Server) startInDialog(s *Session, method sip.RequestMethod, cseq uint32, body []byte) (sip.ClientTransaction, error) {
	if srv.acting != nil && !srv.acting() {
		return nil, fmt.Errorf("%s: %w", method, ErrNotActing)
	}
	s.mu.Lock()
	r := s.route // set before anything may leave (confirm); an adopted session's connection may change (repin)
	s.mu.Unlock()
	target, err := r.requestURI()
	if err != nil { // rendered from a parsed URI that parses back (newDialogRoute)
		return nil, fmt.Errorf("%s: remote target %q: %w", method, r.target, err)
	}
	req := sip.NewRequest(method, target)
	// From and To as the text the INFO table writes; sipgo parses them if
	// it needs them (lazily, sip.headers.From).
	callID := sip.CallIDHeader(s.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(sip.NewHeader("From", r.from()))
	req.AppendHeader(sip.NewHeader("To", r.to()))
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	req.AppendHeader(&maxFwd)
	for _, rr := range r.routes {
		req.AppendHeader(sip.NewHeader("Route", rr))
	}
	contact := s.contact
	req.AppendHeader(&contact)
	if body != nil {
		ct := sip.ContentTypeHeader(csta.ContentType)
		req.AppendHeader(&ct)
		req.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	}
	req.SetBody(body)
	req.SetTransport(r.transport)
	req.SetDestination(r.dest)

	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.RequestTimeout)
	defer cancel()
	tx, err := srv.cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		// The request could not be written: the connection is gone.
		return nil, fmt.Errorf("%s: %w: %w", method, ErrTransport, err)
	}
	return tx, nil
}

// awaitFinal waits for tx's final response until ctx ends or stop closes
// (nil: never). A transport failure of the transaction wraps ErrTransport.
func awaitFinal(ctx context.Context, method sip.RequestMethod, tx sip.ClientTransaction, stop <-chan struct{}) error {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return answerError(method, res)
		case <-tx.Done():
			if err := tx.Err(); errors.Is(err, sip.ErrTransactionTransport) {
				return fmt.Errorf("%s: %w: %w", method, ErrTransport, err)
			}
			return fmt.Errorf("%s: %w: %w", method, ErrNoAnswer, tx.Err())
		case <-ctx.Done():
			return fmt.Errorf("%s: %w: %w", method, ErrNoAnswer, ctx.Err())
		case <-stop:
			return errStopped
		}
	}
}

// answerError turns a final response into nil (2xx) or a *RejectedError.
func answerError(method sip.RequestMethod, res *sip.Response) error {
	if res.IsSuccess() {
		return nil
	}
	return &RejectedError{Method: method, Status: res.StatusCode, Reason: res.Reason}
}

// RejectedError is a non-2xx final answer to a request we sent.
type RejectedError struct {
	Method sip.RequestMethod
	Status int
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.Method, e.Status, e.Reason)
}

// dialogGone reports whether the answer says the dialog no longer exists at
// the client: 481 (RFC 3261 §12.2.2). A 408 is not that: it is a proxy or
// the client's transaction layer saying nobody answered in time
// (RFC 3261 §16.7, §17.1.2.2), which on a healthy connection means a client
// that does not answer INFOs, not a dead session.
func (e *RejectedError) dialogGone() bool {
	return e.Status == sip.StatusCallTransactionDoesNotExists
}

// timedOut reports whether the answer is a 408 Request Timeout.
func (e *RejectedError) timedOut() bool { return e.Status == sip.StatusRequestTimeout }
