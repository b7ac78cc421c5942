package sipedge

import (
	"bytes"
	"io"
	"time"
)

// Answer is a response on a stream connection that the edge recognised as
// an answer to one of the server's own requests (Options.Answers): the
// fields a client transaction matches on (RFC 3261 §17.1.3), scanned from
// the framed bytes. The byte slices point into the read buffer and are
// valid only during the call.
type Answer struct {
	Status int
	Reason []byte
	Branch []byte // the top Via's branch
	CallID []byte
	CSeq   uint32 // its method is INFO
	Source string // the connection's remote address, as sipgo names it
}

// Answers hands the answers to the server's own INFOs to their table
// without sipgo's parse and transaction lookup.
type Answers struct {
	// Branch is the prefix of the Via branches of those INFOs.
	Branch string
	// Take is given each response whose top Via branch has the prefix; it
	// reports whether it took it. One it does not take goes to sipgo.
	Take func(*Answer) bool
	// Due, if set, reports how many bytes of answers to those INFOs are
	// due soon on the connection to remote (a lower bound; 0: none), and
	// for how long they are worth waiting for. Over TCP the edge then has
	// the kernel wake its reader once that many bytes are in, instead of
	// at each answer (coalesce.go).
	Due func(remote string) (bytes int, within time.Duration)
}

// Requests offers in-dialog INFO requests on stream connections to the
// server before sipgo: Take is given each framed INFO that passed the
// edge's checks, the connection's remote address, and the connection to
// write the answer on (whole buffers, safe beside sipgo's writes). It
// reports whether it took the request; one it does not take goes to sipgo.
// msg is valid only during the call.
type Requests struct {
	Take func(msg []byte, source string, w io.Writer) bool
}

// scanAnswer fills a from head, the header lines (each with its CRLF) of
// a stream message, if it is a response to an INFO whose top Via branch
// starts with prefix, in the plain shape of plainHead, with one Call-ID,
// one CSeq and one Content-Length; it returns the body's length. Anything
// else returns false and goes to the framer and sipgo as before. One walk
// over the lines (scanHead) serves the framing, the plain-shape check and
// the scan. It allocates nothing. Hand-written because sipgo's parser
// builds the whole message.
func scanAnswer(head, prefix []byte, a *Answer) (length int, ok bool) {
	var h headScan
	if len(head) < 8 || head[0] != 'S' || !scanHead(head, &h) || h.isReq || !h.complete() || h.repeated || h.length < 0 ||
		h.status < 100 || h.status >= 700 || !bytes.Equal(h.cseqMethod, []byte("INFO")) {
		return 0, false
	}
	b, ok := viaBranch(h.topVia)
	if !ok || !bytes.HasPrefix(b, prefix) {
		return 0, false // not ours: sipgo's transactions may know it
	}
	a.Status, a.Reason, a.Branch, a.CallID, a.CSeq = h.status, h.reason, b, h.callID, uint32(h.cseq)
	return h.length, true
}

// viaBranch returns the branch parameter of the first via-parm of a Via
// header value ("SIP/2.0/TCP host:port;branch=z9hG4bK…;rport").
func viaBranch(v []byte) ([]byte, bool) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i] // the first via-parm of the header
	}
	semi := bytes.IndexByte(v, ';')
	if semi < 0 {
		return nil, false
	}
	params := v[semi+1:]
	if hasBlank(params) {
		return nil, false // sipgo keeps some of that space in values: leave it to sipgo
	}
	for len(params) > 0 {
		p := params
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			params = nil
		}
		name, val, ok := bytes.Cut(p, []byte("="))
		if !ok || !bytes.Equal(name, []byte("branch")) { // sipgo matches the name case-sensitively
			continue
		}
		return val, len(val) > 0 && len(val) <= 256 && tokenChars(val)
	}
	return nil, false
}

// tokenChars reports whether b holds only RFC 3261 §25.1 token characters.
func tokenChars(b []byte) bool { return all(b, classToken) }
