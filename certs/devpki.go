package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// DevPKIOptions shape the development PKI; zero values take the defaults.
type DevPKIOptions struct {
	// ServerName is the RCC server's FQDN (default "rcc.example.com"); the
	// server certificate also names localhost, 127.0.0.1 and ::1.
	ServerName string
	// PoolName is the Lync pool's FQDN (default "lyncpool.example.com");
	// the pool certificates also name "fe01." + PoolName.
	PoolName string
	// PKCS12Password protects server.p12 (default "rccserver").
	PKCS12Password string
	// Now is the issue time (default time.Now()).
	Now time.Time
	// Validity of the issued certificates (default 397 days).
	Validity time.Duration
}

// DevFiles are the paths InitDevPKI writes in a directory. Every
// certificate file has a "-key.pem" private key next to it.
type DevFiles struct {
	CA, CAKey                      string // the development CA
	ServerCert, ServerKey          string // rcc.example.com, serverAuth+clientAuth
	ServerPKCS12                   string // the server certificate, key and CA as PKCS#12
	ClientCert, ClientKey          string // the Lync pool: serverAuth+clientAuth, as Lync's own certificate
	NoEKUCert, NoEKUKey            string // the Lync pool with serverAuth only (the classic field failure)
	ExpiredCert, ExpiredKey        string // the Lync pool, expired a month ago
	RogueCA                        string // a CA nobody trusts
	RogueCert, RogueKey            string // the Lync pool's name, issued by RogueCA
	IntruderCert, IntruderKey      string // a good certificate from our CA for intruder.example.com
	ServerName, PoolName, Password string
}

// DevFilesIn returns the paths of a development PKI in dir, with the
// default names.
func DevFilesIn(dir string) DevFiles {
	return DevPKIOptions{}.withDefaults().files(dir)
}

