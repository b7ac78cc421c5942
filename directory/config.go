package directory

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

// Directory kinds (Config.Kind).
const (
	KindLDAP = "ldap" // Active Directory (or any LDAP server) through a cache
	KindFile = "file" // a YAML file of users
)

// Defaults for the optional Config fields.
const (
	DefaultPageSize      = 1000 // AD's default MaxPageSize
	DefaultRefresh       = 15 * time.Minute
	DefaultDialTimeout   = 10 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultRCCOptionMask = 16 // msRTCSIP-OptionFlags bit 4, "remote call control enabled"; see docs/directory.md
	maxPageSize          = 1000
)

// Config configures the directory. The daemon fills it from the YAML
// section directory.*; the mapstructure tags are the keys. Zero values mean
// the defaults (see WithDefaults).
type Config struct {
	// Kind is ldap or file. Default: ldap when url is set, file when file is.
	Kind string `mapstructure:"kind"`
	// File is the YAML user file (kind file).
	File string `mapstructure:"file"`

	// URL is the directory server: ldaps://dc1.example.com (port 636) or
	// ldap://dc1.example.com (port 389) with start_tls.
	URL string `mapstructure:"url"`
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool `mapstructure:"start_tls"`
	// CAFile is a PEM file of CA certificates that sign the server's
	// certificate. Default: the system roots.
	CAFile string `mapstructure:"ca_file"`
	// ServerName is the name the server certificate must have. Default: the
	// host in URL.
	ServerName string `mapstructure:"server_name"`
	// AllowInsecure permits a simple bind over plain ldap:// without TLS,
	// which sends the password in clear. For tests only.
	AllowInsecure bool `mapstructure:"allow_insecure"`
	// BindDN is the service account: a UPN (svc-rcc@example.com), a
	// down-level name (EXAMPLE\svc-rcc) or a DN; AD accepts all three.
	BindDN string `mapstructure:"bind_dn"`
	// BindPassword is the service account's password. It is never logged.
	BindPassword string `mapstructure:"bind_password"`
	// BaseDN is where users are searched, e.g. DC=example,DC=com.
	BaseDN string `mapstructure:"base_dn"`
	// Filter selects the users. Default: (<attributes.sip_address>=*),
	// i.e. (msRTCSIP-PrimaryUserAddress=*).
	Filter string `mapstructure:"filter"`
	// PageSize is the paged-search page size (RFC 2696), 1 to 1000.
	// Default 1000.
	PageSize uint32 `mapstructure:"page_size"`
	// Attributes names the LDAP attributes read.
	Attributes Attributes `mapstructure:"attributes"`
	// NetBIOSDomain is the domain part of the accounts (EXAMPLE in
	// EXAMPLE\alice). Default: read from the crossRef objects under
	// CN=Partitions,CN=Configuration, matched to each user's domain.
	NetBIOSDomain string `mapstructure:"netbios_domain"`
	// RCCOptionMask is the msRTCSIP-OptionFlags bit(s) meaning "remote call
	// control enabled". Default 16.
	RCCOptionMask uint32 `mapstructure:"rcc_option_mask"`
	// AdmitDisabledAccounts stops reading userAccountControl, so accounts
	// disabled in AD (ACCOUNTDISABLE) are admitted when their Lync
	// attributes allow. Default false: a disabled account is refused.
	AdmitDisabledAccounts bool `mapstructure:"admit_disabled_accounts"`
	// DialTimeout bounds connecting, including the TLS handshake. Default 10s.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// Timeout bounds each LDAP operation (bind, one page of a search).
	// Default 30s.
	Timeout time.Duration `mapstructure:"timeout"`

	// Refresh is how often the cache is reloaded from the source. Default
	// 15m; negative turns periodic refresh off (start and Reload only).
	Refresh time.Duration `mapstructure:"refresh"`
	// Snapshot is a JSON file holding the last good directory, used when
	// the source is unreachable at start. Empty: no snapshot.
	Snapshot string `mapstructure:"snapshot"`
	// MaxShrinkPercent refuses a refresh that returns more than this
	// percentage fewer users than the directory has (see
	// CacheOptions.MaxShrinkPercent). Default 50; 100 turns it off.
	MaxShrinkPercent int `mapstructure:"max_shrink_percent"`

	// TLS, when set, is used instead of a configuration built from CAFile
	// and ServerName. For programs and tests; it has no YAML key.
	TLS *tls.Config `mapstructure:"-"`
}

