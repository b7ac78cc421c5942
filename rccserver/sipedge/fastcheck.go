package sipedge

import (
	"bytes"
	"encoding/binary"
)

// plainValid reports whether a framed stream message is certainly one that
// checker.check would pass: every line in a plain shape that sipgo's parser
// (v1.7.2) accepts, the mandatory headers of RFC 3261 §8.1.1 present and,
// for a request, the CSeq method that of the request line. It allocates
// nothing, so the common message costs a scan instead of a second sipgo
// parse (docs/performance.md, "Request path and its benchmark"). Anything
// else — folded lines, IPv6 hosts, addr-specs without brackets, unusual
// characters — returns false and gets the full parse, whose outcome
// (including every refusal and its answer) is unchanged. FuzzPlainValid
// checks the promise against the parser.
//
// Hand-written because no library offers a SIP validator that does not
// build the message.
func plainValid(msg []byte) bool {
	i := bytes.Index(msg, crlf2)
	return i >= 0 && plainHead(msg[:i+2]) // every header line with its CRLF
}

// plainHead is plainValid for the header lines of a framed message, each
// with its CRLF (the framer found where they end).
func plainHead(head []byte) bool {
	var h headScan
	return scanHead(head, &h) && h.complete()
}

// headScan is what one walk over a message's header lines found
// (scanHead): the fields both the plain-shape check and the answer scan
// (answer.go) use, so that neither walks the lines again.
type headScan struct {
	isReq      bool
	status     int    // a response's status code
	reason     []byte // and its reason phrase
	topVia     []byte // the first Via header's value
	callID     []byte
	cseq       int
	cseqMethod []byte
	length     int // Content-Length; -1: none
	from, to   bool
	repeated   bool // a second Call-ID, CSeq or Content-Length header
}

// complete reports whether the mandatory headers of RFC 3261 §8.1.1 were
// all found.
func (h *headScan) complete() bool {
	return h.topVia != nil && h.from && h.to && h.callID != nil && h.cseqMethod != nil
}

