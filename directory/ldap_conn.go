package directory

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/go-ldap/ldap/v3"
)

// tlsConfig returns the TLS configuration for the server: Config.TLS if
// set, else one trusting CAFile (or the system roots) and expecting
// ServerName (or the URL's host). TLS 1.2 at least; AD DCs since Windows
// Server 2012 speak it.
func (c Config) tlsConfig() (*tls.Config, error) {
	host := ""
	if u, err := url.Parse(c.URL); err == nil {
		host = u.Hostname()
	}
	if c.TLS != nil {
		t := c.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = host
		}
		return t, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if t.ServerName == "" {
		t.ServerName = host
	}
	if c.CAFile != "" {
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			return nil, &ConfigError{Key: keyPrefix + "ca_file", Reason: err.Error(), Err: ErrTLS}
		}
		t.RootCAs = pool
	}
	return t, nil
}

// loadCAFile reads a PEM file of CA certificates. Unlike
// x509.CertPool.AppendCertsFromPEM, which skips what it cannot parse and
// only reports "nothing found", it names the certificate Go refuses and
// Go's reason: e.g. "x509: negative serial number" for the self-made
// certificate of some Samba provisions (Go rejects negative serials since
// Go 1.23, RFC 5280 section 4.1.2.2).
func loadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d in %s cannot be parsed: %w", n, path, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, fmt.Errorf("no PEM certificate (-----BEGIN CERTIFICATE-----) in %s", path)
	}
	return pool, nil
}

// binder is the part of a connection bind needs.
type binder interface {
	TLSConnectionState() (tls.ConnectionState, bool)
	Bind(user, password string) error
}

// bind does the simple bind, refusing to send the password without TLS
// unless AllowInsecure is set.
func bind(c binder, cfg Config) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && !cfg.AllowInsecure {
		return fmt.Errorf("bind as %q to %s: %w", cfg.BindDN, cfg.URL, ErrInsecureBind)
	}
	if err := c.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		if isNetworkError(err) {
			return fmt.Errorf("bind as %q to %s: %w: %w", cfg.BindDN, cfg.URL, ErrUnreachable, err)
		}
		return fmt.Errorf("bind as %q to %s: %w: %w", cfg.BindDN, cfg.URL, ErrBind, err)
	}
	return nil
}

// tlsCause says in words why TLS failed, from the x509 error types Go's
// verification returns (crypto/x509: UnknownAuthorityError, HostnameError,
// CertificateInvalidError).
func tlsCause(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		header   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &hostname):
		return fmt.Sprintf("the server certificate is not valid for the name %q (it has %s); set directory.server_name to one of its names or fix the certificate's subjectAltName",
			hostname.Host, certNames(hostname.Certificate))
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = unknown.Cert.Issuer.String()
		}
		return fmt.Sprintf("the server certificate chain does not lead to a trusted CA (issuer %q is not in directory.ca_file or the system roots)", issuer)
	case errors.As(err, &invalid):
		return "the server certificate is not acceptable: " + invalid.Error()
	case errors.As(err, &header):
		return "the server did not answer with TLS (is this an ldaps:// port?)"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "the server closed the connection during the TLS handshake (not a TLS port, or it has no usable certificate)"
	case errors.As(err, &alert):
		return "the server refused the TLS handshake: " + alert.Error()
	case ldap.IsErrorWithCode(err, ldap.LDAPResultProtocolError), ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailable):
		return "the server refused StartTLS (no certificate configured?)"
	}
	return "TLS handshake failed"
}

// certNames lists the DNS and IP subjectAltNames of c, or its CN when it
// has none (which Go does not accept as a host name since Go 1.15).
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no certificate"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return fmt.Sprintf("no subjectAltName, only CN %q, which Go ignores", c.Subject.CommonName)
	}
	return "subjectAltName " + strings.Join(names, ", ")
}

// isNetworkError reports errors of the connection rather than of the
// request: go-ldap's ErrorNetwork (closed connection, timeout) and net
// errors.
func isNetworkError(err error) bool {
	var ne net.Error
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || errors.As(err, &ne)
}
