package rccserver

import (
	"context"
	"fmt"

	"github.com/rccserver/rccserver/csta"
)

// AdmitRequest is what admission learns from a sign-in INVITE.
type AdmitRequest struct {
	User       string // the From address as sent, e.g. "sip:alice@example.com"
	Line       string // the lcs:line private data of RequestSystemStatus, byte-exact
	LineServer string // the Request-URI (the user's Line Server URI)
	Peer       string // source address of the INVITE
	CallID     string
	// Adopted: no INVITE; the session is rebuilt from another node's record.
	Adopted bool
}

// Grant admits a session. Status normal opens it; disabled answers 200 with
// systemStatus disabled (e.g. no feature licence) and refuses every request.
type Grant struct {
	Status  csta.SystemStatus
	Code    LogCode // why the status is not normal, for the log
	Account string  // the domain account, for logs
	// Release, if set, runs once when the session ends (frees its login share).
	Release func()
	// Value is whatever the admitting layer wants to find again on the session.
	Value any
}

// Refusal is an admission decision to refuse the INVITE: the SIP status, the
// log code (also sent to the client in the reason phrase and a Warning
// header, docs/troubleshooting.md "What the client receives") and a
// human-readable reason.
type Refusal struct {
	Status int
	Code   LogCode
	Reason string // sent to the client: nothing about other users or the directory
	Detail string // for the log only
}

func (r *Refusal) Error() string {
	if r.Detail != "" {
		return fmt.Sprintf("%d %s: %s (%s)", r.Status, r.Code, r.Reason, r.Detail)
	}
	return fmt.Sprintf("%d %s: %s", r.Status, r.Code, r.Reason)
}

// Admission decides whether a sign-in INVITE opens a session.
type Admission interface {
	Admit(ctx context.Context, req AdmitRequest) (*Grant, error)
}

// AdmissionFunc adapts a function to Admission.
type AdmissionFunc func(ctx context.Context, req AdmitRequest) (*Grant, error)

// Admit calls f.
func (f AdmissionFunc) Admit(ctx context.Context, req AdmitRequest) (*Grant, error) {
	return f(ctx, req)
}

// Handler serves CSTA requests received in a session. It returns the response
// message, or an error: a *csta.CSTAErrorCode is sent as it is, any other
// error is logged and answered with a generic CSTA error.
type Handler interface {
	HandleCSTA(ctx context.Context, s *Session, req csta.Message) (csta.Message, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, s *Session, req csta.Message) (csta.Message, error)

// HandleCSTA calls f.
func (f HandlerFunc) HandleCSTA(ctx context.Context, s *Session, req csta.Message) (csta.Message, error) {
	return f(ctx, s, req)
}
