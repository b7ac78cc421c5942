package rccserver

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/sipedge"
)

// takeInfo is the edge's fast path for the requests that are most of the
// traffic: a CSTA INFO in a confirmed dialog on its own stream connection
// (sipedge.Requests). It runs on the connection's reader; it checks what
// onInfo and inOrder check, and if the request is plain, records its
// arrival in the dialog's order and hands it to a worker, which decodes,
// handles and writes the answer's bytes on the connection. No sipgo server
// transaction is made: over a reliable transport a non-INVITE server
// transaction absorbs no retransmissions (RFC 3261 §17.2.2), so it would
// only cost its goroutine, timer and context. Anything not plain (unknown
// dialog, another connection's dialog, a CSeq before the INVITE's, a body
// that is not CSTA, shutdown) returns false and takes the sipgo path,
// which refuses it with the usual answer and log code.
func (s *Server) takeInfo(msg []byte, src string, w io.Writer) bool {
	s.handlers.add() // before closing is read: shutdown waits for us, or we see it
	taken := false
	defer func() {
		if r := recover(); r != nil && !taken {
			// On the reader a panic would end the process: log the bug and
			// let sipgo's path (with its own recovery) have the request.
			s.metrics.refusals.inc(string(CodeInternal))
			s.log.Error().Str("code", string(CodeInternal)).Str("peer", src).Str("panic", fmt.Sprint(r)).
				Str("stack", string(debug.Stack())).Msg("bug: the edge's INFO path panicked")
		} else if r != nil {
			panic(r)
		}
		if !taken {
			s.handlers.done()
		}
	}()
	if s.closing.Load() {
		return false
	}
	req, _, err := s.parser.Parse(msg, true)
	if err != nil {
		return false
	}
	r, ok := req.(*sip.Request)
	if !ok || r.Method != sip.INFO || sipedge.MissingHeader(r) != "" || !isCSTA(r) {
		return false
	}
	r.SetSource(src)
	id, err := sip.DialogIDFromRequestUAS(r)
	if err != nil {
		return false
	}
	s.mu.RLock()
	sess := s.sessions[id]
	s.mu.RUnlock()
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	plain := sess.confirmed && !sess.ended && !sess.adopted && sess.peer == src
	r.SetTransport(sess.route.transport)
	sess.mu.Unlock()
	if !plain || sess.checkCSeq(r) != nil {
		return false
	}
	seq := r.CSeq().SeqNo
	sess.arriveTurn(seq) // on the reader: the dialog's order is the wire's
	s.metrics.requests.Add(1)
	sess.beginRequest()
	taken = true
	s.fastInfos.Add(1)
	s.workers.spawn(func() {
		defer s.handlers.done()
		defer sess.endRequest()
		defer sess.leaveTurn(seq)
		defer s.recoverFast(r, w)
		sess.waitTurn(seq)
		s.answerFast(sess, r, w)
	})
	return true
}

// HandleStream offers msg, one framed message that passed the edge's
// checks, from the stream connection source, to the edge's fast path, as
// the connection's reader does (sipedge.Requests), and reports whether the
// fast path took it; the answer is written on w. For drivers without a
// transport, such as fuzz targets. It waits for Serve to be running.
func (s *Server) HandleStream(msg []byte, source string, w io.Writer) bool {
	<-s.ready
	return bytes.HasPrefix(msg, []byte("INFO ")) && s.takeInfo(msg, source, w)
}

// answerFast is answer with the response's bytes written by hand.
func (s *Server) answerFast(sess *Session, req *sip.Request, w io.Writer) {
	answer := s.dispatch(sess, req.Body())
	body, buf := resBufs.Get().(*bytes.Buffer), resBufs.Get().(*bytes.Buffer)
	defer putBuf(body)
	defer putBuf(buf)
	body.Reset()
	if err := csta.EncodeTo(body, answer); err != nil { // an answer encoded once (csta.Encoded) is only appended
		sess.log.Error().Err(err).Str("code", string(CodeInternal)).Str("answer", answer.Root()).Msg("answer cannot be encoded")
		_ = csta.EncodeTo(body, csta.OperationError(csta.OpGeneric))
	}
	buf.Reset()
	writeResponse(buf, req, sip.StatusOK, "OK", body.Bytes())
	if _, err := w.Write(buf.Bytes()); err != nil {
		sess.log.Warn().Err(err).Msg("INFO answer not sent")
	}
}

// recoverFast is recoverHandler for the fast path: a panic is logged as a
// bug with its stack and answered 500.
func (s *Server) recoverFast(req *sip.Request, w io.Writer) {
	r := recover()
	if r == nil {
		return
	}
	s.logPanic(req, r)
	var buf bytes.Buffer
	writeResponse(&buf, req, sip.StatusInternalServerError, "Internal Error", nil)
	_, _ = w.Write(buf.Bytes())
}

// resBufs hold answers and their bodies while they are written.
var resBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 { // a rare huge answer is not kept
		resBufs.Put(b)
	}
}

// writeResponse writes the response to req that sipgo's
// NewResponseFromRequest builds (RFC 3261 §8.2.6.2: Via, From, To, Call-ID
// and CSeq copied; Record-Route in a 2xx, §12.1.1; rport filled in, RFC
// 3581 §4) straight into buf, with a CSTA body if body is not nil. The To
// of an in-dialog request has its tag already. Hand-written because sipgo
// builds a response header by header and copies the body into a string.
func writeResponse(buf *bytes.Buffer, req *sip.Request, status int, reason string, body []byte) {
	buf.WriteString("SIP/2.0 ")
	buf.WriteString(strconv.Itoa(status))
	buf.WriteByte(' ')
	buf.WriteString(reason)
	buf.WriteString("\r\n")
	if status >= 200 && status < 300 {
		for _, h := range req.GetHeaders("Record-Route") {
			writeHeader(buf, h)
		}
	}
	for i, h := range req.GetHeaders("Via") {
		if v, ok := h.(*sip.ViaHeader); ok && i == 0 {
			if val, exists := v.Params.Get("rport"); exists && val == "" {
				host, port, _ := net.SplitHostPort(req.Source())
				v.Params.Add("rport", port)
				v.Params.Add("received", host)
			}
		}
		writeHeader(buf, h)
	}
	writeHeader(buf, req.From())
	writeHeader(buf, req.To())
	writeHeader(buf, req.CallID())
	writeHeader(buf, req.CSeq())
	if body != nil {
		buf.WriteString("Content-Type: " + csta.ContentType + "\r\nContent-Disposition: signal;handling=required\r\n")
	}
	buf.WriteString("Content-Length: ")
	buf.WriteString(strconv.Itoa(len(body)))
	buf.WriteString("\r\n\r\n")
	buf.Write(body)
}

func writeHeader(buf *bytes.Buffer, h sip.Header) {
	h.StringWrite(buf)
	buf.WriteString("\r\n")
}
