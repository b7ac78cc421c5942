package csta

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decode wraps one of them in an *Error, so callers can test
// the kind with errors.Is and still read the root and element involved.
var (
	// ErrMalformed means the body is not well-formed XML or has no root element.
	ErrMalformed = errors.New("csta: malformed XML")
	// ErrUnknownRoot means the root element names no CSTA message we know.
	ErrUnknownRoot = errors.New("csta: unknown root element")
	// ErrMissingChild means a child the schema requires is absent or empty.
	ErrMissingChild = errors.New("csta: missing required child")
	// ErrInvalidValue means an enumerated or typed value is not one the schema allows.
	ErrInvalidValue = errors.New("csta: invalid value")
	// ErrTooLarge means the body is over the decoder's size limit.
	ErrTooLarge = errors.New("csta: body too large")
	// ErrUnknownMessage means Encode was given a value it cannot write.
	ErrUnknownMessage = errors.New("csta: cannot encode message")
	// ErrBadDeviceID means a device identifier could not be parsed.
	ErrBadDeviceID = errors.New("csta: bad device identifier")
)

// Error describes why a body could not be decoded.
type Error struct {
	Kind    error  // one of the sentinels above
	Root    string // root element local name, when known
	Element string // the element involved, when known
	Err     error  // underlying cause, if any
}

func (e *Error) Error() string {
	msg := e.Kind.Error()
	if e.Root != "" {
		msg += " in " + e.Root
	}
	if e.Element != "" {
		msg += ": " + e.Element
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func missing(root, element string) error {
	return &Error{Kind: ErrMissingChild, Root: root, Element: element}
}

func invalid(element, value string) error {
	return &Error{Kind: ErrInvalidValue, Element: element, Err: fmt.Errorf("%q", value)}
}
