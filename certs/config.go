package certs

import (
	"fmt"
	"strings"
	"time"
)

// DefaultReloadInterval is how often a [Manager] polls its files for a
// change when Config.ReloadInterval is zero.
const DefaultReloadInterval = 10 * time.Second

// Config is where a TLS or MTLS listener's certificate comes from and, for
// MTLS, which clients it trusts. The mapstructure keys are the YAML keys of
// a listener (docs/tls.md); paths are used as written (relative to the
// daemon's working directory).
type Config struct {
	// Cert is a PEM file with the server certificate, optionally followed
	// by its intermediates; Key is its PEM private key (PKCS#1, PKCS#8 or SEC 1).
	Cert string `mapstructure:"cert"`
	Key  string `mapstructure:"key"`
	// Chain is an optional PEM file of intermediate CA certificates sent
	// after Cert (the Lync CA chain when it is not in Cert).
	Chain string `mapstructure:"chain"`
	// PKCS12 is a .pfx/.p12 bundle (a certificate exported from Windows with
	// its private key), instead of Cert and Key. Its password is
	// PKCS12Password, or the value of the environment variable named by
	// PKCS12PasswordEnv (to keep it out of the file).
	PKCS12            string `mapstructure:"pkcs12"`
	PKCS12Password    string `mapstructure:"pkcs12_password"`
	PKCS12PasswordEnv string `mapstructure:"pkcs12_password_env"`

	// ClientCA (MTLS only) is a PEM file of the CA certificates that issue
	// the Lync pool's certificates. Required for MTLS.
	ClientCA string `mapstructure:"client_ca"`
	// RequireClientAuthEKU (MTLS only): the client certificate must carry
	// the clientAuth extended key usage. Default true (nil).
	RequireClientAuthEKU *bool `mapstructure:"require_client_auth_eku"`
	// AllowedPeers (MTLS only) are the names a client certificate may carry
	// in its subject CN or DNS SANs: exact FQDNs or "*.pool.example.com"
	// (one leftmost label, RFC 6125 §6.4.3). Empty allows any certificate
	// that chains to ClientCA.
	AllowedPeers []string `mapstructure:"allowed_peers"`
	// ReloadInterval is how often the files are checked for a change
	// (modification time and size); 0 means DefaultReloadInterval and a
	// negative value turns polling off (reload on SIGHUP only).
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
}

// IsZero reports whether nothing is set (a tcp or udp listener).
func (c Config) IsZero() bool {
	return c.Cert == "" && c.Key == "" && c.Chain == "" && c.PKCS12 == "" &&
		c.PKCS12Password == "" && c.PKCS12PasswordEnv == "" && c.ClientCA == "" &&
		c.RequireClientAuthEKU == nil && len(c.AllowedPeers) == 0 && c.ReloadInterval == 0
}

// RequiresClientAuthEKU returns RequireClientAuthEKU with its default (true).
func (c Config) RequiresClientAuthEKU() bool {
	return c.RequireClientAuthEKU == nil || *c.RequireClientAuthEKU
}

// pollInterval returns the effective polling interval, 0 when off.
func (c Config) pollInterval() time.Duration {
	switch {
	case c.ReloadInterval < 0:
		return 0
	case c.ReloadInterval == 0:
		return DefaultReloadInterval
	}
	return c.ReloadInterval
}

// Problems checks the settings of a TLS (mutual false) or MTLS listener
// without reading any file, and returns every problem.
func (c Config) Problems(mutual bool) []*ConfigError {
	var out []*ConfigError
	bad := func(key, format string, args ...any) {
		out = append(out, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	switch {
	case c.PKCS12 != "" && (c.Cert != "" || c.Key != ""):
		bad("pkcs12", "give either pkcs12 or cert and key, not both")
	case c.PKCS12 == "" && c.Cert == "" && c.Key == "":
		bad("cert", "a server certificate is required: cert and key, or pkcs12")
	case c.PKCS12 == "" && c.Cert == "":
		bad("cert", "key is set but cert is not")
	case c.PKCS12 == "" && c.Key == "":
		bad("key", "cert is set but key is not")
	}
	if c.Chain != "" && c.Cert == "" {
		bad("chain", "chain goes with cert and key (a pkcs12 bundle carries its own chain)")
	}
	if c.PKCS12 == "" && (c.PKCS12Password != "" || c.PKCS12PasswordEnv != "") {
		bad("pkcs12_password", "set without pkcs12")
	}
	if c.PKCS12Password != "" && c.PKCS12PasswordEnv != "" {
		bad("pkcs12_password_env", "give either pkcs12_password or pkcs12_password_env, not both")
	}
	if mutual {
		if c.ClientCA == "" {
			bad("client_ca", "mtls needs the CA file that issued the Lync pool's certificates")
		}
	} else {
		if c.ClientCA != "" {
			bad("client_ca", "client certificates are checked only on mtls listeners")
		}
		if c.RequireClientAuthEKU != nil {
			bad("require_client_auth_eku", "applies only to mtls listeners")
		}
		if len(c.AllowedPeers) > 0 {
			bad("allowed_peers", "applies only to mtls listeners")
		}
	}
	for i, p := range c.AllowedPeers {
		if err := checkPattern(p); err != "" {
			bad(fmt.Sprintf("allowed_peers[%d]", i), "%q: %s", p, err)
		}
	}
	return out
}

// checkPattern validates an allowed_peers entry; "" means valid.
func checkPattern(p string) string {
	if p == "" {
		return "empty name"
	}
	rest, wild := strings.CutPrefix(p, "*.")
	if strings.Contains(rest, "*") {
		return "a wildcard may only be the whole leftmost label (*.pool.example.com)"
	}
	if wild && !strings.Contains(rest, ".") {
		return "a wildcard needs at least two labels after it"
	}
	for label := range strings.SplitSeq(rest, ".") {
		if label == "" {
			return "empty label"
		}
	}
	return ""
}
