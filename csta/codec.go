package csta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Namespace is the ECMA-323 3rd-edition namespace we write. Decode accepts
// any namespace (ed3, ed4, ed5, none, and the typos real phones send),
// because peers differ and element names are what matter (docs/protocol.md "ECMA-323 XML").
const Namespace = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"

// DefaultMaxSize is the largest body Decode accepts: a snapshot of many
// calls stays far below it, and SIP stream framing allows 64 KiB anyway.
const DefaultMaxSize = 64 << 10

// ContentType is the MIME type of CSTA XML bodies (IANA application/csta+xml).
const ContentType = "application/csta+xml"

// Message is any CSTA document: request, response, event or CSTAErrorCode.
// All message types are used as pointers.
type Message interface {
	// Root returns the local name of the document's root element.
	Root() string
}

// validator is implemented by messages with children the schema requires.
type validator interface {
	validate() error
}

// Decode reads one CSTA document of at most DefaultMaxSize bytes and returns
// the typed message chosen by the root's local name.
func Decode(body []byte) (Message, error) { return DecodeLimit(body, DefaultMaxSize) }

// DecodeLimit is Decode with an explicit size limit.
func DecodeLimit(body []byte, limit int) (Message, error) {
	if len(body) > limit {
		return nil, &Error{Kind: ErrTooLarge, Err: errors.New(strconv.Itoa(len(body)) + " bytes, limit " + strconv.Itoa(limit))}
	}
	if msg, ok, err := decodeFast(body); ok {
		return msg, err
	}
	return decodeXML(body)
}

// decodeXML is the full decoder, encoding/xml driven by the struct tags.
func decodeXML(body []byte) (Message, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	start, err := rootElement(dec)
	if err != nil {
		return nil, err
	}
	root := start.Name.Local
	newMsg, ok := registry[root]
	if !ok {
		return nil, &Error{Kind: ErrUnknownRoot, Root: root}
	}
	msg := newMsg()
	if err := dec.DecodeElement(msg, &start); err != nil {
		return nil, classify(root, err)
	}
	if err := trailing(dec); err != nil {
		return nil, &Error{Kind: ErrMalformed, Root: root, Err: err}
	}
	if v, ok := msg.(validator); ok {
		if err := v.validate(); err != nil {
			return nil, withRoot(root, err)
		}
	}
	return msg, nil
}

// rootElement skips the prolog and returns the root's start tag.
func rootElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("no root element")
			}
			return xml.StartElement{}, &Error{Kind: ErrMalformed, Err: err}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, &Error{Kind: ErrMalformed, Err: errors.New("text before the root element")}
			}
		case xml.Directive:
			// DOCTYPE and friends have no place in CSTA and only invite entity tricks.
			return xml.StartElement{}, &Error{Kind: ErrMalformed, Err: errors.New("directive in prolog")}
		}
	}
}

// trailing checks that only whitespace, comments and processing instructions
// follow the root element.
func trailing(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after the root element")
		}
	}
}

// classify turns an encoding/xml failure into one of our kinds.
func classify(root string, err error) error {
	var ours *Error
	var syntax *xml.SyntaxError
	var num *strconv.NumError
	switch {
	case errors.As(err, &ours):
		return withRoot(root, ours)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Kind: ErrMalformed, Root: root, Err: err}
	case errors.As(err, &num):
		return &Error{Kind: ErrInvalidValue, Root: root, Err: err}
	default:
		return &Error{Kind: ErrInvalidValue, Root: root, Err: err}
	}
}

func withRoot(root string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Root == "" {
		c := *e
		c.Root = root
		return &c
	}
	return err
}

// encoder is an xml.Encoder writing into its own buffer. Pooled, so an
// Encode does not allocate the encoder's 4 KiB write buffer every time; an
// encoder is only reused after a complete, successful document.
type encoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = xml.NewEncoder(&e.buf)
	return e
}}

var rootAttr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}

