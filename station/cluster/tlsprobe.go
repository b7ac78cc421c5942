package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// diagnoseTLS runs after a failed join over TLS. gRPC only says the
// request timed out; a handshake of our own with each member tells a
// certificate problem (etcd's certificate not signed by the configured
// CA, our client certificate refused) from etcd being down, so that the
// operator reads Cs_ClusterTLSFailed and the reason instead of
// Cs_ClusterUnavailable. It returns joinErr when no member shows a TLS
// problem.
func diagnoseTLS(ctx context.Context, endpoints []string, cfg *tls.Config, timeout time.Duration, joinErr error) error {
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			continue
		}
		if err := probeTLS(ctx, u.Host, cfg, timeout); err != nil {
			return fmt.Errorf("%w: %s: %w (join: %w)", ErrTLS, ep, err, joinErr)
		}
	}
	return joinErr
}

// probeTLS handshakes with addr and waits briefly for the server's first
// bytes: with TLS 1.3 a refused client certificate arrives as an alert
// after the client's side of the handshake is done (RFC 8446 §4.4.2.4).
// It returns only TLS errors; a member out of reach is not one.
func probeTLS(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration) error {
	c := cfg.Clone()
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil
		}
		c.ServerName = host
	}
	c.NextProtos = []string{"h2"}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if dctx.Err() != nil { // the join used the caller's time up: give the probe its own
		dctx, cancel = context.WithTimeout(context.Background(), timeout)
		defer cancel()
	}
	d := tls.Dialer{Config: c}
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if isTLSHandshake(err) {
			return err
		}
		return nil
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout / 2))
	if _, err := conn.Read(make([]byte, 1)); err != nil && isTLSHandshake(err) {
		return err
	}
	return nil
}

// isTLSHandshake reports an error of the TLS layer: a certificate the
// client could not verify, a server not speaking TLS, or an alert from
// the server (crypto/tls does not export that type: isTLS matches text).
func isTLSHandshake(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		rec    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &rec) || isTLS(err)
}
