package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// ClientConfig is a TLS client configuration for a service rccserver
// connects to (etcd): the server's certificate is verified against the
// PEM CAs in caFile (the system's CAs when caFile is ""), and the client
// certificate certFile with keyFile is presented when certFile is set.
// certFile and keyFile go together. A certificate that has expired is
// refused here rather than by the server at the first handshake.
func ClientConfig(caFile, certFile, keyFile string, now time.Time) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ca: %w", ErrLoad, err)
		}
		cas, err := parsePEMCerts(data)
		if err != nil {
			return nil, fmt.Errorf("%w: ca %s: %w", ErrLoad, caFile, err)
		}
		c.RootCAs = x509.NewCertPool()
		for _, ca := range cas {
			c.RootCAs.AddCert(ca)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both cert and key", ErrLoad)
	}
	if certFile == "" {
		return c, nil
	}
	pair, err := LoadKeyPair(certFile, keyFile, "")
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%w: cert %s: %w", ErrLoad, certFile, err)
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: cert %s: valid %s to %s", ErrLoad, certFile,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	// Always present it, even when the server's CertificateRequest names
	// other CAs (Go would then send none): the server's refusal then names
	// the certificate, not its absence.
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	return c, nil
}
