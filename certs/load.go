package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadCertificate reads the server certificate of c: Cert, Key and Chain,
// or the PKCS12 bundle with its password. The result has Leaf set and the
// chain after the leaf, as crypto/tls sends it.
func LoadCertificate(c Config) (*tls.Certificate, error) {
	if c.PKCS12 != "" {
		pw, err := c.pkcs12Password()
		if err != nil {
			return nil, err
		}
		return LoadPKCS12(c.PKCS12, pw)
	}
	return LoadKeyPair(c.Cert, c.Key, c.Chain)
}

// pkcs12Password resolves the bundle's password from the config or the environment.
func (c Config) pkcs12Password() (string, error) {
	if c.PKCS12PasswordEnv == "" {
		return c.PKCS12Password, nil
	}
	pw, ok := os.LookupEnv(c.PKCS12PasswordEnv)
	if !ok {
		return "", fmt.Errorf("%w: pkcs12 password: environment variable %s is not set", ErrLoad, c.PKCS12PasswordEnv)
	}
	return pw, nil
}

// LoadKeyPair reads a PEM certificate (optionally followed by its
// intermediates), its PEM key, and an optional PEM chain file.
func LoadKeyPair(certFile, keyFile, chainFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("%w: cert: %w", ErrLoad, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrLoad, err)
	}
	if chainFile != "" {
		chainPEM, err := os.ReadFile(chainFile)
		if err != nil {
			return nil, fmt.Errorf("%w: chain: %w", ErrLoad, err)
		}
		if _, err := parsePEMCerts(chainPEM); err != nil {
			return nil, fmt.Errorf("%w: chain %s: %w", ErrLoad, chainFile, err)
		}
		certPEM = append(append(certPEM, '\n'), chainPEM...)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if isKeyMismatch(err) {
			return nil, fmt.Errorf("%w: %s and %s: %w", ErrKeyMismatch, certFile, keyFile, err)
		}
		return nil, fmt.Errorf("%w: %s, %s: %w", ErrLoad, certFile, keyFile, err)
	}
	return &cert, nil
}

// isKeyMismatch reports whether crypto/tls said the key does not match the
// certificate (it has no sentinel error for that).
func isKeyMismatch(err error) bool {
	return strings.Contains(err.Error(), "private key does not match public key") ||
		strings.Contains(err.Error(), "private key type does not match public key type")
}

// LoadPKCS12 reads a PKCS#12 (.pfx/.p12) bundle: a private key, its
// certificate and the CA certificates exported with it (RFC 7292).
func LoadPKCS12(file, password string) (*tls.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: pkcs12: %w", ErrLoad, err)
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, fmt.Errorf("%w: pkcs12 %s: %w", ErrLoad, file, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: pkcs12 %s: unsupported key type %T", ErrLoad, file, key)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return nil, fmt.Errorf("%w: pkcs12 %s", ErrKeyMismatch, file)
	}
	cert := &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: signer, Leaf: leaf}
	for _, ca := range cas {
		if ca.IsCA && isSelfSigned(ca) {
			continue // the root need not be sent (RFC 8446 §4.4.2)
		}
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	return cert, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// LoadCAPool reads a PEM file of CA certificates into a pool, for
// verifying client certificates.
func LoadCAPool(file string) (*x509.CertPool, []*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: client_ca: %w", ErrLoad, err)
	}
	certs, err := parsePEMCerts(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: client_ca %s: %w", ErrLoad, file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, certs, nil
}

// parsePEMCerts parses every CERTIFICATE block; it fails if there is none.
func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return out, nil
}
