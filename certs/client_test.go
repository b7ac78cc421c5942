package certs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/certs"
)

// TestClientConfig: the CA file becomes the roots, the client certificate
// is always presented; half a key pair, a key of another certificate, an
// expired certificate and a CA file without certificates are refused.
func TestClientConfig(t *testing.T) {
	f := devPKI(t)
	now := time.Now()
	c, err := certs.ClientConfig(f.CA, f.ClientCert, f.ClientKey, now)
	if err != nil || c.RootCAs == nil || c.GetClientCertificate == nil || c.InsecureSkipVerify {
		t.Fatalf("ClientConfig: %+v, %v", c, err)
	}
	if pair, err := c.GetClientCertificate(nil); err != nil || len(pair.Certificate) == 0 {
		t.Fatalf("client certificate: %v", err)
	}
	if c, err := certs.ClientConfig("", "", "", now); err != nil || c.RootCAs != nil || c.GetClientCertificate != nil {
		t.Fatalf("system roots, no client certificate: %+v, %v", c, err)
	}
	for name, tc := range map[string]struct {
		ca, cert, key string
		want          error
		text          string
	}{
		"cert without key": {f.CA, f.ClientCert, "", certs.ErrLoad, "both cert and key"},
		"key mismatch":     {f.CA, f.ClientCert, f.ServerKey, certs.ErrKeyMismatch, ""},
		"expired":          {f.CA, f.ExpiredCert, f.ExpiredKey, certs.ErrLoad, "valid"},
		"CA is a key":      {f.ClientKey, "", "", certs.ErrLoad, "no PEM CERTIFICATE"},
		"CA missing":       {f.CA + ".none", "", "", certs.ErrLoad, "ca"},
	} {
		_, err := certs.ClientConfig(tc.ca, tc.cert, tc.key, now)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v containing %q", name, err, tc.want, tc.text)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: key material in %v", name, err)
		}
	}
}
