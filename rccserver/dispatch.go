package rccserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// RequestError is a handler's refusal of a CSTA request: the CSTAErrorCode
// the client receives and the log code written for it (docs/troubleshooting.md "What the client receives").
type RequestError struct {
	Code   LogCode
	Answer *csta.CSTAErrorCode
	Err    error // detail for the log
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v: %v", e.Code, e.Answer, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Code, e.Answer)
}

func (e *RequestError) Unwrap() error { return e.Err }

// onInfo carries CSTA requests (ECMA TR/87 §7.2): the response goes in the
// body of the 200 OK, positive or CSTAErrorCode (ECMA TR/87 §7.2; docs/protocol.md "Requests, responses and events in INFO"). SIP
// error codes are kept for SIP problems: 481 unknown dialog, 415 wrong body.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	sess, code := s.match(req)
	if sess == nil {
		if s.lateMonitorStop(req, tx) {
			return
		}
		s.unknownDialog(req, tx, code)
		return
	}
	if err := sess.checkCSeq(req); err != nil {
		sess.log.Warn().Err(err).Msg("INFO out of order")
		s.respond(req, tx, sip.StatusInternalServerError, "CSeq Out of Order")
		return
	}
	if !isCSTA(req) {
		sess.log.Warn().Str("code", string(CodeUnsupportedMedia)).Str("content_type", contentType(req)).Msg("INFO without a CSTA body")
		s.unsupportedMedia(req, tx)
		return
	}
	s.metrics.requests.Add(1)
	sess.beginRequest()
	defer sess.endRequest()
	s.workers.run(func() { s.answer(sess, req, tx) })
}

// answer decodes, handles and answers one CSTA request of sess.
func (s *Server) answer(sess *Session, req *sip.Request, tx sip.ServerTransaction) {
	answer := s.dispatch(sess, req.Body())
	body, err := csta.Encode(answer)
	if err != nil {
		sess.log.Error().Err(err).Str("code", string(CodeInternal)).Str("answer", answer.Root()).Msg("answer cannot be encoded")
		body, _ = csta.Encode(csta.OperationError(csta.OpGeneric))
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	ct := sip.ContentTypeHeader(csta.ContentType)
	res.AppendHeader(&ct)
	res.AppendHeader(sip.NewHeader("Content-Disposition", "signal;handling=required"))
	if err := tx.Respond(res); err != nil {
		sess.log.Warn().Err(err).Msg("INFO answer not sent")
	}
}

// dispatch decodes one request and returns the message to answer with. Every
// refusal is logged here, once, with its code.
func (s *Server) dispatch(sess *Session, body []byte) csta.Message {
	msg, err := csta.Decode(body)
	if err != nil {
		s.metrics.byRequest.inc("undecodable bad_request")
		s.metrics.refusals.inc(string(CodeBadRequest))
		answer := decodeAnswer(err)
		sess.log.Warn().Err(err).Str("code", string(CodeBadRequest)).Str("answer", answer.Error()).Msg("CSTA request refused")
		return answer
	}
	switch m := msg.(type) {
	case *csta.SystemStatusMsg:
		// The client reports its own status; acknowledge (docs/protocol.md "System status").
		sess.log.Info().Str("status", m.SystemStatus.String()).Msg("client system status")
		return &csta.SystemStatusResponse{}
	case *csta.RequestSystemStatus:
		return &csta.RequestSystemStatusResponse{SystemStatus: sess.grant.Status}
	}
	if sess.grant.Status != csta.StatusNormal {
		sess.log.Info().Str("code", string(sess.grant.Code)).Str("request", msg.Root()).Msg("request refused: service disabled")
		return csta.ResourceError(csta.ResourceOutOfService)
	}
	start := time.Now()
	resp, err := s.handler.HandleCSTA(sess.ctx, sess, msg)
	result := "ok"
	defer func() {
		s.metrics.requestLatency.observe(time.Since(start))
		s.metrics.byRequest.inc(msg.Root() + " " + result)
	}()
	switch {
	case err == nil && resp != nil:
		return resp
	case err == nil:
		err = errors.New("handler returned no answer")
	}
	result = "csta_error"
	if re, ok := errAs[*RequestError](err); ok {
		s.metrics.refusals.inc(string(re.Code))
		sess.log.Warn().Err(re.Err).Str("code", string(re.Code)).Str("request", msg.Root()).Str("answer", re.Answer.Error()).Msg("CSTA request refused")
		return re.Answer
	}
	if ce, ok := errAs[*csta.CSTAErrorCode](err); ok {
		sess.log.Info().Str("request", msg.Root()).Str("answer", ce.Error()).Msg("CSTA request refused")
		return ce
	}
	result = "internal_error"
	s.metrics.refusals.inc(string(CodeInternal))
	sess.log.Error().Err(err).Str("code", string(CodeInternal)).Str("request", msg.Root()).Msg("CSTA request failed")
	return csta.OperationError(csta.OpGeneric)
}

// decodeAnswer maps a decode failure to its CSTAErrorCode (docs/csta.md).
func decodeAnswer(err error) *csta.CSTAErrorCode {
	switch {
	case errors.Is(err, csta.ErrUnknownRoot):
		return csta.OperationError(csta.OpServiceNotSupported)
	case errors.Is(err, csta.ErrMissingChild):
		return csta.OperationError(csta.OpMissingParameter)
	case errors.Is(err, csta.ErrInvalidValue):
		return csta.OperationError(csta.OpInvalidParameterValue)
	default:
		return csta.OperationError(csta.OpGeneric)
	}
}
