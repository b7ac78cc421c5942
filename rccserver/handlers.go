package rccserver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
)

// onInvite opens a session (ECMA TR/87 §7.1): an INVITE whose body is
// RequestSystemStatus, answered 200 with RequestSystemStatusResponse. An
// INVITE inside a known dialog is a refresh.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReInvite(req, tx)
		return
	}
	log := s.log.With().Str("call_id", req.CallID().Value()).Str("peer", req.Source()).Str("user", req.From().Address.String()).Logger()
	if !s.cfg.ownsDomain(req.Recipient.Host) {
		log.Warn().Str("code", string(CodeUnknownLineServer)).Str("request_uri", req.Recipient.String()).Msg("INVITE for a domain that is not ours")
		s.refuse(req, tx, sip.StatusNotFound, CodeUnknownLineServer, "no RCC line server at "+req.Recipient.Host)
		return
	}
	if !isCSTA(req) {
		log.Warn().Str("code", string(CodeUnsupportedMedia)).Str("content_type", contentType(req)).Msg("INVITE without a CSTA body")
		s.unsupportedMedia(req, tx)
		return
	}
	msg, err := csta.Decode(req.Body())
	rss, ok := msg.(*csta.RequestSystemStatus)
	if err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("body is %s, not RequestSystemStatus", msg.Root())
		}
		log.Warn().Err(err).Str("code", string(CodeBadRequest)).Msg("INVITE body refused")
		s.refuse(req, tx, sip.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	interval, ok := s.negotiateInterval(req, tx, log)
	if !ok {
		return
	}
	line := ""
	if rss.Extensions != nil {
		line = rss.Extensions.Line
	}
	log = log.With().Str("line", line).Logger()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	grant, err := s.admission.Admit(ctx, AdmitRequest{
		User: req.From().Address.String(), Line: line, LineServer: req.Recipient.String(),
		Peer: req.Source(), CallID: req.CallID().Value(),
	})
	cancel()
	if err != nil {
		if r, ok := errAs[*Refusal](err); ok {
			log.Warn().Str("code", string(r.Code)).Int("status", r.Status).Str("reason", r.Reason).Str("detail", r.Detail).Msg("sign-in refused")
			s.refuse(req, tx, r.Status, r.Code, r.Reason)
			return
		}
		log.Error().Err(err).Str("code", string(CodeInternal)).Msg("admission failed")
		s.refuse(req, tx, sip.StatusInternalServerError, CodeInternal, "admission failed")
		return
	}

	dlg, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		log.Warn().Err(err).Str("code", string(CodeBadRequest)).Msg("INVITE cannot start a dialog")
		s.refuse(req, tx, sip.StatusBadRequest, CodeBadRequest, err.Error())
		if grant.Release != nil {
			grant.Release()
		}
		return
	}
	sess := &Session{
		srv: s, dlg: dlg, id: dlg.ID, callID: req.CallID().Value(), peer: req.Source(),
		user: req.From().Address.String(), line: line, lineServer: req.Recipient.String(), contact: s.contactOf(req), grant: grant,
		log: log, inviteCSeq: req.CSeq().SeqNo, acked: make(chan struct{}),
	}
	sess.ctx, sess.cancel = context.WithCancelCause(context.Background())
	// In the table before the 200 goes out: an INFO may overtake the ACK.
	// Until the ACK, the dialog is also kept in awaiting, where its ACK
	// finds it even if the session ended meanwhile (e.g. shutdown).
	s.addSession(sess)
	s.awaiting.Store(sess.id, sess)
	defer s.awaiting.Delete(sess.id)
	if s.closing.Load() {
		sess.confirm(false)
		sess.end(ErrShutdown, false)
		s.respond(req, tx, sip.StatusServiceUnavailable, "Shutting Down")
		return
	}
	sess.refresh(interval)

	body, err := csta.Encode(&csta.RequestSystemStatusResponse{SystemStatus: grant.Status})
	if err != nil {
		sess.confirm(false)
		sess.end(err, false)
		s.respond(req, tx, sip.StatusInternalServerError, "Internal Error")
		return
	}
	ev := log.Info().Str("status", grant.Status.String()).Dur("session_expires", interval)
	if grant.Code != "" {
		ev = ev.Str("code", string(grant.Code))
		s.metrics.refusals.inc(string(grant.Code))
	}
	ev.Msg("session accepted")
	// Respond waits for the ACK (retransmitting the 2xx, RFC 3261 §13.3.1.4).
	err = dlg.Respond(sip.StatusOK, "OK", body, s.sessionHeaders(sess, interval, true)...)
	if err == nil {
		sess.keepRoute(req, dlg.InviteResponse)
	}
	sess.confirm(err == nil)
	if err != nil {
		log.Warn().Err(err).Msg("200 OK not acknowledged")
		sess.end(fmt.Errorf("%w: %w", ErrNoACK, err), false)
		return
	}
	sess.scheduleKeepAlive()
	sess.persist()
}

