package rccserver

import "errors"

// Sentinel errors of the RCC side. A session's end reason is one of these
// (wrapped with detail), so hooks and logs can tell why it ended.
var (
	// ErrConfig marks an invalid configuration value.
	ErrConfig = errors.New("rccserver: invalid configuration")
	// ErrSessionClosed is returned by Send after the session ended.
	ErrSessionClosed = errors.New("rccserver: session closed")
	// ErrQueueFull is returned by Send when the session's outbound queue is full.
	ErrQueueFull = errors.New("rccserver: session send queue full")
	// ErrSessionExpired: no refresh arrived within Session-Expires (RFC 4028 §10).
	ErrSessionExpired = errors.New("rccserver: session expired without refresh")
	// ErrKeepAliveFailed: a keep-alive INFO was refused (408/481), unanswered or undeliverable.
	ErrKeepAliveFailed = errors.New("rccserver: keep-alive failed")
	// ErrConnectionClosed: the transport connection the dialog lives on closed.
	ErrConnectionClosed = errors.New("rccserver: connection closed")
	// ErrRemoteBye: the client ended the session with BYE.
	ErrRemoteBye = errors.New("rccserver: client sent BYE")
	// ErrShutdown: the server is stopping.
	ErrShutdown = errors.New("rccserver: server shutting down")
	// ErrNoACK: the client never acknowledged the 200 OK to its INVITE.
	ErrNoACK = errors.New("rccserver: no ACK for 200 OK")
	// ErrClosedByServer: server logic closed the session (Session.Close).
	ErrClosedByServer = errors.New("rccserver: closed by server")
)
