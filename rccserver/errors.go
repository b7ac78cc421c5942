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
	// ErrTransport: a request we sent could not be written, or its
	// connection failed while it waited for the answer.
	ErrTransport = errors.New("rccserver: transport failure")
	// ErrNoAnswer: a request we sent got no final answer in time.
	ErrNoAnswer = errors.New("rccserver: no answer")
	// ErrDialogGone: the client answered 481 to a request we sent in the
	// dialog (RFC 3261 §12.2.2): it no longer knows the session.
	ErrDialogGone = errors.New("rccserver: dialog gone at the client")
	// ErrNotActing: the node may not send in its sessions now (its cluster
	// lease is not confirmed after a pause, or lost; Options.Acting).
	ErrNotActing = errors.New("rccserver: node may not act for its sessions")
	// ErrBadRecord: a session record cannot be adopted (invalid, or the
	// dialog is already here).
	ErrBadRecord = errors.New("rccserver: session record not adoptable")
)

// errStopped: the wait for an answer was given up (window full, session
// ended); never a session's end reason.
var errStopped = errors.New("rccserver: wait for the answer given up")
