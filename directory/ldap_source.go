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
	cfg Config
	tls *tls.Config
	// names are the attributes of a user, by attr* index; request is what
	// the search asks for (without userAccountControl when disabled
	// accounts are admitted).
	names   []string
	request []string
	// dial connects and binds; tests replace it with a fake.
	dial func(ctx context.Context) (ldapConn, error)
}

// ldapConn is what a Load needs of a connection. A *streamConn also pages
// through the users with its own decoder (streamUsers); other connections
// (the tests' fakes) go through walk and ldap.Entry.
type ldapConn interface {
	searcher
	Close() error
}

// Indexes of a user's attributes, in the order of Attributes.fields.
const (
	attrSIP = iota
	attrSAM
	attrUPN
	attrDisplayName
	attrTelephone
	attrLine
	attrLineServer
	attrOptionFlags
	attrUserEnabled
	attrUserAccountControl
	numAttrs
)

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
	names := cfg.Attributes.list()
	request := slices.Clone(names)
	if cfg.AdmitDisabledAccounts {
		request = slices.Delete(request, attrUserAccountControl, attrUserAccountControl+1)
	}
	s := &LDAPSource{cfg: cfg, tls: t, names: names, request: request}
	s.dial = func(ctx context.Context) (ldapConn, error) { return dialStream(ctx, s.cfg, s.tls) }
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
	// The LDAP calls take no context: closing the connection makes a
	// pending call return at once.
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	domains, err := s.netbiosDomains(ctx, conn)
	if err != nil {
		return Batch{}, s.ldapErr(ctx, "read NetBIOS domain names", err)
	}

	req := ldap.NewSearchRequest(s.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(s.cfg.Timeout.Seconds()), false, s.cfg.Filter, s.request, nil)
	var b Batch
	add := func(dn string, vals *[numAttrs]string) {
		entry, reason := s.toEntry(dn, vals, domains)
		if reason != "" {
			b.Skipped = append(b.Skipped, Skip{DN: dn, Reason: reason})
			return
		}
		b.Entries = append(b.Entries, entry)
	}
	if sc, ok := conn.(*streamConn); ok {
		b.Pages, err = s.streamUsers(ctx, sc, req, add)
	} else {
		b.Pages, err = walk(ctx, conn, req, s.cfg.PageSize, func(e *ldap.Entry) {
			var vals [numAttrs]string
			for i, name := range s.names {
				vals[i] = e.GetEqualFoldAttributeValue(name)
			}
			add(e.DN, &vals)
		})
	}
	if err != nil {
		return Batch{}, s.ldapErr(ctx, fmt.Sprintf("search %s for %s (after %d pages)", s.cfg.BaseDN, s.cfg.Filter, b.Pages), err)
	}
	return b, nil
}

// streamUsers is walk for a *streamConn: the same paged search (RFC 2696),
// with each entry decoded straight from the connection's buffer. Only the
// first value of each wanted attribute is kept (they are single-valued in
// AD), and an entry's strings share one allocation.
func (s *LDAPSource) streamUsers(ctx context.Context, c *streamConn, req *ldap.SearchRequest, add func(string, *[numAttrs]string)) (int, error) {
	paging := ldap.NewControlPaging(s.cfg.PageSize)
	r := *req
	r.Controls = []ldap.Control{paging}
	var raw [numAttrs][]byte
	var arena strings.Builder
	entry := func(dn, attrs []byte) error {
		raw = [numAttrs][]byte{}
		size := len(dn)
		err := eachAttr(attrs, func(name, vals []byte) error {
			for i, n := range s.names {
				if raw[i] == nil && equalFold(n, name) && len(vals) > 0 {
					_, v, _, err := tlv(vals, 0x04)
					if err != nil {
						return err
					}
					raw[i] = v
					size += len(v)
					break
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		// One string holds the DN and every value; the fields slice it.
		arena.Reset()
		arena.Grow(size)
		arena.Write(dn)
		for _, v := range raw {
			arena.Write(v)
		}
		all := arena.String()
		var vals [numAttrs]string
		off := len(dn)
		for i, v := range raw {
			vals[i] = all[off : off+len(v)]
			off += len(v)
		}
		add(all[:len(dn)], &vals)
		return nil
	}
	pages := 0
	for {
		if err := ctx.Err(); err != nil {
			return pages, err
		}
		done, err := c.search(&r, entry)
		if err != nil {
			return pages, err
		}
		if done.code != ldap.LDAPResultSuccess {
			return pages, done.err()
		}
		pages++
		ctrl, _ := ldap.FindControl(done.controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if ctrl == nil || len(ctrl.Cookie) == 0 {
			return pages, nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
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
func (s *LDAPSource) toEntry(dn string, vals *[numAttrs]string, domains *netbiosMap) (Entry, string) {
	a := s.cfg.Attributes
	out := Entry{
		DN:            dn,
		SIPAddress:    vals[attrSIP],
		Account:       Account{Domain: s.cfg.NetBIOSDomain, SAM: vals[attrSAM]},
		UPN:           vals[attrUPN],
		DisplayName:   vals[attrDisplayName],
		Telephone:     vals[attrTelephone],
		LineURI:       vals[attrLine],
		LineServerURI: vals[attrLineServer],
	}
	if v := vals[attrOptionFlags]; v != "" {
		// Integer syntax (AD 2.5.5.9, a 32-bit value; RFC 4517 section 3.3.16).
		flags, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Entry{}, fmt.Sprintf("%s %q is not an integer", a.OptionFlags, v)
		}
		out.RCCEnabled = flags&int64(s.cfg.RCCOptionMask) != 0
	}
	if v := vals[attrUserAccountControl]; v != "" && !s.cfg.AdmitDisabledAccounts {
		uac, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Entry{}, fmt.Sprintf("%s %q is not an integer", a.UserAccountControl, v)
		}
		out.AccountDisabled = uac&uacAccountDisable != 0
	}
	// Boolean syntax is TRUE or FALSE (RFC 4517 section 3.3.3); absent
	// means not enabled.
	switch v := vals[attrUserEnabled]; strings.ToUpper(v) {
	case "TRUE":
		out.Enabled = true
	case "FALSE", "":
	default:
		return Entry{}, fmt.Sprintf("%s %q is not TRUE or FALSE", a.UserEnabled, v)
	}
	if out.Account.Domain == "" {
		var nc string
		out.Account.Domain, nc = domains.lookup(dn)
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