// Attributes are the LDAP attribute names the directory reads. Zero values
// are the AD / Lync names.
type Attributes struct {
	SIPAddress     string `mapstructure:"sip_address"`      // msRTCSIP-PrimaryUserAddress
	SAMAccountName string `mapstructure:"sam_account_name"` // sAMAccountName
	UPN            string `mapstructure:"upn"`              // userPrincipalName
	DisplayName    string `mapstructure:"display_name"`     // displayName
	Telephone      string `mapstructure:"telephone"`        // telephoneNumber
	Line           string `mapstructure:"line"`             // msRTCSIP-Line
	LineServer     string `mapstructure:"line_server"`      // msRTCSIP-LineServer
	OptionFlags    string `mapstructure:"option_flags"`     // msRTCSIP-OptionFlags
	UserEnabled    string `mapstructure:"user_enabled"`     // msRTCSIP-UserEnabled
	// UserAccountControl is userAccountControl, whose ACCOUNTDISABLE bit
	// marks a disabled Windows account.
	UserAccountControl string `mapstructure:"user_account_control"`
}

// DefaultAttributes are the Active Directory attribute names, with the Lync
// schema extension.
var DefaultAttributes = Attributes{
	SIPAddress:     "msRTCSIP-PrimaryUserAddress",
	SAMAccountName: "sAMAccountName",
	UPN:            "userPrincipalName",
	DisplayName:    "displayName",
	Telephone:      "telephoneNumber",
	Line:           "msRTCSIP-Line",
	LineServer:     "msRTCSIP-LineServer",
	OptionFlags:    "msRTCSIP-OptionFlags",
	UserEnabled:    "msRTCSIP-UserEnabled",
	// [MS-ADA3] User-Account-Control; bits in [MS-ADTS] section 2.2.16.
	UserAccountControl: "userAccountControl",
}

// fields lists the attributes with their config keys.
func (a Attributes) fields() []struct{ key, name string } {
	return []struct{ key, name string }{
		{"sip_address", a.SIPAddress}, {"sam_account_name", a.SAMAccountName}, {"upn", a.UPN},
		{"display_name", a.DisplayName}, {"telephone", a.Telephone}, {"line", a.Line},
		{"line_server", a.LineServer}, {"option_flags", a.OptionFlags}, {"user_enabled", a.UserEnabled},
		{"user_account_control", a.UserAccountControl},
	}
}

func (a Attributes) list() []string {
	var names []string
	for _, f := range a.fields() {
		names = append(names, f.name)
	}
	return names
}

// WithDefaults returns c with every unset optional field set to its default.
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		switch {
		case c.URL != "" && c.File == "":
			c.Kind = KindLDAP
		case c.File != "" && c.URL == "":
			c.Kind = KindFile
		}
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	a, d := &c.Attributes, DefaultAttributes
	def(&a.SIPAddress, d.SIPAddress)
	def(&a.SAMAccountName, d.SAMAccountName)
	def(&a.UPN, d.UPN)
	def(&a.DisplayName, d.DisplayName)
	def(&a.Telephone, d.Telephone)
	def(&a.Line, d.Line)
	def(&a.LineServer, d.LineServer)
	def(&a.OptionFlags, d.OptionFlags)
	def(&a.UserEnabled, d.UserEnabled)
	def(&a.UserAccountControl, d.UserAccountControl)
	def(&c.Filter, "("+c.Attributes.SIPAddress+"=*)")
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.RCCOptionMask == 0 {
		c.RCCOptionMask = DefaultRCCOptionMask
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	return c
}

// CacheOptions are the cache settings of c.
func (c Config) CacheOptions() CacheOptions {
	return CacheOptions{Refresh: c.Refresh, Snapshot: c.Snapshot, MaxShrinkPercent: c.MaxShrinkPercent}
}

// ConfigError is a configuration problem with one key.
type ConfigError struct {
	// Key is the full configuration key, e.g. directory.bind_dn.
	Key string
	// Reason says what is wrong.
	Reason string
	// Err is a more specific sentinel (e.g. ErrInsecureBind), or nil.
	Err error
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Reason }

