package certs_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/rccserver/rccserver/certs"
)

func TestPolicyVerify(t *testing.T) {
	f := devPKI(t)
	pool, _, err := certs.LoadCAPool(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cert    string // "" sends no certificate
		noEKU   bool   // require_client_auth_eku: false
		allowed []string
		want    error
	}{
		{"good", f.ClientCert, false, []string{"lyncpool.example.com"}, nil},
		{"good, any name", f.ClientCert, false, nil, nil},
		{"wildcard SAN match", f.ClientCert, false, []string{"*.lyncpool.example.com"}, nil},
		{"wildcard no match", f.ClientCert, false, []string{"*.pool.example.com"}, certs.ErrPeerNotAllowed},
		{"no certificate", "", false, nil, certs.ErrNoClientCertificate},
		{"missing clientAuth EKU", f.NoEKUCert, false, nil, certs.ErrMissingClientAuthEKU},
		{"EKU not required", f.NoEKUCert, true, nil, nil},
		{"expired", f.ExpiredCert, false, nil, certs.ErrExpired},
		{"unknown CA", f.RogueCert, false, nil, certs.ErrUnknownCA},
		{"name not allowed", f.IntruderCert, false, []string{"lyncpool.example.com"}, certs.ErrPeerNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &certs.Policy{Roots: pool, RequireClientAuthEKU: !tc.noEKU, AllowedPeers: tc.allowed}
			var chain []*x509.Certificate
			if tc.cert != "" {
				chain = append(chain, readCert(t, tc.cert))
			}
			err := p.Verify(chain)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if err == nil {
				return
			}
			var pe *certs.PeerError
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *PeerError", err)
			}
			if tc.cert != "" && pe.Subject == "" {
				t.Errorf("PeerError without subject: %v", pe)
			}
		})
	}
}

func TestPolicyCertWithoutEKUExtension(t *testing.T) {
	// x509 treats "no EKU extension" as any purpose; the policy does not.
	f := devPKI(t)
	pool, _, _ := certs.LoadCAPool(f.CA)
	leaf := readCert(t, f.ClientCert)
	leaf.ExtKeyUsage = nil // only the policy's own check reads it after Verify
	p := &certs.Policy{Roots: pool, RequireClientAuthEKU: true}
	if err := p.Verify([]*x509.Certificate{leaf}); !errors.Is(err, certs.ErrMissingClientAuthEKU) {
		t.Fatalf("Verify: %v", err)
	}
}

func TestPolicyClock(t *testing.T) {
	f := devPKI(t)
	pool, _, _ := certs.LoadCAPool(f.CA)
	leaf := readCert(t, f.ClientCert)
	p := &certs.Policy{Roots: pool, Now: func() time.Time { return leaf.NotAfter.Add(time.Minute) }}
	if err := p.Verify([]*x509.Certificate{leaf}); !errors.Is(err, certs.ErrExpired) {
		t.Fatalf("Verify after NotAfter: %v", err)
	}
}

func TestMatchName(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"lyncpool.example.com", "lyncpool.example.com", true},
		{"LyncPool.Example.COM", "lyncpool.example.com.", true},
		{"lyncpool.example.com", "fe01.lyncpool.example.com", false},
		{"*.pool.example.com", "fe01.pool.example.com", true},
		{"*.pool.example.com", "FE01.Pool.Example.com", true},
		{"*.pool.example.com", "pool.example.com", false},
		{"*.pool.example.com", "a.fe01.pool.example.com", false},
		{"*.pool.example.com", "*.pool.example.com", true}, // literal wildcard name in a certificate
		{"*.pool.example.com", ".pool.example.com", false},
		{"fe01.pool.example.com", "*.pool.example.com", false},
		{"*.example.com", "evil.com", false},
	}
	for _, tc := range tests {
		if got := certs.MatchName(tc.pattern, tc.name); got != tc.want {
			t.Errorf("MatchName(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
