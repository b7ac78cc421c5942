package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// LDAPSource loads users from Active Directory (or another LDAP server with
// the same attributes). Every Load opens a connection, binds, pages through
// the users and closes it: a refresh every 15 minutes does not justify a
// standing connection and its reconnect logic.
type LDAPSource struct {
	cfg   Config
	tls   *tls.Config
	attrs []string
	// dial connects and binds; tests replace it with a fake ldap.Client.
	dial func(ctx context.Context) (ldap.Client, error)
}

// NewLDAPSource checks cfg (kind ldap) and returns the source. It does no I/O.
func NewLDAPSource(cfg Config) (*LDAPSource, error) {
	cfg = cfg.WithDefaults()
	cfg.Kind = KindLDAP
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	attrs := cfg.Attributes.list()
	if cfg.AdmitDisabledAccounts {
		attrs = slices.DeleteFunc(attrs, func(a string) bool { return a == cfg.Attributes.UserAccountControl })
	}
	s := &LDAPSource{cfg: cfg, tls: t, attrs: attrs}
	s.dial = func(ctx context.Context) (ldap.Client, error) { return connect(ctx, s.cfg, s.tls) }
	return s, nil
}

// Name is the server URL and base DN.
func (s *LDAPSource) Name() string { return s.cfg.URL + " " + s.cfg.BaseDN }

// Load connects, binds and reads every user under the base DN that matches
// the filter, page by page.
func (s *LDAPSource) Load(ctx context.Context) (Batch, error) {
	conn, err := s.dial(ctx)
	if err != nil {
		return Batch{}, err
	}
	defer conn.Close()
	// go-ldap calls take no context: closing the connection makes a
	// pending call return at once.
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	domains, err := s.netbiosDomains(ctx, conn)
	if err != nil {
		return Batch{}, s.ldapErr(ctx, "read NetBIOS domain names", err)
	}

	req := ldap.NewSearchRequest(s.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(s.cfg.Timeout.Seconds()), false, s.cfg.Filter, s.attrs, nil)
	var b Batch
	b.Pages, err = walk(ctx, conn, req, s.cfg.PageSize, func(e *ldap.Entry) {
		entry, reason := s.toEntry(e, domains)
		if reason != "" {
			b.Skipped = append(b.Skipped, Skip{DN: e.DN, Reason: reason})
			return
		}
		b.Entries = append(b.Entries, entry)
	})
	if err != nil {
		return Batch{}, s.ldapErr(ctx, fmt.Sprintf("search %s for %s (after %d pages)", s.cfg.BaseDN, s.cfg.Filter, b.Pages), err)
	}
	return b, nil
}

// ldapErr wraps an error of an LDAP operation with the sentinel that fits.
func (s *LDAPSource) ldapErr(ctx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, context.Cause(ctx))
	case errors.Is(err, ErrNoNetBIOS):
		return fmt.Errorf("%s: %w", op, err)
	case isNetworkError(err):
		return fmt.Errorf("%s on %s: %w: %w", op, s.cfg.URL, ErrUnreachable, err)
	default:
		return fmt.Errorf("%s on %s: %w: %w", op, s.cfg.URL, ErrSearch, err)
	}
}

// toEntry maps an LDAP entry to an Entry, or returns why it cannot. The
// checks common to every source (SIP address, account, line URI,
// duplicates) happen later, in buildIndex.
func (s *LDAPSource) toEntry(e *ldap.Entry, domains netbiosMap) (Entry, string) {
	a := s.cfg.Attributes
	get := e.GetEqualFoldAttributeValue
	out := Entry{
		DN:            e.DN,
		SIPAddress:    get(a.SIPAddress),
		Account:       Account{Domain: s.cfg.NetBIOSDomain, SAM: get(a.SAMAccountName)},
		UPN:           get(a.UPN),
		DisplayName:   get(a.DisplayName),
		Telephone:     get(a.Telephone),
		LineURI:       get(a.Line),
		LineServerURI: get(a.LineServer),
	}
	if v := get(a.OptionFlags); v != "" {
		// Integer syntax (AD 2.5.5.9, a 32-bit value; RFC 4517 section 3.3.16).
		flags, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Entry{}, fmt.Sprintf("%s %q is not an integer", a.OptionFlags, v)
		}
		out.RCCEnabled = flags&int64(s.cfg.RCCOptionMask) != 0
	}
	if v := get(a.UserAccountControl); v != "" && !s.cfg.AdmitDisabledAccounts {
		uac, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Entry{}, fmt.Sprintf("%s %q is not an integer", a.UserAccountControl, v)
		}
		out.AccountDisabled = uac&uacAccountDisable != 0
	}
	// Boolean syntax is TRUE or FALSE (RFC 4517 section 3.3.3); absent
	// means not enabled.
	switch v := get(a.UserEnabled); strings.ToUpper(v) {
	case "TRUE":
		out.Enabled = true
	case "FALSE", "":
	default:
		return Entry{}, fmt.Sprintf("%s %q is not TRUE or FALSE", a.UserEnabled, v)
	}
	if out.Account.Domain == "" {
		nc := namingContext(e.DN)
		out.Account.Domain = domains[nc]
		if out.Account.Domain == "" {
			return Entry{}, fmt.Sprintf("no NetBIOS domain name for naming context %q (no crossRef with nETBIOSName under CN=Partitions; set directory.netbios_domain)", nc)
		}
	}
	return out, ""
}

// uacAccountDisable is the ACCOUNTDISABLE bit of userAccountControl: "the
// user account is disabled" ([MS-ADTS] section 2.2.16, userAccountControl
// Bits; https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties).
const uacAccountDisable = 0x2