// Encode writes msg as an ed3 document with an XML declaration, in UTF-8,
// children in schema order and strings exactly as given.
func Encode(msg Message) ([]byte, error) {
	if e, ok := msg.(*Encoded); ok {
		return e.body, nil // shared: see Encoded
	}
	if msg == nil || registry[msg.Root()] == nil {
		return nil, &Error{Kind: ErrUnknownMessage}
	}
	if v, ok := msg.(validator); ok {
		if err := v.validate(); err != nil {
			return nil, withRoot(msg.Root(), err)
		}
	}
	if _, ok := msg.(*CSTAErrorCode); ok {
		var buf bytes.Buffer
		if encodeFast(&buf, msg) {
			return buf.Bytes(), nil
		}
	}
	e, err := encodePooled(msg)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(e.buf.Bytes())
	encoderPool.Put(e)
	return out, nil
}

// EncodeTo is Encode appending the document to dst, without the copy
// Encode makes: for a caller that writes it into its own pooled buffer.
// On an error dst is unchanged.
func EncodeTo(dst *bytes.Buffer, msg Message) error {
	if e, ok := msg.(*Encoded); ok {
		dst.Write(e.body)
		return nil
	}
	if msg == nil || registry[msg.Root()] == nil {
		return &Error{Kind: ErrUnknownMessage}
	}
	if v, ok := msg.(validator); ok {
		if err := v.validate(); err != nil {
			return withRoot(msg.Root(), err)
		}
	}
	if encodeFast(dst, msg) {
		return nil
	}
	e, err := encodePooled(msg)
	if err != nil {
		return err
	}
	dst.Write(e.buf.Bytes())
	encoderPool.Put(e)
	return nil
}

// encodePooled encodes msg (known and valid) with a pooled encoder, which
// the caller puts back once it has the bytes.
func encodePooled(msg Message) (*encoder, error) {
	e := encoderPool.Get().(*encoder)
	e.buf.Reset()
	e.buf.WriteString(xml.Header)
	start := xml.StartElement{Name: xml.Name{Local: msg.Root()}, Attr: rootAttr}
	if err := e.enc.EncodeElement(msg, start); err != nil {
		// The encoder may hold a half-written element: do not reuse it.
		return nil, withRoot(msg.Root(), err)
	}
	if err := e.enc.Flush(); err != nil {
		return nil, err
	}
	return e, nil
}

// encodeFast appends msg (known and valid) if it is a CSTAErrorCode, the
// answer of every refused request, written by hand: encoding/xml took about
// 4 % of the server's CPU per refused MakeCall. The bytes are encodePooled's
// (TestEncodeFastSameBytes). It reports false, dst unchanged, for any other
// message and for a category encodePooled refuses.
func encodeFast(dst *bytes.Buffer, msg Message) bool {
	e, ok := msg.(*CSTAErrorCode)
	if !ok || e.Category == ErrorCategoryUnknown || int(e.Category) >= len(errorCategoryTable.tokens) {
		return false
	}
	name := errorCategoryTable.tokens[e.Category]
	value := e.Value
	if e.Category == CategoryUnspecified {
		value = ""
	}
	dst.WriteString(xml.Header + `<CSTAErrorCode xmlns="` + Namespace + `"><`)
	dst.WriteString(name)
	dst.WriteByte('>')
	if plainText(value) {
		dst.WriteString(value)
	} else {
		_ = xml.EscapeText(dst, []byte(value)) // a bytes.Buffer does not fail
	}
	dst.WriteString("</")
	dst.WriteString(name)
	dst.WriteString("></CSTAErrorCode>")
	return true
}

// plainText reports whether s is printable ASCII that XML character data
// holds as it is (encoding/xml escapes quotes too).
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '&', c == '<', c == '>', c == '"', c == '\'':
			return false
		}
	}
	return true
}

// blank reports whether s has no content but whitespace.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// Roots returns the root element names Decode knows, in no particular order.
func Roots() []string {
	out := make([]string, 0, len(registry))
	for r := range registry {
		out = append(out, r)
	}
	return out
}
