package sipedge

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// verdict is what the edge does with one framed message.
type verdict int

const (
	verdictUnknown verdict = iota
	verdictPass            // a valid message: hand it to sipgo
	verdictRefuse          // consumed; reply (if any) goes back to the sender
	verdictPing            // RFC 5626 §3.5.1 double-CRLF ping: answer CRLF
	verdictClose           // no message boundary can be found any more
	verdictTaken           // consumed by the framer's tap (an answer to our INFO)
)

// outcome is the edge's decision on the next message of a stream or datagram.
type outcome struct {
	verdict verdict
	msg     []byte // verdictPass: the message, valid until the next write
	reply   []byte // verdictRefuse: the answer, or nil (responses, ACK, garbage)
	code    Code
	reason  string
	excerpt []byte // the start of the offending input, for the log
}

var (
	crlf2 = []byte("\r\n\r\n")
	crlf  = []byte("\r\n")
)

// framer splits a byte stream into SIP messages by the blank line and
// Content-Length (RFC 3261 §7.5, §18.3), before sipgo sees them, so that a
// bad message is answered and skipped instead of costing the connection.
type framer struct {
	check *checker
	max   int
	buf   []byte
	off   int // start of unconsumed bytes in buf
	skip  int // body bytes of a refused message still to discard
	// tap, if set, is offered the header lines (each with its CRLF) of
	// each message before anything else reads them. If it would take the
	// message, it returns its body's length, and take is called once the
	// whole message is in; true means it took it. Otherwise the message is
	// framed and checked as any other.
	tap  func(head []byte) (length int, ok bool)
	take func() bool
}

func (f *framer) write(p []byte) {
	if f.off == len(f.buf) {
		f.buf, f.off = f.buf[:0], 0
	} else if f.off > 0 && f.off > len(f.buf)/2 {
		n := copy(f.buf, f.buf[f.off:])
		f.buf, f.off = f.buf[:n], 0
	}
	if f.skip > 0 {
		d := min(f.skip, len(p))
		f.skip -= d
		p = p[d:]
	}
	f.buf = append(f.buf, p...)
}

// partial reports whether part of a message is buffered or being skipped.
// CRLFs waiting to be seen as a ping are not a message.
func (f *framer) partial() bool {
	rest := f.buf[f.off:]
	return f.skip > 0 || (len(rest) > 0 && !(len(rest) < 4 && bytes.HasPrefix(crlf2, rest)))
}

func (f *framer) consume(n int) { f.off += n }

// next returns the next decision, or false if more bytes are needed.
func (f *framer) next() (outcome, bool) {
	data := f.buf[f.off:]
	if len(data) == 0 {
		return outcome{}, false
	}
	// Keep-alives between messages (RFC 5626 §3.5.1): CRLFCRLF is a ping,
	// a lone CRLF a pong or a keep-alive of its own.
	if len(data) < 4 && bytes.HasPrefix(crlf2, data) {
		return outcome{}, false // maybe a ping split across reads
	}
	if bytes.HasPrefix(data, crlf) {
		if bytes.HasPrefix(data, crlf2) {
			f.consume(4)
			return outcome{verdict: verdictPing}, true
		}
		f.consume(2)
		return f.next()
	}
	end := bytes.Index(data, crlf2)
	if end < 0 {
		if len(data) > f.max {
			return outcome{verdict: verdictClose, code: CodeFramingLost, reason: "header block over the size limit", excerpt: data}, true
		}
		return outcome{}, false
	}
	head := data[:end+4]
	if len(head) > f.max {
		return outcome{verdict: verdictClose, code: CodeFramingLost, reason: "header block over the size limit", excerpt: data}, true
	}
	if f.tap != nil {
		if n, ok := f.tap(head[:len(head)-2]); ok && len(head)+n <= f.max {
			if len(data) < len(head)+n {
				return outcome{}, false
			}
			msg := data[:len(head)+n]
			f.consume(len(msg))
			if f.take() {
				return outcome{verdict: verdictTaken}, true
			}
			return f.check.check(msg, true), true
		}
	}
	cl, err := contentLength(head)
	if err != nil {
		return outcome{verdict: verdictClose, code: CodeFramingLost, reason: err.Error(), excerpt: head}, true
	}
	if cl < 0 {
		return outcome{verdict: verdictClose, code: CodeFramingLost, reason: "no Content-Length on a stream transport (RFC 3261 §18.3)", excerpt: head}, true
	}
	total := len(head) + cl
	if total > f.max {
		// Framing is still known: answer, then skip the body without storing it.
		o := outcome{verdict: verdictRefuse, code: CodeTooLarge, excerpt: head,
			reason: fmt.Sprintf("message of %d bytes over the limit of %d", total, f.max)}
		o.reply = rawReply(head, 413, "Request Entity Too Large", string(CodeTooLarge)+": "+o.reason)
		have := min(len(data)-len(head), cl)
		f.consume(len(head) + have)
		f.skip = cl - have
		return o, true
	}
	if len(data) < total {
		return outcome{}, false
	}
	msg := data[:total]
	f.consume(total)
	return f.check.check(msg, true), true
}

