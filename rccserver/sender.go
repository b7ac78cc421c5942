package rccserver

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// sendInDialog sends a request we originate in s's dialog and waits for its
// final response. It builds the request per RFC 3261 §12.2.1.1 — Request-URI
// the client's Contact, Route the INVITE's Record-Route set in order, our own
// CSeq — and pins it to the connection the INVITE arrived on. sipgo's
// dlg.Do would open a new connection when the dialog is record-routed
// (sipgo issue #361, go-ecosystem §1.4); a Lync front end expects our
// requests back on its own connection.
func (srv *Server) sendInDialog(s *Session, method sip.RequestMethod, cseq uint32, body []byte) error {
	inv := s.dlg.InviteRequest
	req := sip.NewRequest(method, inv.Contact().Address)
	from := s.dlg.InviteResponse.To().AsFrom() // carries our To-tag
	to := inv.From().AsTo()
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	req.AppendHeader(&maxFwd)
	for _, rr := range inv.GetHeaders("Record-Route") {
		req.AppendHeader(sip.NewHeader("Route", rr.Value()))
	}
	contact := s.contact
	req.AppendHeader(&contact)
	if body != nil {
		ct := sip.ContentTypeHeader(csta.ContentType)
		req.AppendHeader(&ct)
		req.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	}
	req.SetBody(body)
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Source())

	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.RequestTimeout)
	defer cancel()
	tx, err := srv.cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return answerError(method, res)
		case <-tx.Done():
			return fmt.Errorf("%s: %w", method, tx.Err())
		case <-ctx.Done():
			return fmt.Errorf("%s: no final response: %w", method, ctx.Err())
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

// endsDialog reports whether the answer means the dialog is gone: 408 and
// 481 (RFC 3261 §12.2.1.2), which the guide's keep-alive treats as fatal.
func (e *RejectedError) endsDialog() bool {
	return e.Status == sip.StatusRequestTimeout || e.Status == sip.StatusCallTransactionDoesNotExists
}