// scanHead walks head, header lines each with its CRLF, once: it reports
// whether every line is in a plain shape that sipgo's parser (v1.7.2)
// accepts, with a request's CSeq method that of its request line, and
// fills h as it goes.
func scanHead(head []byte, h *headScan) bool {
	*h = headScan{length: -1}
	line, rest, ok := nextCRLF(head)
	if !ok {
		return false
	}
	method, isReq, ok := startLine(line)
	if !ok {
		return false
	}
	h.isReq = isReq
	if !isReq {
		h.status, h.reason = atoi(line[8:11]), line[12:] // startLine checked "SIP/2.0 ddd "
	}
	for len(rest) > 0 {
		line, rest, ok = nextCRLF(rest)
		if !ok || len(line) == 0 || !plainText(line) {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name := trimBlanksRight(line[:colon])
		if !isToken(name) {
			return false // also refuses a folded line (leading space)
		}
		value := bytes.TrimSpace(line[colon+1:])
		switch n := headerOf(name); n {
		case headerVia:
			if !plainVia(value) {
				return false
			}
			if h.topVia == nil {
				h.topVia = value
			}
		case headerFrom, headerTo, headerContact, headerRoute, headerRecordRoute:
			if !plainNameAddr(value) {
				return false
			}
			if n == headerFrom {
				h.from = true
			} else if n == headerTo {
				h.to = true
			}
		case headerCallID:
			if len(value) == 0 || hasBlank(value) {
				return false
			}
			h.repeated = h.repeated || h.callID != nil
			h.callID = value
		case headerCSeq:
			sp := bytes.IndexByte(value, ' ')
			if sp < 1 || sp > 10 || !digits(value[:sp]) || atoi(value[:sp]) > 1<<31-1 {
				return false
			}
			m := value[sp+1:]
			if !upperToken(m) || (isReq && !bytes.Equal(m, method)) {
				return false
			}
			h.repeated = h.repeated || h.cseqMethod != nil
			h.cseq, h.cseqMethod = atoi(value[:sp]), m
		case headerContentLength:
			if len(value) == 0 || len(value) > 9 || !digits(value) {
				return false
			}
			h.repeated = h.repeated || h.length >= 0
			h.length = atoi(value)
		case headerMaxForwards:
			if len(value) == 0 || len(value) > 9 || !digits(value) {
				return false
			}
		case headerContentType:
			if len(value) == 0 {
				return false
			}
		case headerReferTo, headerReferredBy:
			return false // rare here: the full parse
		}
	}
	return true
}

// nextCRLF splits the first CRLF-ended line off b.
func nextCRLF(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\r')
	if i < 0 || i+1 >= len(b) || b[i+1] != '\n' {
		return nil, nil, false
	}
	return b[:i], b[i+2:], true
}

// startLine accepts "METHOD sip-uri SIP/2.0", returning the method, or
// "SIP/2.0 ddd reason".
func startLine(line []byte) (method []byte, isReq, ok bool) {
	if !plainText(line) {
		return nil, false, false
	}
	if r, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		return nil, false, len(r) >= 4 && digits(r[:3]) && r[3] == ' '
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 1 || !upperToken(line[:sp1]) {
		return nil, false, false
	}
	uri, ok := bytes.CutSuffix(line[sp1+1:], []byte(" SIP/2.0"))
	if !ok || !plainSIPURI(uri) {
		return nil, false, false
	}
	return line[:sp1], true, true
}

// plainVia: "SIP/2.0/TRANSPORT host[:port][;params]" with a DNS name or
// IPv4 host and parameters free of commas (a comma starts another Via).
func plainVia(v []byte) bool {
	r, ok := bytes.CutPrefix(v, []byte("SIP/2.0/"))
	if !ok {
		return false
	}
	sp := bytes.IndexByte(r, ' ')
	if sp < 1 || !upperToken(r[:sp]) {
		return false
	}
	r = r[sp+1:]
	end := bytes.IndexByte(r, ';')
	hostport, params := r, []byte(nil)
	if end >= 0 {
		hostport, params = r[:end], r[end+1:]
	}
	if !plainHostPort(hostport) {
		return false
	}
	return bytes.IndexByte(params, ',') < 0
}

// plainNameAddr: [display-name] "<" uri ">" [;params], the display name a
// quoted string without escapes or a few plain words; no comma anywhere
// (Contact and Route split on it).
func plainNameAddr(v []byte) bool {
	if bytes.IndexByte(v, ',') >= 0 {
		return false
	}
	if len(v) > 0 && v[0] == '"' {
		q := bytes.IndexByte(v[1:], '"')
		if q < 0 || bytes.IndexByte(v[1:q+1], '\\') >= 0 {
			return false
		}
		v = trimBlanksLeft(v[q+2:])
		if len(v) == 0 || v[0] != '<' {
			return false
		}
	}
	lt := bytes.IndexByte(v, '<')
	if lt < 0 {
		return false // addr-spec without brackets: the full parse
	}
	if !all(v[:lt], classDisplay) {
		return false
	}
	v = v[lt+1:]
	gt := bytes.IndexByte(v, '>')
	if gt < 0 || !plainURI(v[:gt]) {
		return false
	}
	for _, c := range v[gt+1:] { // bytes.ContainsAny builds its set on every call
		if c == '<' || c == '>' || c == '"' {
			return false
		}
	}
	return true
}

// plainURI: a sip/sips URI in the plain shape, or another scheme (tel:)
// whose rest sipgo keeps as raw text.
func plainURI(u []byte) bool {
	colon := bytes.IndexByte(u, ':')
	if colon < 1 {
		return false
	}
	scheme := u[:colon]
	if bytes.EqualFold(scheme, []byte("sip")) || bytes.EqualFold(scheme, []byte("sips")) {
		return plainSIPURI(u)
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') { // sipgo takes letters only
			return false
		}
	}
	return len(scheme) >= 2 && all(u[colon+1:], classRaw)
}

// plainSIPURI: sip[s]:[user@]host[:port][;params], no password, headers,
// brackets or quotes.
func plainSIPURI(u []byte) bool {
	r, ok := bytes.CutPrefix(u, []byte("sip:"))
	if !ok {
		if r, ok = bytes.CutPrefix(u, []byte("sips:")); !ok {
			return false
		}
	}
	if bytes.HasPrefix(r, []byte("//")) {
		return false
	}
	if at := bytes.IndexByte(r, '@'); at >= 0 {
		if at == 0 || !all(r[:at], classUser) {
			return false
		}
		r = r[at+1:]
	}
	hostport, params := r, []byte(nil)
	if i := bytes.IndexByte(r, ';'); i >= 0 {
		hostport, params = r[:i], r[i+1:]
	}
	return plainHostPort(hostport) && all(params, classParam)
}