// onReInvite is a refresh (older clients re-INVITE with the same
// RequestSystemStatus every 10 minutes, docs/protocol.md "Session refresh"):
// 200 with
// RequestSystemStatusResponse and a new Session-Expires.
func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	sess, code := s.match(req)
	if sess == nil {
		s.unknownDialog(req, tx, code)
		return
	}
	if err := sess.checkCSeq(req); err != nil {
		sess.log.Warn().Err(err).Msg("re-INVITE out of order")
		s.respond(req, tx, sip.StatusInternalServerError, "CSeq Out of Order")
		return
	}
	var body []byte
	if len(req.Body()) > 0 {
		if !isCSTA(req) {
			s.unsupportedMedia(req, tx)
			return
		}
		msg, err := csta.Decode(req.Body())
		if _, ok := msg.(*csta.RequestSystemStatus); err != nil || !ok {
			sess.log.Warn().Err(err).Str("code", string(CodeBadRequest)).Msg("re-INVITE body refused")
			s.refuse(req, tx, sip.StatusBadRequest, CodeBadRequest, "re-INVITE body must be RequestSystemStatus")
			return
		}
		body, _ = csta.Encode(&csta.RequestSystemStatusResponse{SystemStatus: sess.grant.Status})
	}
	interval, ok := s.negotiateInterval(req, tx, sess.log)
	if !ok {
		return
	}
	sess.refresh(interval)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	for _, h := range s.sessionHeaders(sess, interval, body != nil) {
		res.AppendHeader(h)
	}
	sess.addDialogRoute(req, res)
	if err := tx.Respond(res); err != nil {
		sess.log.Warn().Err(err).Msg("re-INVITE answer not sent")
		return
	}
	sess.log.Debug().Dur("session_expires", interval).Msg("session refreshed by re-INVITE")
}

// onUpdate is the refresh of Communicator 2007 R2 and later (every 25
// minutes, docs/protocol.md "Session refresh"): 200 with a new
// Session-Expires, no body.
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	sess, code := s.match(req)
	if sess == nil {
		s.unknownDialog(req, tx, code)
		return
	}
	if err := sess.checkCSeq(req); err != nil {
		sess.log.Warn().Err(err).Msg("UPDATE out of order")
		s.respond(req, tx, sip.StatusInternalServerError, "CSeq Out of Order")
		return
	}
	interval, ok := s.negotiateInterval(req, tx, sess.log)
	if !ok {
		return
	}
	sess.refresh(interval)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, h := range s.sessionHeaders(sess, interval, false) {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		sess.log.Warn().Err(err).Msg("UPDATE answer not sent")
		return
	}
	sess.log.Debug().Dur("session_expires", interval).Msg("session refreshed by UPDATE")
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	sess, _ := s.match(req)
	if sess == nil {
		if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
			if v, ok := s.awaiting.Load(id); ok && s.mayCarry(v.(*Session).peer, req.Source()) {
				sess = v.(*Session)
			}
		}
	}
	if sess != nil {
		// The ACK of a re-INVITE's 200 does not match the INVITE's CSeq;
		// ReadAck refuses it harmlessly. Once the 200 is acknowledged the
		// session no longer holds sipgo's dialog, and ACKs need nothing.
		sess.mu.Lock()
		dlg := sess.dlg
		sess.mu.Unlock()
		if dlg != nil {
			_ = dlg.ReadAck(req, tx)
		}
	}
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	sess, code := s.match(req)
	if sess == nil {
		s.unknownDialog(req, tx, code)
		return
	}
	// End first: once the 200 is out the client may close its connection,
	// and the session must not be ended as "connection closed" first.
	sess.end(ErrRemoteBye, false)
	s.respond(req, tx, sip.StatusOK, "OK")
}

