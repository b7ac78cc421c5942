package csta

import "bytes"

// The fast path of Decode: a hand-written scanner for the plain shape in
// which clients send their most frequent requests (docs/csta.md "Decoding:
// the fast path"). It understands a strict subset of XML only: an optional
// standard declaration, a root with at most one xmlns attribute, unprefixed
// children without attributes, printable ASCII text without entities, and the
// children each message models, each at most once. On anything else it
// reports !ok and Decode uses encoding/xml, so the result never differs
// (FuzzFastDecode). Hand-written because encoding/xml's reflection and
// namespace translation were a quarter of the server's CPU per request, csta
// imports only the standard library (rccserver/deps_test.go), and the one
// zero-allocation tokenizer on offer (muktihari/xmltokenizer) is a v0.0.x.

// fastRoots are the requests the fast path knows, by root local name.
var fastRoots = map[string]bool{
	"MakeCall":        true,
	"GetCSTAFeatures": true,
	"MonitorStart":    true,
	"SnapshotDevice":  true,
	"AnswerCall":      true,
	"ClearConnection": true,
	"HoldCall":        true,
	"RetrieveCall":    true,
	"GetForwarding":   true,
	"GetDoNotDisturb": true,
	"SetDoNotDisturb": true,
}

// content reads the children of root and its end tag. A switch rather than a
// map of functions, so the scanner stays on the stack.
func (s *scanner) content(root []byte) (Message, bool) {
	switch string(root) {
	case "MakeCall":
		m := new(MakeCall)
		return m, s.leaves(root, []string{"callingDevice", "calledDirectoryNumber", "autoOriginate"},
			[]*string{&m.CallingDevice, &m.CalledDirectoryNumber, &m.AutoOriginate})
	case "GetCSTAFeatures":
		m := new(GetCSTAFeatures)
		return m, s.children(root, func(name []byte, empty bool) bool {
			return string(name) == "extensions" && m.Extensions == nil && s.extensions(empty, &m.Extensions)
		})
	case "MonitorStart":
		m := new(MonitorStart)
		var seen uint8
		return m, s.children(root, func(name []byte, empty bool) bool {
			switch string(name) {
			case "monitorObject":
				if seen&1 != 0 {
					return false
				}
				seen |= 1
				return empty || s.leaves(name, []string{"deviceObject"}, []*string{&m.MonitorObject})
			case "monitorType":
				if seen&2 != 0 {
					return false
				}
				seen |= 2
				return s.leaf(name, empty, &m.MonitorType)
			case "extensions":
				return m.Extensions == nil && s.extensions(empty, &m.Extensions)
			}
			return false
		})
	case "SnapshotDevice":
		m := new(SnapshotDevice)
		return m, s.leaves(root, []string{"snapshotObject"}, []*string{&m.SnapshotObject})
	case "AnswerCall":
		m := new(AnswerCall)
		return m, s.connection(root, "callToBeAnswered", &m.CallToBeAnswered)
	case "ClearConnection":
		m := new(ClearConnection)
		return m, s.connection(root, "connectionToBeCleared", &m.ConnectionToBeCleared)
	case "HoldCall":
		m := new(HoldCall)
		return m, s.connection(root, "callToBeHeld", &m.CallToBeHeld)
	case "RetrieveCall":
		m := new(RetrieveCall)
		return m, s.connection(root, "callToBeRetrieved", &m.CallToBeRetrieved)
	case "GetForwarding":
		m := new(GetForwarding)
		return m, s.leaves(root, []string{"device"}, []*string{&m.Device})
	case "GetDoNotDisturb":
		m := new(GetDoNotDisturb)
		return m, s.leaves(root, []string{"device"}, []*string{&m.Device})
	case "SetDoNotDisturb":
		m := new(SetDoNotDisturb)
		var seen uint8
		return m, s.children(root, func(name []byte, empty bool) bool {
			switch string(name) {
			case "device":
				if seen&1 != 0 {
					return false
				}
				seen |= 1
				return s.leaf(name, empty, &m.Device)
			case "doNotDisturbOn":
				return m.DoNotDisturbOn == nil && !empty && s.boolean(name, &m.DoNotDisturbOn)
			}
			return false
		})
	}
	return nil, false
}

// xmlDecls are the declarations the fast path accepts; encoding/xml accepts
// these too (version 1.0, UTF-8 or no encoding).
var xmlDecls = [][]byte{
	[]byte(`<?xml version="1.0"?>`),
	[]byte(`<?xml version="1.0" encoding="UTF-8"?>`),
	[]byte(`<?xml version="1.0" encoding="utf-8"?>`),
}

// decodeFast decodes body if it is in the subset the scanner understands.
// ok false means "not understood": the caller must use the full decoder.
// With ok true, the result is what the full decoder returns for body.
func decodeFast(body []byte) (msg Message, ok bool, err error) {
	s := scanner{b: body}
	for _, d := range xmlDecls {
		if bytes.HasPrefix(body, d) {
			s.i = len(d)
			break
		}
	}
	s.space()
	if !s.byte('<') {
		return nil, false, nil
	}
	start := s.i
	for s.i < len(s.b) && isLetter(s.b[s.i]) {
		s.i++
	}
	root := s.b[start:s.i]
	if !fastRoots[string(root)] {
		return nil, false, nil
	}
	empty, ok := s.rootAttrs()
	switch {
	case !ok:
		return nil, false, nil
	case empty:
		msg = registry[string(root)]()
	default:
		if msg, ok = s.content(root); !ok {
			return nil, false, nil
		}
	}
	s.space()
	if s.i != len(s.b) {
		return nil, false, nil
	}
	if v, has := msg.(validator); has {
		if err := v.validate(); err != nil {
			return nil, true, withRoot(string(root), err)
		}
	}
	return msg, true, nil
}