// plainHostPort: a DNS name or IPv4 address, and a port of 1–5 digits.
func plainHostPort(hp []byte) bool {
	host, port := hp, []byte(nil)
	if i := bytes.IndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i+1:]
		if len(port) == 0 || len(port) > 5 || !digits(port) {
			return false
		}
	}
	if len(host) == 0 {
		return false
	}
	for _, c := range host {
		if !isAlnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// trimBlanksRight, trimBlanksLeft and hasBlank are bytes.TrimRight,
// TrimLeft and ContainsAny for " \t", without building the set each call
// (they run on every header line of every message).
func trimBlanksRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func trimBlanksLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func hasBlank(b []byte) bool {
	for _, c := range b {
		if c == ' ' || c == '\t' {
			return true
		}
	}
	return false
}

// plainText: printable ASCII and tabs only. It runs over every header line
// of every message, so it looks at eight bytes at a time (SWAR): a word with
// no byte at or above 0x7f and none below 0x20 passes at once; any other
// word, such as one with a tab, is checked byte by byte.
func plainText(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// w&highs: a byte ≥ 0x80. With none, w+ones carries into no other
		// byte and sets a high bit only for 0x7f, and (w-0x20·ones)&^w has a
		// high bit set exactly when some byte is below 0x20 (the "hasless"
		// test for bytes below 0x80).
		if (w|(w+ones)|((w-0x20*ones)&^w))&highs != 0 && !plainBytes(b[:8]) {
			return false
		}
		b = b[8:]
	}
	return plainBytes(b)
}

// plainBytes is plainText one byte at a time.
func plainBytes(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func upperToken(b []byte) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	for _, c := range b {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// header is a header the plain-shape scan inspects, by its full or
// compact name (RFC 3261 §7.3.3); the zero value is any other header.
type header uint8

const (
	headerUnknown header = iota
	headerVia
	headerFrom
	headerTo
	headerContact
	headerRoute
	headerRecordRoute
	headerCallID
	headerCSeq
	headerMaxForwards
	headerContentLength
	headerContentType
	headerReferTo
	headerReferredBy
)

// headerNames are the full names by length, lower case.
var headerNames = [15][]struct {
	name string
	h    header
}{
	2:  {{"to", headerTo}},
	3:  {{"via", headerVia}},
	4:  {{"from", headerFrom}, {"cseq", headerCSeq}},
	5:  {{"route", headerRoute}},
	7:  {{"call-id", headerCallID}, {"contact", headerContact}},
	8:  {{"refer-to", headerReferTo}},
	11: {{"referred-by", headerReferredBy}},
	12: {{"record-route", headerRecordRoute}, {"max-forwards", headerMaxForwards}, {"content-type", headerContentType}},
	14: {{"content-length", headerContentLength}},
}

// headerOf names the header of a header line's name, case-insensitively,
// without allocating: it runs on every header line of every message.
func headerOf(name []byte) header {
	if len(name) == 1 {
		switch name[0] | 0x20 { // ASCII lower case; a non-letter maps to no compact name below
		case 'v':
			return headerVia
		case 'f':
			return headerFrom
		case 't':
			return headerTo
		case 'm':
			return headerContact
		case 'i':
			return headerCallID
		case 'l':
			return headerContentLength
		case 'c':
			return headerContentType
		}
		return headerUnknown
	}
	if len(name) >= len(headerNames) {
		return headerUnknown
	}
	for _, c := range headerNames[len(name)] {
		if foldEqual(name, c.name) {
			return c.h
		}
	}
	return headerUnknown
}

// foldEqual reports whether b is lower, ignoring the case of ASCII letters
// in b (lower is lower case).
func foldEqual(b []byte, lower string) bool {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// charClass sets: which bytes a plain shape allows where.
const (
	classDisplay = 1 << iota // a display name without quotes
	classUser                // the user part of a SIP URI
	classParam               // URI parameters
	classRaw                 // the rest of a non-SIP URI (tel:)
	classToken               // RFC 3261 §25.1 token
)

var charClass = func() (t [256]uint8) {
	for c := range 256 {
		if isAlnum(byte(c)) {
			t[c] = classDisplay | classUser | classParam | classRaw | classToken
		}
	}
	for cls, extra := range map[uint8]string{
		classDisplay: " ._-+!%*~'",
		classUser:    "-_.!~*'()&=+$%",
		classParam:   "-_.!~*'()&=+$%:;/",
		classRaw:     "+-.;=%:_~!*/@",
		classToken:   "-.!%*_+`'~",
	} {
		for _, c := range []byte(extra) {
			t[c] |= cls
		}
	}
	return t
}()

// all reports whether every byte of b is of class cls.
func all(b []byte, cls uint8) bool {
	for _, c := range b {
		if charClass[c]&cls == 0 {
			return false
		}
	}
	return true
}