// onOptions answers capability probes, in or out of a dialog: load
// balancers in front of a server pair probe with OPTIONS.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	res.AppendHeader(sip.NewHeader("Accept", csta.ContentType))
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	_ = tx.Respond(res)
}

// negotiateInterval applies RFC 4028: the client's Session-Expires, capped
// by ours; below our Min-SE it gets 422 with Min-SE (§6).
func (s *Server) negotiateInterval(req *sip.Request, tx sip.ServerTransaction, log zerolog.Logger) (time.Duration, bool) {
	interval := s.cfg.SessionExpires
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h != nil {
		v, _, _ := strings.Cut(h.Value(), ";")
		secs, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || secs <= 0 {
			s.refuse(req, tx, sip.StatusBadRequest, CodeBadRequest, "bad Session-Expires")
			return 0, false
		}
		asked := time.Duration(secs) * time.Second
		if asked < s.cfg.MinSE {
			log.Warn().Str("code", string(CodeSessionIntervalLow)).Dur("asked", asked).Msg("Session-Expires below Min-SE")
			res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
			res.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE/time.Second))))
			_ = tx.Respond(res)
			return 0, false
		}
		interval = min(interval, asked)
	}
	return interval, true
}

// sessionHeaders are the headers of a 200 that establishes or refreshes the
// session (docs/protocol.md "Sign-in: the INVITE"; RFC 4028 §9: Require: timer
// with refresher=uac).
func (s *Server) sessionHeaders(sess *Session, interval time.Duration, withBody bool) []sip.Header {
	contact := sess.contact
	hs := []sip.Header{
		&contact,
		sip.NewHeader("Allow", allowed),
		sip.NewHeader("Supported", "timer"),
		sip.NewHeader("Require", "timer"),
		sip.NewHeader("Session-Expires", strconv.Itoa(int(interval/time.Second))+";refresher=uac"),
	}
	if withBody {
		ct := sip.ContentTypeHeader(csta.ContentType)
		hs = append(hs, &ct, sip.NewHeader("Content-Disposition", "signal;handling=required"))
	}
	return hs
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, status int, reason string) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, status, reason, nil))
}

// refuse answers with status, the log code as reason phrase, and a Warning
// header naming the code and why, so the client sees what the log says.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction, status int, code LogCode, why string) {
	s.metrics.refusals.inc(string(code))
	res := sip.NewResponseFromRequest(req, status, string(code), nil)
	res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("399 rccserver %q", string(code)+": "+why)))
	_ = tx.Respond(res)
}

func (s *Server) unsupportedMedia(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
	res.AppendHeader(sip.NewHeader("Accept", csta.ContentType))
	_ = tx.Respond(res)
}

// unknownDialog answers 481 (RFC 3261 §12.2.2) for a dialog we do not
// have, or one that lives on another connection (code says which).
func (s *Server) unknownDialog(req *sip.Request, tx sip.ServerTransaction, code LogCode) {
	ev := s.log.Info()
	if code == CodeDialogElsewhere {
		s.metrics.refusals.inc(string(code))
		ev = s.log.Warn()
	}
	ev.Str("code", string(code)).Str("method", string(req.Method)).
		Str("call_id", req.CallID().Value()).Str("peer", req.Source()).Msg("request in unknown dialog")
	s.respond(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

func contentType(req *sip.Request) string {
	if ct := req.ContentType(); ct != nil {
		return ct.Value()
	}
	return ""
}

// isCSTA reports whether the body is application/csta+xml (parameters allowed).
func isCSTA(req *sip.Request) bool {
	mt, _, _ := strings.Cut(contentType(req), ";")
	return strings.EqualFold(strings.TrimSpace(mt), csta.ContentType)
}