// contentLength finds the Content-Length (or compact "l") of a header
// block: -1 if there is none, an error if it is not one decimal number.
func contentLength(head []byte) (int, error) {
	found := -1
	lines := head
	first := true
	for len(lines) > 0 {
		i := bytes.Index(lines, crlf)
		if i < 0 {
			break
		}
		line := lines[:i]
		lines = lines[i+2:]
		if first || len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			first = false
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := trimBlanksRight(line[:colon])
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 || len(v) > 10 {
			return 0, fmt.Errorf("bad Content-Length %q", excerpt(v, 32))
		}
		n, err := strconv.ParseUint(string(v), 10, 31)
		if err != nil {
			return 0, fmt.Errorf("bad Content-Length %q", excerpt(v, 32))
		}
		if found >= 0 && found != int(n) {
			return 0, fmt.Errorf("two different Content-Length values")
		}
		found = int(n)
	}
	return found, nil
}

// Check applies the edge's checks to one complete message (a datagram, or
// a framed stream message): it returns "" if the message may reach sipgo,
// else the refusal's code and the answer to send back (nil for none).
func (e *Edge) Check(msg []byte, stream bool) (Code, []byte) {
	if len(msg) > e.lim.MaxMessageBytes {
		return CodeTooLarge, nil
	}
	o := e.check.check(msg, stream)
	if o.verdict == verdictPass {
		return "", nil
	}
	return o.code, o.reply
}

// checker decides whether a complete message may reach sipgo.
type checker struct {
	parser *sip.Parser
}

// check parses msg as sipgo will and requires the headers RFC 3261 §8.1.1
// makes mandatory, whose absence would otherwise reach the handlers. A
// stream message in the plain shape (plainValid) passes without the parse.
func (c *checker) check(msg []byte, stream bool) outcome {
	if stream && plainValid(msg) {
		return outcome{verdict: verdictPass, msg: msg}
	}
	return c.full(msg, stream)
}

// full is check by sipgo's parser.
func (c *checker) full(msg []byte, stream bool) outcome {
	m, _, err := c.parser.Parse(msg, stream)
	if err != nil {
		reason := "unparseable: " + err.Error()
		return outcome{verdict: verdictRefuse, code: CodeMalformed, reason: reason, excerpt: msg,
			reply: rawReply(msg, 400, "Bad Request", string(CodeMalformed)+": "+reason)}
	}
	switch m := m.(type) {
	case *sip.Request:
		missing := missingHeader(m)
		if missing == "" && m.CSeq().MethodName != m.Method {
			missing = "CSeq method " + string(m.CSeq().MethodName) + " for a " + string(m.Method)
		} else if missing != "" {
			missing = "no " + missing
		}
		if missing == "" {
			return outcome{verdict: verdictPass, msg: msg}
		}
		o := outcome{verdict: verdictRefuse, code: CodeMalformed, reason: missing, excerpt: msg}
		if m.Method != sip.ACK {
			res := sip.NewResponseFromRequest(m, 400, "Bad Request", nil)
			res.AppendHeader(warning(string(CodeMalformed) + ": " + missing))
			o.reply = []byte(res.String())
		}
		return o
	case *sip.Response:
		if missing := missingHeader(m); missing != "" {
			return outcome{verdict: verdictRefuse, code: CodeMalformed, reason: "response without " + missing, excerpt: msg}
		}
		return outcome{verdict: verdictPass, msg: msg}
	}
	return outcome{verdict: verdictRefuse, code: CodeMalformed, reason: "not a SIP message", excerpt: msg}
}