// scanner walks body; every method reports false on input outside the subset.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) prefix(p string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(p)) {
		s.i += len(p)
		return true
	}
	return false
}

// space skips XML white space, which encoding/xml ignores between elements.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isText accepts printable ASCII but the markup characters, so text needs no
// unescaping, no line-end normalisation and no UTF-8 checks.
func isText(c byte) bool { return c >= 0x20 && c < 0x7f && c != '<' && c != '&' && c != '>' }

// rootAttrs reads the rest of the root's start tag: nothing, or one
// xmlns or xmlns:prefix attribute, then ">" or "/>" (empty).
func (s *scanner) rootAttrs() (empty, ok bool) {
	if s.byte(' ') {
		if !s.prefix("xmlns") || s.byte(':') && !s.name() || !s.attrValue() {
			return false, false
		}
	}
	empty = s.byte('/')
	return empty, s.byte('>')
}

// name reads an ASCII-letter name.
func (s *scanner) name() bool {
	start := s.i
	for s.i < len(s.b) && isLetter(s.b[s.i]) {
		s.i++
	}
	return s.i > start
}

// attrValue reads ="value" with text characters only.
func (s *scanner) attrValue() bool {
	if !s.prefix(`="`) {
		return false
	}
	for s.i < len(s.b) && isText(s.b[s.i]) && s.b[s.i] != '"' {
		s.i++
	}
	return s.byte('"')
}

// tag reads white space and then a tag: <name>, <name/> or </name>.
func (s *scanner) tag() (name []byte, empty, end, ok bool) {
	s.space()
	if !s.byte('<') {
		return nil, false, false, false
	}
	end = s.byte('/')
	start := s.i
	if !s.name() {
		return nil, false, false, false
	}
	name = s.b[start:s.i]
	if !end && s.byte('/') {
		empty = true
	}
	return name, empty, end, s.byte('>')
}

// children reads the content of the open element parent up to its end tag,
// handing each child's start tag to child, which must consume the child.
func (s *scanner) children(parent []byte, child func(name []byte, empty bool) bool) bool {
	for {
		name, empty, end, ok := s.tag()
		switch {
		case !ok:
			return false
		case end:
			return bytes.Equal(name, parent)
		case !child(name, empty):
			return false
		}
	}
}

// leaves reads an element whose children are the text elements names, each
// at most once, into dst.
func (s *scanner) leaves(parent []byte, names []string, dst []*string) bool {
	var seen uint32
	return s.children(parent, func(name []byte, empty bool) bool {
		for i, n := range names {
			if string(name) == n {
				if seen&(1<<i) != 0 {
					return false
				}
				seen |= 1 << i
				return s.leaf(name, empty, dst[i])
			}
		}
		return false
	})
}

// connection reads a root whose only child is the ConnectionID elem.
func (s *scanner) connection(root []byte, elem string, c *ConnectionID) bool {
	seen := false
	return s.children(root, func(name []byte, empty bool) bool {
		if string(name) != elem || seen {
			return false
		}
		seen = true
		return empty || s.leaves(name, []string{"callID", "deviceID"}, []*string{&c.CallID, &c.DeviceID})
	})
}

// text reads the content of a text-only element and its end tag.
func (s *scanner) text(name []byte) ([]byte, bool) {
	start := s.i
	for s.i < len(s.b) && isText(s.b[s.i]) {
		s.i++
	}
	t := s.b[start:s.i]
	if !s.prefix("</") || !bytes.HasPrefix(s.b[s.i:], name) {
		return nil, false
	}
	s.i += len(name)
	return t, s.byte('>')
}

// leaf reads a text element into dst, exactly as encoding/xml does for a
// string field (no trimming).
func (s *scanner) leaf(name []byte, empty bool, dst *string) bool {
	if empty {
		return true
	}
	t, ok := s.text(name)
	if ok && len(t) > 0 {
		*dst = string(t)
	}
	return ok
}

// boolean reads an xsd:boolean element; only the four plain tokens.
func (s *scanner) boolean(name []byte, dst **bool) bool {
	t, ok := s.text(name)
	if !ok {
		return false
	}
	switch string(t) {
	case "true", "1":
		*dst = Bool(true)
	case "false", "0":
		*dst = Bool(false)
	default:
		return false
	}
	return true
}

// extensions reads <extensions> holding nothing or exactly
// <privateData><private><p:line xmlns:p="…">text</p:line></private></privateData>,
// as Lync writes it; the line is trimmed as Extensions.UnmarshalXML does.
func (s *scanner) extensions(empty bool, dst **Extensions) bool {
	e := new(Extensions)
	*dst = e
	if empty {
		return true
	}
	if s.prefix("</extensions>") {
		return true
	}
	if !s.prefix("<privateData><private><") {
		return false
	}
	start := s.i
	if !s.name() {
		return false
	}
	prefix := s.b[start:s.i]
	if !s.prefix(":line") {
		return false
	}
	if s.byte(' ') && (!s.prefix("xmlns:") || !s.name() || !s.attrValue()) {
		return false
	}
	if !s.byte('>') {
		return false
	}
	t := s.i
	for s.i < len(s.b) && isText(s.b[s.i]) {
		s.i++
	}
	line := bytes.TrimSpace(s.b[t:s.i])
	if !s.prefix("</") || !bytes.HasPrefix(s.b[s.i:], prefix) {
		return false
	}
	s.i += len(prefix)
	if !s.prefix(":line></private></privateData></extensions>") {
		return false
	}
	if len(line) > 0 {
		e.Line = string(line)
	}
	return true
}
