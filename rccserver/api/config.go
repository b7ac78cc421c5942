package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// DefaultBuffer is how many events the stream keeps for resuming
// consumers (Last-Event-ID) unless api.buffer says otherwise.
const DefaultBuffer = 4096

// Config is the api section of the configuration (docs/configuration.md).
type Config struct {
	// Listen is the API listener, host:port; "" switches the API off.
	Listen string `mapstructure:"listen"`
	// TLS, when both files are set, serves HTTPS.
	TLS struct {
		Cert string `mapstructure:"cert"`
		Key  string `mapstructure:"key"`
	} `mapstructure:"tls"`
	// Buffer is the size of the event window a consumer can resume in.
	Buffer int `mapstructure:"buffer"`
	// Tokens are the accepted bearer tokens, by SHA-256 hash.
	Tokens []Token `mapstructure:"tokens"`
}

// Token is one accepted bearer token. The configuration holds only the
// SHA-256 of the token (HashToken), never the token.
type Token struct {
	// Name identifies the token in logs ("crm", "operator").
	Name string `mapstructure:"name"`
	// SHA256 is the lower-case hex SHA-256 of the token.
	SHA256 string `mapstructure:"sha256"`
	// Stations are the extensions the token may see and act on; "*" is all.
	Stations []string `mapstructure:"stations"`
}

// HashToken returns the hex SHA-256 of a token, the form api.tokens holds
// (the same as `printf %s TOKEN | sha256sum`).
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// allows reports whether the token is scoped to station ext.
func (t *Token) allows(ext string) bool {
	return slices.Contains(t.Stations, "*") || slices.Contains(t.Stations, ext)
}

// all reports whether the token sees every station.
func (t *Token) all() bool { return slices.Contains(t.Stations, "*") }

// Validate reports every problem, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("%w: api.listen: %q: %v", ErrInvalidConfig, c.Listen, err))
		}
		if len(c.Tokens) == 0 {
			errs = append(errs, fmt.Errorf("%w: api.tokens: the API listens but accepts no token", ErrInvalidConfig))
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, fmt.Errorf("%w: api.tls: cert and key go together", ErrInvalidConfig))
	}
	if c.Buffer < 0 {
		errs = append(errs, fmt.Errorf("%w: api.buffer: %d: not negative", ErrInvalidConfig, c.Buffer))
	}
	names := map[string]bool{}
	for i, t := range c.Tokens {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("%w: api.tokens[%d].name: empty", ErrInvalidConfig, i))
		} else if names[t.Name] {
			errs = append(errs, fmt.Errorf("%w: api.tokens[%d].name: %q twice", ErrInvalidConfig, i, t.Name))
		}
		names[t.Name] = true
		if b, err := hex.DecodeString(strings.ToLower(t.SHA256)); err != nil || len(b) != sha256.Size {
			// The value is not echoed: it may be a token pasted by mistake.
			errs = append(errs, fmt.Errorf("%w: api.tokens[%d].sha256: not a hex SHA-256 (64 hex digits; `rccserver api-token` prints one)", ErrInvalidConfig, i))
		}
		if len(t.Stations) == 0 {
			errs = append(errs, fmt.Errorf("%w: api.tokens[%d].stations: empty (a list of extensions, or \"*\")", ErrInvalidConfig, i))
		}
	}
	return errors.Join(errs...)
}
