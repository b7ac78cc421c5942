package sipedge

import "errors"

// Code is the log code of a refusal at the edge (field "code"); each is
// explained in docs/troubleshooting.md.
type Code string

// The edge's refusals.
const (
	// CodeMalformed: a complete message that sipgo cannot parse or that lacks
	// a mandatory header (Via, From, To, Call-ID, CSeq). Requests get 400.
	CodeMalformed Code = "Cs_MalformedMessage"
	// CodeTooLarge: a message over the size limit. Requests get 413 and the
	// connection goes on; the body is skipped without being stored.
	CodeTooLarge Code = "Cs_MessageTooLarge"
	// CodeFramingLost: no message boundary can be found any more (no or a bad
	// Content-Length on a stream, a header block over the limit). Only this
	// connection is closed.
	CodeFramingLost Code = "Cs_FramingLost"
	// CodeConnectionLimit: a connection over the listener's or the peer's cap,
	// closed at accept.
	CodeConnectionLimit Code = "Cs_ConnectionLimit"
	// CodeIdleTimeout: a connection that carried no dialog and sent nothing
	// for the idle timeout, closed.
	CodeIdleTimeout Code = "Cs_IdleConnectionClosed"
	// CodeMessageTimeout: a message begun and not completed within the
	// message timeout (a slow sender holding a buffer), connection closed.
	CodeMessageTimeout Code = "Cs_MessageTimeout"
	// CodeAcceptError: accept failed (EMFILE, ENFILE, ENOBUFS…); the listener
	// backs off and goes on.
	CodeAcceptError Code = "Cs_AcceptError"
)

// Errors of the edge.
var (
	// ErrFramingLost is returned by a connection's Read after it gave up on
	// the stream; the caller closes the connection.
	ErrFramingLost = errors.New("sip framing lost")
	// ErrIdle is returned by Read when the connection was idle too long.
	ErrIdle = errors.New("idle connection closed")
	// ErrSlowMessage is returned by Read when a message took too long.
	ErrSlowMessage = errors.New("message not completed in time")
	// ErrNoSocket is returned by RawConnOf for a connection with no socket
	// of its own under it (a pipe, TLS).
	ErrNoSocket = errors.New("no socket under this connection")
)
