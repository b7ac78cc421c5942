package certs

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Functions wrap them with detail; test with errors.Is.
var (
	// ErrConfig marks an invalid setting; the *ConfigError wrapping it names the key.
	ErrConfig = errors.New("certs: invalid configuration")
	// ErrLoad: a certificate, key, chain, bundle or CA file cannot be read or parsed.
	ErrLoad = errors.New("certs: cannot load")
	// ErrKeyMismatch: the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("certs: private key does not match the certificate")

	// ErrNoClientCertificate: an MTLS client sent no certificate.
	ErrNoClientCertificate = errors.New("no client certificate")
	// ErrExpired: the client certificate (or one in its chain) is expired or not yet valid.
	ErrExpired = errors.New("client certificate expired or not yet valid")
	// ErrUnknownCA: the client certificate does not chain to a CA in client_ca.
	ErrUnknownCA = errors.New("client certificate not issued by a trusted CA")
	// ErrMissingClientAuthEKU: the client certificate lacks the clientAuth
	// extended key usage (RFC 5280 §4.2.1.12, id-kp-clientAuth).
	ErrMissingClientAuthEKU = errors.New("client certificate lacks the clientAuth extended key usage")
	// ErrPeerNotAllowed: no name of the client certificate is in allowed_peers.
	ErrPeerNotAllowed = errors.New("client certificate names no allowed peer")
	// ErrBadCertificate: the client certificate is invalid for another reason.
	ErrBadCertificate = errors.New("client certificate invalid")
)

// Reason is why a client certificate was refused; it is the "reason" field
// of the Cs_AccessDenied log line.
type Reason string

// Reasons of a [PeerError].
const (
	ReasonNoClientCertificate Reason = "no_client_certificate"
	ReasonExpired             Reason = "certificate_expired"
	ReasonUnknownCA           Reason = "unknown_ca"
	ReasonMissingClientAuth   Reason = "missing_client_auth_eku"
	ReasonPeerNotAllowed      Reason = "peer_not_allowed"
	ReasonBadCertificate      Reason = "bad_certificate"
)

var reasonErr = map[Reason]error{
	ReasonNoClientCertificate: ErrNoClientCertificate,
	ReasonExpired:             ErrExpired,
	ReasonUnknownCA:           ErrUnknownCA,
	ReasonMissingClientAuth:   ErrMissingClientAuthEKU,
	ReasonPeerNotAllowed:      ErrPeerNotAllowed,
	ReasonBadCertificate:      ErrBadCertificate,
}

// PeerError is the MTLS policy's refusal of a client certificate. It
// unwraps to the sentinel of its Reason and to the x509 error, if any.
type PeerError struct {
	Reason  Reason
	Subject string   // the certificate's subject CN, if any
	Names   []string // the names checked against allowed_peers (CN and DNS SANs)
	Err     error    // detail (an x509 error), may be nil
}

func (e *PeerError) Error() string {
	var b strings.Builder
	b.WriteString(reasonErr[e.Reason].Error())
	if e.Subject != "" {
		fmt.Fprintf(&b, " (subject CN=%s)", e.Subject)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the Reason's sentinel and the detail.
func (e *PeerError) Unwrap() []error {
	if e.Err == nil {
		return []error{reasonErr[e.Reason]}
	}
	return []error{reasonErr[e.Reason], e.Err}
}

// ConfigError names one invalid setting. Key is relative to the listener
// (e.g. "client_ca"); the caller prefixes it with the listener's path.
type ConfigError struct {
	Key     string
	Problem string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Problem }

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }
