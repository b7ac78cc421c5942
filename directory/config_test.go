package directory

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func validLDAP() Config {
	return Config{
		URL: "ldaps://dc1.example.com", BindDN: "svc-rcc@example.com", BindPassword: "s3cret",
		BaseDN: "DC=example,DC=com",
	}
}

func TestConfigDefaults(t *testing.T) {
	c := validLDAP().WithDefaults()
	if c.Kind != KindLDAP || c.PageSize != 1000 || c.RCCOptionMask != 16 || c.Refresh != 15*time.Minute ||
		c.Filter != "(msRTCSIP-PrimaryUserAddress=*)" || c.Attributes != DefaultAttributes {
		t.Errorf("defaults: %+v", c)
	}
	c = Config{Attributes: Attributes{SIPAddress: "sipAddr"}}.WithDefaults()
	if c.Filter != "(sipAddr=*)" {
		t.Errorf("filter follows the SIP attribute: %q", c.Filter)
	}
	if err := validLDAP().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if err := (Config{File: "users.yaml"}).Validate(); err != nil {
		t.Errorf("valid file config: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		key    string
		is     error
	}{
		{"no kind", func(c *Config) { *c = Config{} }, "directory.kind", nil},
		{"both url and file", func(c *Config) { c.File = "x.yaml" }, "directory.kind", nil},
		{"bad kind", func(c *Config) { c.Kind = "sql" }, "directory.kind", nil},
		{"bad scheme", func(c *Config) { c.URL = "http://dc1" }, "directory.url", nil},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, "directory.url", nil},
		{"plain ldap", func(c *Config) { c.URL = "ldap://dc1" }, "directory.start_tls", ErrInsecureBind},
		{"starttls on ldaps", func(c *Config) { c.StartTLS = true }, "directory.start_tls", nil},
		{"no bind dn", func(c *Config) { c.BindDN = "" }, "directory.bind_dn", nil},
		{"no password", func(c *Config) { c.BindPassword = "" }, "directory.bind_password", nil},
		{"no base", func(c *Config) { c.BaseDN = "" }, "directory.base_dn", nil},
		{"bad base", func(c *Config) { c.BaseDN = "DC=example,,x" }, "directory.base_dn", nil},
		{"bad filter", func(c *Config) { c.Filter = "(objectClass=user" }, "directory.filter", nil},
		{"page too big", func(c *Config) { c.PageSize = 5000 }, "directory.page_size", nil},
		{"bad netbios", func(c *Config) { c.NetBIOSDomain = "EXAMPLE.COM" }, "directory.netbios_domain", nil},
		{"long netbios", func(c *Config) { c.NetBIOSDomain = "ABCDEFGHIJKLMNOP" }, "directory.netbios_domain", nil},
		{"bad attribute", func(c *Config) { c.Attributes.Line = "msRTCSIP Line" }, "directory.attributes.line", nil},
		{"missing ca", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "directory.ca_file", nil},
		{"short refresh", func(c *Config) { c.Refresh = time.Millisecond }, "directory.refresh", nil},
		{"snapshot dir", func(c *Config) { c.Snapshot = "/nonexistent/dir/snap.json" }, "directory.snapshot", nil},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "directory.timeout", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validLDAP()
			tt.change(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Validate = %v, want %v", err, tt.is)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.key {
				t.Errorf("Validate = %v, want the key %s", err, tt.key)
			}
			if !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("message %q does not start with the key", err)
			}
		})
	}
}

func TestConfigNeverShowsPassword(t *testing.T) {
	c := validLDAP()
	c.BindPassword = "Pa55-w0rd-XYZ"
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("config", c).Msg("")
	for name, s := range map[string]string{"String": c.String(), "log": buf.String()} {
		if strings.Contains(s, c.BindPassword) {
			t.Errorf("%s shows the password: %s", name, s)
		}
		if !strings.Contains(s, c.BindDN) {
			t.Errorf("%s lacks the bind DN: %s", name, s)
		}
	}
}

func TestTLSConfigCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := validLDAP()
	c.CAFile = bad
	_, err := NewLDAPSource(c)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "directory.ca_file" {
		t.Fatalf("NewLDAPSource with a bad CA file = %v, want a directory.ca_file error", err)
	}
	c.CAFile = ""
	tc, err := validLDAP().tlsConfig()
	if err != nil || tc.ServerName != "dc1.example.com" || tc.MinVersion < 0x0303 {
		t.Errorf("tlsConfig = %+v, %v; want ServerName from the URL and TLS 1.2+", tc, err)
	}
}