// Unwrap makes errors.Is match ErrInvalidConfig and Err.
func (e *ConfigError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

const keyPrefix = "directory."

func configErr(key, format string, args ...any) *ConfigError {
	return &ConfigError{Key: keyPrefix + key, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks c (with defaults applied) and returns every problem, each
// a *ConfigError naming its key, joined; or nil.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, configErr(key, format, args...)) }

	if c.Refresh > 0 && c.Refresh < time.Second {
		bad("refresh", "%v is too short, want at least 1s (or negative for no periodic refresh)", c.Refresh)
	}
	if c.MaxShrinkPercent < 0 || c.MaxShrinkPercent > 100 {
		bad("max_shrink_percent", "%d is not a percentage from 1 to 100 (0: the default %d)", c.MaxShrinkPercent, DefaultMaxShrinkPercent)
	}
	if c.Snapshot != "" {
		if st, err := os.Stat(filepath.Dir(c.Snapshot)); err != nil || !st.IsDir() {
			bad("snapshot", "directory %s does not exist", filepath.Dir(c.Snapshot))
		}
	}
	switch c.Kind {
	case KindFile:
		if c.File == "" {
			bad("file", "required for kind file")
		}
	case KindLDAP:
		errs = append(errs, c.validateLDAP()...)
	case "":
		bad("kind", "set url (kind ldap) or file (kind file)")
	default:
		bad("kind", "%q is not ldap or file", c.Kind)
	}
	return errors.Join(errs...)
}

func (c Config) validateLDAP() []error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, configErr(key, format, args...)) }

	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad("url", "required, e.g. ldaps://dc1.example.com")
	case err != nil:
		bad("url", "%v", err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("url", "scheme %q, want ldaps:// or ldap:// (with start_tls)", u.Scheme)
	case u.Hostname() == "":
		bad("url", "no host in %q", c.URL)
	case u.Scheme == "ldaps" && c.StartTLS:
		bad("start_tls", "cannot StartTLS on ldaps://, which is TLS already")
	case u.Scheme == "ldap" && !c.StartTLS && !c.AllowInsecure:
		errs = append(errs, &ConfigError{Key: keyPrefix + "start_tls", Err: ErrInsecureBind,
			Reason: "ldap:// without start_tls would send the bind password in clear; set start_tls or use ldaps:// (allow_insecure is for tests)"})
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			bad("ca_file", "%v", err)
		}
	}
	if c.BindDN == "" {
		bad("bind_dn", "required: the service account as UPN (svc@example.com), DOMAIN\\user or DN")
	}
	if c.BindPassword == "" {
		bad("bind_password", "required (an empty password is an unauthenticated bind, RFC 4513 section 5.1.2)")
	}
	if c.BaseDN == "" {
		bad("base_dn", "required, e.g. DC=example,DC=com")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		bad("base_dn", "%v", err)
	}
	if _, err := ldap.CompileFilter(c.Filter); err != nil {
		bad("filter", "%v", err)
	}
	if c.PageSize > maxPageSize {
		bad("page_size", "%d is more than %d, AD's MaxPageSize", c.PageSize, maxPageSize)
	}
	if c.NetBIOSDomain != "" && !validNetBIOS(c.NetBIOSDomain) {
		bad("netbios_domain", "%q is not a NetBIOS domain name (1-15 characters, none of \\/:*?\"<>| . or space)", c.NetBIOSDomain)
	}
	for _, f := range c.Attributes.fields() {
		if !validAttrName(f.name) {
			bad("attributes."+f.key, "%q is not an LDAP attribute name", f.name)
		}
	}
	if c.DialTimeout < 0 {
		bad("dial_timeout", "negative")
	}
	if c.Timeout < 0 {
		bad("timeout", "negative")
	}
	return errs
}

// validNetBIOS: 1 to 15 characters without the ones Windows forbids in
// NetBIOS domain names.
func validNetBIOS(s string) bool {
	return len(s) >= 1 && len(s) <= 15 && !strings.ContainsAny(s, `\/:*?"<>|. `)
}

// validAttrName: an attribute descr (letter, then letters, digits and
// hyphens) or a numeric OID (RFC 4512 section 1.4).
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' {
		for _, r := range s {
			if (r < '0' || r > '9') && r != '.' {
				return false
			}
		}
		return true
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || (r < '0' || r > '9') && r != '-') {
			return false
		}
	}
	return true
}

// String describes c without the password.
func (c Config) String() string {
	c = c.WithDefaults()
	if c.Kind == KindFile {
		return "file " + c.File
	}
	tlsMode := "ldaps"
	switch {
	case c.StartTLS:
		tlsMode = "starttls"
	case strings.HasPrefix(c.URL, "ldap:"):
		tlsMode = "plain"
	}
	return fmt.Sprintf("ldap %s (%s) bind_dn=%q base_dn=%q filter=%q", c.URL, tlsMode, c.BindDN, c.BaseDN, c.Filter)
}

// MarshalZerologObject logs c without the password.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	c = c.WithDefaults()
	e.Str("kind", c.Kind)
	if c.Kind == KindFile {
		e.Str("file", c.File)
	} else {
		e.Str("url", c.URL).Bool("start_tls", c.StartTLS).Str("bind_dn", c.BindDN).
			Str("base_dn", c.BaseDN).Str("filter", c.Filter).Uint32("page_size", c.PageSize)
		if c.NetBIOSDomain != "" {
			e.Str("netbios_domain", c.NetBIOSDomain)
		}
		if c.AdmitDisabledAccounts {
			e.Bool("admit_disabled_accounts", true)
		}
	}
	if c.MaxShrinkPercent != 0 {
		e.Int("max_shrink_percent", c.MaxShrinkPercent)
	}
	e.Dur("refresh", c.Refresh).Str("snapshot", c.Snapshot)
}
