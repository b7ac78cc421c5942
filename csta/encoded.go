package csta

// Encoded is a message encoded once, for answers that depend only on the
// configuration (GetCSTAFeaturesResponse): Encode returns its bytes without
// encoding again. The bytes are shared by every caller and never modified.
type Encoded struct {
	root string
	body []byte
}

// Preencode encodes msg once; the result stands for msg wherever a Message
// is answered.
func Preencode(msg Message) (*Encoded, error) {
	b, err := Encode(msg)
	if err != nil {
		return nil, err
	}
	return &Encoded{root: msg.Root(), body: b}, nil
}

// Root returns the root element's local name of the encoded message.
func (e *Encoded) Root() string { return e.root }

// Bytes returns the encoded document; callers must not modify it.
func (e *Encoded) Bytes() []byte { return e.body }