// MissingHeader names the first mandatory header m lacks (RFC 3261
// §8.1.1), or returns "". Handlers check it too, as a second guard.
func MissingHeader(m sip.Message) string { return missingHeader(m) }

func missingHeader(m sip.Message) string {
	switch {
	case m.Via() == nil:
		return "Via"
	case badVia(m) != "":
		return badVia(m)
	case m.From() == nil:
		return "From"
	case m.To() == nil:
		return "To"
	case m.CallID() == nil || m.CallID().Value() == "":
		return "Call-ID"
	case m.CSeq() == nil:
		return "CSeq"
	}
	return ""
}

// badVia names what every Via hop must have and one lacks: a sent-protocol
// "SIP/2.0/transport" and a sent-by host (RFC 3261 §20.42); an answer copies
// the Vias, and a peer could not parse it back otherwise.
func badVia(m sip.Message) string {
	for _, h := range m.GetHeaders("Via") {
		v, ok := h.(*sip.ViaHeader)
		switch {
		case !ok:
			return "Via"
		case v.ProtocolName != "SIP" || v.ProtocolVersion != "2.0" || v.Transport == "":
			return "Via sent-protocol"
		case v.Host == "":
			return "Via sent-by host"
		}
	}
	return ""
}

func warning(text string) sip.Header {
	return sip.NewHeader("Warning", "399 rccserver "+strconv.Quote(text))
}

// replyHeaders are copied from a request that sipgo cannot parse into its
// answer (RFC 3261 §8.2.6.2), compact forms included.
var replyHeaders = map[string]string{
	"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To",
	"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq",
}

// rawReply answers a request whose headers may not parse, copying the
// routing headers as text. It returns nil for responses, ACKs and anything
// that does not start with a request line: those are never answered.
func rawReply(msg []byte, status int, reason, warn string) []byte {
	i := bytes.Index(msg, crlf)
	if i < 0 {
		return nil
	}
	// Method SP Request-URI SP SIP-Version (RFC 3261 §7.1); the URI may be
	// the broken part, so only the ends are checked.
	line := msg[:i]
	sp1, sp2 := bytes.IndexByte(line, ' '), bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 == sp1 || !bytes.EqualFold(line[sp2+1:], []byte("SIP/2.0")) || !isToken(line[:sp1]) ||
		bytes.Equal(line[:sp1], []byte("ACK")) {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", status, reason)
	rest := msg[i+2:]
	for len(rest) > 0 {
		j := bytes.Index(rest, crlf)
		if j <= 0 {
			break
		}
		line := rest[:j]
		rest = rest[j+2:]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || len(line) > 1024 {
			continue
		}
		name, ok := replyHeaders[string(bytes.ToLower(bytes.TrimRight(line[:colon], " \t")))]
		if !ok {
			continue
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.Write(bytes.TrimSpace(line[colon+1:]))
		b.WriteString(crlfS)
	}
	b.WriteString("Warning: 399 rccserver " + strconv.Quote(warn) + crlfS)
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}

const crlfS = "\r\n"

// isToken reports whether b is an RFC 3261 §25.1 token (a method name).
func isToken(b []byte) bool {
	return len(b) > 0 && len(b) <= 32 && all(b, classToken)
}

// MaxExcerpt bounds the raw input written into one log line.
const MaxExcerpt = 512

// Excerpt returns at most MaxExcerpt bytes of raw input, escaped as a Go
// string literal so control bytes and invalid UTF-8 are visible and inert.
func Excerpt(b []byte) string { return excerpt(b, MaxExcerpt) }

func excerpt(b []byte, n int) string {
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "…"
	}
	return strconv.Quote(string(b))
}
