package certs_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rccserver/rccserver/certs"
)

func TestLoadCertificate(t *testing.T) {
	f := devPKI(t)
	t.Setenv("RCC_TEST_P12_PASSWORD", f.Password)
	server := readCert(t, f.ServerCert)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("no pem here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cfg      certs.Config
		want     error
		chainLen int
	}{
		{"PEM pair", certs.Config{Cert: f.ServerCert, Key: f.ServerKey}, nil, 1},
		{"PEM pair with chain", certs.Config{Cert: f.ServerCert, Key: f.ServerKey, Chain: f.CA}, nil, 2},
		{"PKCS#12", certs.Config{PKCS12: f.ServerPKCS12, PKCS12Password: f.Password}, nil, 1},
		{"PKCS#12 password from env", certs.Config{PKCS12: f.ServerPKCS12, PKCS12PasswordEnv: "RCC_TEST_P12_PASSWORD"}, nil, 1},
		{"PKCS#12 env unset", certs.Config{PKCS12: f.ServerPKCS12, PKCS12PasswordEnv: "RCC_TEST_UNSET_VARIABLE"}, certs.ErrLoad, 0},
		{"PKCS#12 wrong password", certs.Config{PKCS12: f.ServerPKCS12, PKCS12Password: "wrong"}, certs.ErrLoad, 0},
		{"key of another certificate", certs.Config{Cert: f.ServerCert, Key: f.ClientKey}, certs.ErrKeyMismatch, 0},
		{"missing file", certs.Config{Cert: f.ServerCert + ".nope", Key: f.ServerKey}, os.ErrNotExist, 0},
		{"chain without certificates", certs.Config{Cert: f.ServerCert, Key: f.ServerKey, Chain: empty}, certs.ErrLoad, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := certs.LoadCertificate(tc.cfg)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Leaf == nil || !c.Leaf.Equal(server) {
				t.Fatalf("leaf %v, want the server certificate", c.Leaf)
			}
			if len(c.Certificate) != tc.chainLen {
				t.Fatalf("%d certificates sent, want %d", len(c.Certificate), tc.chainLen)
			}
		})
	}
}

func TestLoadCAPool(t *testing.T) {
	f := devPKI(t)
	_, cas, err := certs.LoadCAPool(f.CA)
	if err != nil || len(cas) != 1 || !cas[0].IsCA {
		t.Fatalf("LoadCAPool: %v %v", cas, err)
	}
	if _, _, err := certs.LoadCAPool(f.ServerKey); !errors.Is(err, certs.ErrLoad) {
		t.Fatalf("a key file as CA: %v", err)
	}
}

func TestConfigProblems(t *testing.T) {
	no := false
	tests := []struct {
		name   string
		cfg    certs.Config
		mutual bool
		keys   []string
	}{
		{"tls ok", certs.Config{Cert: "c", Key: "k"}, false, nil},
		{"mtls ok", certs.Config{PKCS12: "p", PKCS12PasswordEnv: "X", ClientCA: "ca", AllowedPeers: []string{"*.pool.example.com"}}, true, nil},
		{"nothing", certs.Config{}, false, []string{"cert"}},
		{"cert without key", certs.Config{Cert: "c"}, false, []string{"key"}},
		{"both sources", certs.Config{Cert: "c", Key: "k", PKCS12: "p"}, false, []string{"pkcs12"}},
		{"two passwords", certs.Config{PKCS12: "p", PKCS12Password: "a", PKCS12PasswordEnv: "B"}, false, []string{"pkcs12_password_env"}},
		{"mtls without CA", certs.Config{Cert: "c", Key: "k"}, true, []string{"client_ca"}},
		{"policy on tls", certs.Config{Cert: "c", Key: "k", ClientCA: "ca", RequireClientAuthEKU: &no, AllowedPeers: []string{"a.b"}}, false,
			[]string{"client_ca", "require_client_auth_eku", "allowed_peers"}},
		{"bad patterns", certs.Config{Cert: "c", Key: "k", ClientCA: "ca", AllowedPeers: []string{"fe*.pool.example.com", "*.com", "", "a..b"}}, true,
			[]string{"allowed_peers[0]", "allowed_peers[1]", "allowed_peers[2]", "allowed_peers[3]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var keys []string
			for _, p := range tc.cfg.Problems(tc.mutual) {
				if !errors.Is(p, certs.ErrConfig) {
					t.Errorf("%v does not wrap ErrConfig", p)
				}
				keys = append(keys, p.Key)
			}
			if len(keys) != len(tc.keys) {
				t.Fatalf("problems at %v, want %v", keys, tc.keys)
			}
			for i := range keys {
				if keys[i] != tc.keys[i] {
					t.Fatalf("problems at %v, want %v", keys, tc.keys)
				}
			}
		})
	}
}
