package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"time"
)

// Policy decides whether an MTLS client certificate is trusted: it chains
// to Roots, it carries the clientAuth EKU (if required), and one of its
// names is allowed. Verify is meant for tls.Config.VerifyConnection, with
// ClientAuth set to tls.RequestClientCert so that every refusal, even a
// missing certificate, comes out of Verify as a *PeerError.
type Policy struct {
	Roots                *x509.CertPool
	RequireClientAuthEKU bool
	AllowedPeers         []string
	// Now is the verification time (nil: time.Now).
	Now func() time.Time
}

// VerifyConnection applies the policy to a handshake's peer certificates.
func (p *Policy) VerifyConnection(cs tls.ConnectionState) error {
	return p.Verify(cs.PeerCertificates)
}

// Verify checks a client's certificate chain as sent (leaf first) and
// returns nil or a *PeerError.
func (p *Policy) Verify(chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return &PeerError{Reason: ReasonNoClientCertificate}
	}
	leaf := chain[0]
	refuse := func(r Reason, err error) error {
		return &PeerError{Reason: r, Subject: leaf.Subject.CommonName, Names: PeerNames(leaf), Err: err}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	opts := x509.VerifyOptions{
		Roots:         p.Roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if p.RequireClientAuthEKU {
		// Also checks that every CA in the chain permits clientAuth.
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		var inv x509.CertificateInvalidError
		var unknown x509.UnknownAuthorityError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			return refuse(ReasonExpired, err)
		case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
			return refuse(ReasonMissingClientAuth, err)
		case errors.As(err, &unknown):
			return refuse(ReasonUnknownCA, err)
		}
		return refuse(ReasonBadCertificate, err)
	}
	// x509 treats a certificate without the EKU extension as good for any
	// purpose; Lync's mutual authentication wants clientAuth spelled out.
	if p.RequireClientAuthEKU && !slices.ContainsFunc(leaf.ExtKeyUsage, func(u x509.ExtKeyUsage) bool {
		return u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
	}) {
		return refuse(ReasonMissingClientAuth, errors.New("no extended key usage extension"))
	}
	if len(p.AllowedPeers) > 0 && !AllowedName(p.AllowedPeers, PeerNames(leaf)) {
		return refuse(ReasonPeerNotAllowed, nil)
	}
	return nil
}

// PeerNames returns the names a certificate identifies its holder by: the
// DNS SANs and the subject CN (Lync pool certificates carry the pool FQDN
// in both).
func PeerNames(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	if cn := c.Subject.CommonName; cn != "" && !slices.Contains(names, cn) {
		names = append(names, cn)
	}
	return names
}

// AllowedName reports whether any of names matches any pattern.
func AllowedName(patterns, names []string) bool {
	for _, p := range patterns {
		for _, n := range names {
			if MatchName(p, n) {
				return true
			}
		}
	}
	return false
}

// MatchName reports whether a certificate name matches an allow-list
// pattern, case-insensitively (DNS names, RFC 4343). "*.pool.example.com"
// matches exactly one leftmost label ("fe01.pool.example.com", not
// "pool.example.com" nor "a.b.pool.example.com"), as RFC 6125 §6.4.3
// matches wildcards. A wildcard name inside a certificate is matched only
// literally: "*.example.com" in a certificate is not a licence for every
// pattern under example.com.
func MatchName(pattern, name string) bool {
	pattern, name = strings.ToLower(strings.TrimSuffix(pattern, ".")), strings.ToLower(strings.TrimSuffix(name, "."))
	if pattern == name {
		return true
	}
	suffix, ok := strings.CutPrefix(pattern, "*.")
	if !ok {
		return false
	}
	label, rest, ok := strings.Cut(name, ".")
	return ok && label != "" && label != "*" && rest == suffix
}
