package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// netbiosMap maps a domain naming context (namingContext form, e.g.
// dc=example,dc=com) to its NetBIOS domain name (EXAMPLE).
type netbiosMap struct {
	byNC map[string]string
	// bySuffix memoises lookup by the DN's text from its first ",DC=" on,
	// so that a load parses one DN per domain, not one per user.
	bySuffix map[string][2]string
}

// lookup returns the NetBIOS name of the domain dn lies in ("" if none)
// and the naming context.
func (m *netbiosMap) lookup(dn string) (name, nc string) {
	suffix := dcTail(dn)
	if r, ok := m.bySuffix[suffix]; ok {
		return r[0], r[1]
	}
	nc = namingContext(dn)
	name = m.byNC[nc]
	if suffix != "" {
		if m.bySuffix == nil {
			m.bySuffix = map[string][2]string{}
		}
		m.bySuffix[suffix] = [2]string{name, nc}
	}
	return name, nc
}

// dcTail is dn from its first unescaped ",DC=" (any case) on, or "".
func dcTail(dn string) string {
	for i := 0; i+4 <= len(dn); i++ {
		if dn[i] == '\\' {
			i++ // skip the escaped character
			continue
		}
		if dn[i] == ',' && (dn[i+1]|0x20) == 'd' && (dn[i+2]|0x20) == 'c' && dn[i+3] == '=' {
			return dn[i:]
		}
	}
	return ""
}

// netbiosDomains reads the NetBIOS names of the forest's domains, unless
// Config.NetBIOSDomain makes that unnecessary. AD keeps one crossRef object
// per naming context under CN=Partitions in the configuration naming
// context; a domain's crossRef has nCName = the domain's DN and
// nETBIOSName = its NetBIOS name ([MS-ADTS] section 6.1; [MS-ADA3] nCName,
// nETBIOSName).
// The configuration naming context comes from the root DSE
// (configurationNamingContext); servers without it get
// CN=Configuration,<the base DN's DC= suffix>.
func (s *LDAPSource) netbiosDomains(ctx context.Context, c searcher) (*netbiosMap, error) {
	if s.cfg.NetBIOSDomain != "" {
		return nil, nil
	}
	configNC := ""
	rootDSE := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"configurationNamingContext"}, nil)
	if res, err := c.Search(rootDSE); err == nil && len(res.Entries) == 1 {
		configNC = res.Entries[0].GetEqualFoldAttributeValue("configurationNamingContext")
	} else if err != nil && isNetworkError(err) {
		return nil, err
	}
	if configNC == "" {
		configNC = "CN=Configuration," + dcSuffix(s.cfg.BaseDN)
	}
	base := "CN=Partitions," + configNC
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nETBIOSName=*))", []string{"nCName", "nETBIOSName"}, nil)
	m := &netbiosMap{byNC: map[string]string{}}
	_, err := walk(ctx, c, req, s.cfg.PageSize, func(e *ldap.Entry) {
		nc, name := e.GetEqualFoldAttributeValue("nCName"), e.GetEqualFoldAttributeValue("nETBIOSName")
		if nc != "" && name != "" {
			m.byNC[namingContext(nc)] = name
		}
	})
	if err != nil {
		if isNetworkError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: search %s: %v; set directory.netbios_domain", ErrNoNetBIOS, base, err)
	}
	if len(m.byNC) == 0 {
		return nil, fmt.Errorf("%w: no crossRef with nETBIOSName under %s; set directory.netbios_domain", ErrNoNetBIOS, base)
	}
	return m, nil
}

// namingContext returns the domain naming context of dn in lower case
// (dc=example,dc=com): the key for matching users to crossRef nCNames.
// Entries in one AD domain share it.
func namingContext(dn string) string { return strings.ToLower(dcSuffix(dn)) }

// dcSuffix returns the trailing DC= components of dn (DC=example,DC=com),
// or "" if it has none.
func dcSuffix(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	i := len(parsed.RDNs)
	for i > 0 {
		r := parsed.RDNs[i-1]
		if len(r.Attributes) != 1 || !strings.EqualFold(r.Attributes[0].Type, "dc") {
			break
		}
		i--
	}
	var b strings.Builder
	for _, r := range parsed.RDNs[i:] {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString("DC=")
		b.WriteString(r.Attributes[0].Value)
	}
	return b.String()
}