func (o DevPKIOptions) withDefaults() DevPKIOptions {
	if o.ServerName == "" {
		o.ServerName = "rcc.example.com"
	}
	if o.PoolName == "" {
		o.PoolName = "lyncpool.example.com"
	}
	if o.PKCS12Password == "" {
		o.PKCS12Password = "rccserver"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Validity == 0 {
		o.Validity = 397 * 24 * time.Hour
	}
	return o
}

func (o DevPKIOptions) files(dir string) DevFiles {
	p := func(name string) string { return filepath.Join(dir, name) }
	return DevFiles{
		CA: p("ca.pem"), CAKey: p("ca-key.pem"),
		ServerCert: p("server.pem"), ServerKey: p("server-key.pem"), ServerPKCS12: p("server.p12"),
		ClientCert: p("lyncpool.pem"), ClientKey: p("lyncpool-key.pem"),
		NoEKUCert: p("lyncpool-noeku.pem"), NoEKUKey: p("lyncpool-noeku-key.pem"),
		ExpiredCert: p("lyncpool-expired.pem"), ExpiredKey: p("lyncpool-expired-key.pem"),
		RogueCA: p("rogue-ca.pem"), RogueCert: p("rogue.pem"), RogueKey: p("rogue-key.pem"),
		IntruderCert: p("intruder.pem"), IntruderKey: p("intruder-key.pem"),
		ServerName: o.ServerName, PoolName: o.PoolName, Password: o.PKCS12Password,
	}
}

// InitDevPKI writes a development PKI into dir (created if needed): a CA,
// a server certificate for the RCC FQDN, and Lync pool client certificates
// good and bad (no clientAuth EKU, expired, from an unknown CA, a name not
// allowed), plus server.p12. An existing CA in dir is kept, so running it
// again renews every other certificate under the same trust anchor (what
// a certificate renewal looks like to the clients). Files are replaced
// atomically. Never use these certificates in production.
func InitDevPKI(dir string, o DevPKIOptions) (DevFiles, error) {
	o = o.withDefaults()
	f := o.files(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	ca, err := loadOrMakeCA(f.CA, f.CAKey, "rccserver development CA", o)
	if err != nil {
		return f, err
	}
	rogue, err := makeCA("rogue CA", o)
	if err != nil {
		return f, err
	}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	pool := []string{o.PoolName, "fe01." + o.PoolName}
	day := 24 * time.Hour
	leaves := []struct {
		issuer          *issuer
		cn              string
		dns             []string
		ips             []net.IP
		eku             []x509.ExtKeyUsage
		from, to        time.Time
		certOut, keyOut string
	}{
		{ca, o.ServerName, []string{o.ServerName, "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, both, o.Now.Add(-time.Hour), o.Now.Add(o.Validity), f.ServerCert, f.ServerKey},
		{ca, o.PoolName, pool, nil, both, o.Now.Add(-time.Hour), o.Now.Add(o.Validity), f.ClientCert, f.ClientKey},
		{ca, o.PoolName, pool, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, o.Now.Add(-time.Hour), o.Now.Add(o.Validity), f.NoEKUCert, f.NoEKUKey},
		{ca, o.PoolName, pool, nil, both, o.Now.Add(-60 * day), o.Now.Add(-30 * day), f.ExpiredCert, f.ExpiredKey},
		{rogue, o.PoolName, pool, nil, both, o.Now.Add(-time.Hour), o.Now.Add(o.Validity), f.RogueCert, f.RogueKey},
		{ca, "intruder.example.com", []string{"intruder.example.com"}, nil, both, o.Now.Add(-time.Hour), o.Now.Add(o.Validity), f.IntruderCert, f.IntruderKey},
	}
	for _, l := range leaves {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: l.cn, Organization: []string{"rccserver development"}},
			DNSNames:    l.dns,
			IPAddresses: l.ips,
			NotBefore:   l.from,
			NotAfter:    l.to,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: l.eku,
		}
		cert, key, err := l.issuer.issue(tmpl)
		if err != nil {
			return f, err
		}
		if err := writeCert(l.certOut, cert); err != nil {
			return f, err
		}
		if err := writeKey(l.keyOut, key); err != nil {
			return f, err
		}
		if l.certOut == f.ServerCert {
			p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca.cert}, o.PKCS12Password)
			if err != nil {
				return f, err
			}
			if err := writeFile(f.ServerPKCS12, p12, 0o600); err != nil {
				return f, err
			}
		}
	}
	if err := writeCert(f.RogueCA, rogue.cert); err != nil {
		return f, err
	}
	return f, nil
}

// issuer is a CA certificate with its key.
type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func makeCA(cn string, o DevPKIOptions) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"rccserver development"}},
		NotBefore:             o.Now.Add(-time.Hour),
		NotAfter:              o.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &issuer{cert: cert, key: key}, err
}

// loadOrMakeCA keeps the CA already in dir, or makes and writes one.
func loadOrMakeCA(certFile, keyFile, cn string, o DevPKIOptions) (*issuer, error) {
	if pair, err := LoadKeyPair(certFile, keyFile, ""); err == nil {
		if signer, ok := pair.PrivateKey.(crypto.Signer); ok && pair.Leaf.IsCA {
			return &issuer{cert: pair.Leaf, key: signer}, nil
		}
		return nil, fmt.Errorf("%w: %s is not a CA with a signing key", ErrLoad, certFile)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ca, err := makeCA(cn, o)
	if err != nil {
		return nil, err
	}
	if err := writeCert(certFile, ca.cert); err != nil {
		return nil, err
	}
	return ca, writeKey(keyFile, ca.key)
}

func (ca *issuer) issue(tmpl *x509.Certificate) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func writeCert(path string, c *x509.Certificate) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFile replaces path atomically (write to a temporary file, rename),
// so a polling Manager never reads half a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ClientTLS is a client configuration for tests and tools: it trusts the
// development CA and, when cert is not empty, presents that certificate —
// even when the server's CertificateRequest does not list its issuer (Go
// would then send none), as OpenSSL-based clients do.
func (f DevFiles) ClientTLS(cert, key string) (*tls.Config, error) {
	pool, _, err := LoadCAPool(f.CA)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{RootCAs: pool, ServerName: f.ServerName}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return c, nil
}
