package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

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
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, &ConfigError{Key: keyPrefix + "ca_file", Reason: err.Error()}
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Key: keyPrefix + "ca_file", Reason: "no PEM certificate in " + c.CAFile}
		}
	}
	return t, nil
}

// connect dials the server, upgrades to TLS if configured, and binds as
// the service account. The TLS handshake of ldaps:// is bounded by the
// dialer's timeout; StartTLS, which go-ldap runs without a deadline, is
// bounded here by closing the connection.
func connect(ctx context.Context, cfg Config, tlsCfg *tls.Config) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	conn, err := ldap.DialURL(cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w: %w", cfg.URL, ErrUnreachable, err)
	}
	conn.SetTimeout(cfg.Timeout)
	if cfg.StartTLS {
		if err := startTLS(ctx, conn, tlsCfg, cfg.DialTimeout); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w: %w", cfg.URL, ErrUnreachable, err)
		}
	}
	if err := bind(conn, cfg); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// startTLS runs conn.StartTLS, closing the connection if it takes longer
// than timeout or ctx ends.
func startTLS(ctx context.Context, conn *ldap.Conn, tlsCfg *tls.Config, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err := conn.StartTLS(tlsCfg)
	if !stop() { // the connection was closed under StartTLS
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return err
}

// bind does the simple bind, refusing to send the password without TLS
// unless AllowInsecure is set.
func bind(c ldap.Client, cfg Config) error {
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

// isNetworkError reports errors of the connection rather than of the
// request: go-ldap's ErrorNetwork (closed connection, timeout) and net
// errors.
func isNetworkError(err error) bool {
	var ne net.Error
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || errors.As(err, &ne)
}
