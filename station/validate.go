package station

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// validator collects every problem instead of stopping at the first, so
// that a configuration check can print them all.
type validator struct {
	errs     []error
	warnings []string
}

func (v *validator) add(key, value, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Key: key, Value: value, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(key, value, format string, args ...any) {
	v.warnings = append(v.warnings, (&ConfigError{Key: key, Value: value, Problem: fmt.Sprintf(format, args...)}).Error())
}

// build validates raw into a Config. The Config is nil if there are errors.
func build(raw *rawConfig) (*Config, []error) {
	v := &validator{}
	c := &Config{
		usersByID:      map[string]*User{},
		usersByAccount: map[string][]*User{},
		stationsByName: map[string]*Station{},
		stationsByExt:  map[string]*Station{},
		stationsByAddr: map[string]*Station{},
	}
	v.users(c, raw.Users)
	v.stations(c, raw.Stations)
	v.licensing(c, raw.Licensing)
	v.dialPlan(c, raw.DialPlan)
	v.trunk(c, raw.Trunk)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	c.Warnings = v.warnings
	return c, nil
}

func (v *validator) users(c *Config, raw []rawUser) {
	firstAccount := map[string]int{}
	for i, r := range raw {
		key := fmt.Sprintf("users[%d]", i)
		u := &User{
			ID:                strings.TrimSpace(r.ID),
			DisplayName:       r.DisplayName,
			DomainAccount:     strings.TrimSpace(r.DomainAccount),
			Extension:         strings.TrimSpace(r.Extension),
			ClientLicense:     r.ClientLicense,
			RemoteNumberLogon: r.RemoteNumberLogon,
		}
		switch {
		case u.ID == "":
			v.add(key+".id", "", "required")
		case c.usersByID[u.ID] != nil:
			v.add(key+".id", u.ID, "duplicate user ID")
		default:
			c.usersByID[u.ID] = u
		}
		if u.DomainAccount == "" {
			v.add(key+".domain_account", "", `required (DOMAIN\account)`)
		} else if !validAccount(u.DomainAccount) {
			v.add(key+".domain_account", u.DomainAccount, `not DOMAIN\account`)
		} else {
			acct := strings.ToLower(u.DomainAccount)
			if j, dup := firstAccount[acct]; dup {
				v.warn(key+".domain_account", u.DomainAccount,
					"also on users[%d]; logins with this account are refused with %s", j, CodeAmbiguousCicUser)
			} else {
				firstAccount[acct] = i
			}
			c.usersByAccount[acct] = append(c.usersByAccount[acct], u)
		}
		if u.Extension != "" && !isDigits(u.Extension) {
			v.add(key+".extension", u.Extension, "not digits")
		}
		if strings.TrimSpace(r.UserType) == "" {
			v.add(key+".user_type", "", "required (EnterpriseVoice, RemoteCallControl or IMOnly)")
		} else if t, err := ParseUserType(r.UserType); err != nil {
			v.add(key+".user_type", r.UserType, "unknown (want EnterpriseVoice, RemoteCallControl or IMOnly)")
		} else {
			u.Type = t
		}
		c.Users = append(c.Users, u)
	}
}

// validAccount accepts DOMAIN\account: one backslash, both parts non-empty,
// no spaces or control characters.
func validAccount(s string) bool {
	dom, acct, ok := strings.Cut(s, `\`)
	if !ok || dom == "" || acct == "" || strings.Contains(acct, `\`) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

func (v *validator) stations(c *Config, raw []rawStation) {
	for i, r := range raw {
		key := fmt.Sprintf("stations[%d]", i)
		s := &Station{
			Name:                  strings.TrimSpace(r.Name),
			Extension:             strings.TrimSpace(r.Extension),
			IdentificationAddress: strings.TrimSpace(r.IdentificationAddress),
			Manufacturer:          r.Manufacturer,
			Model:                 r.Model,
			Active:                r.Active == nil || *r.Active,
		}
		switch {
		case s.Name == "":
			v.add(key+".name", "", "required")
		case c.stationsByName[s.Name] != nil:
			v.add(key+".name", s.Name, "duplicate station name")
		default:
			c.stationsByName[s.Name] = s
		}
		switch {
		case s.Extension == "":
			v.add(key+".extension", "", "required")
		case !isDigits(s.Extension):
			v.add(key+".extension", s.Extension, "not digits")
		case c.stationsByExt[s.Extension] != nil:
			v.add(key+".extension", s.Extension, "also the extension of station %q", c.stationsByExt[s.Extension].Name)
		default:
			c.stationsByExt[s.Extension] = s
		}
		if s.IdentificationAddress != "" {
			u, err := ParseLineURI(s.IdentificationAddress)
			switch {
			case err != nil || !u.Global() || u.Ext != "" || u.Context != "" ||
				!strings.HasPrefix(strings.ToLower(s.IdentificationAddress), "tel:"):
				v.add(key+".identification_address", s.IdentificationAddress, "not a tel:+E.164 URI")
			case c.stationsByAddr[u.Number] != nil:
				v.add(key+".identification_address", s.IdentificationAddress,
					"also the identification address of station %q", c.stationsByAddr[u.Number].Name)
			default:
				c.stationsByAddr[u.Number] = s
			}
		}
		s.Connection = v.connection(key+".connection", r.Connection)
		if strings.TrimSpace(r.AnswerMethod) == "" {
			v.add(key+".answer_method", "", "required (talkEvent, uaCSTA, autoAnswerReoffer or none)")
		} else if m, err := ParseAnswerMethod(r.AnswerMethod); err != nil {
			v.add(key+".answer_method", r.AnswerMethod, "unknown (want talkEvent, uaCSTA, autoAnswerReoffer or none)")
		} else {
			s.AnswerMethod = m
		}
		c.Stations = append(c.Stations, s)
	}
}

func (v *validator) connection(key string, r rawConnection) Connection {
	conn := Connection{Username: strings.TrimSpace(r.Username), Password: r.Password, Address: strings.TrimSpace(r.Address)}
	if strings.TrimSpace(r.Kind) == "" {
		v.add(key+".kind", "", "required (registered or static)")
		return conn
	}
	k, err := ParseConnectionKind(r.Kind)
	if err != nil {
		v.add(key+".kind", r.Kind, "unknown (want registered or static)")
		return conn
	}
	conn.Kind = k
	switch k {
	case ConnectionRegistered:
		if conn.Username == "" {
			v.add(key+".username", "", "required for a registered station")
		}
		if conn.Password == "" {
			v.add(key+".password", "", "required for a registered station")
		}
		if conn.Address != "" {
			v.add(key+".address", conn.Address, "only for a static station (a registered one sends its address)")
		}
	case ConnectionStatic:
		lower := strings.ToLower(conn.Address)
		switch {
		case conn.Address == "":
			v.add(key+".address", "", "required for a static station")
		case !(strings.HasPrefix(lower, "sip:") && len(lower) > 4 || strings.HasPrefix(lower, "sips:") && len(lower) > 5):
			v.add(key+".address", conn.Address, "not a sip: or sips: URI")
		}
		if conn.Password != "" {
			v.add(key+".password", "", "only for a registered station")
		}
	}
	return conn
}

func (v *validator) licensing(c *Config, r rawLicensing) {
	for i, f := range r.Features {
		f = strings.TrimSpace(f)
		if f == "" || strings.ContainsFunc(f, unicode.IsSpace) {
			v.add(fmt.Sprintf("licensing.features[%d]", i), f, "not a licence name")
			continue
		}
		c.Licensing.Features = append(c.Licensing.Features, f)
	}
	c.Licensing.ClientLicenses = r.ClientLicenses
	if r.ClientLicenses < 0 {
		v.add("licensing.client_licenses", strconv.Itoa(r.ClientLicenses), "negative")
	} else if used := c.ClientLicensesUsed(); used > r.ClientLicenses {
		v.add("licensing.client_licenses", strconv.Itoa(r.ClientLicenses),
			"%d users have client_license: true, more than the licences", used)
	}
	if !c.Licensing.HasFeature(FeatureLync) {
		v.warn("licensing.features", strings.Join(c.Licensing.Features, ","),
			"no %s: every RCC login is refused with %s", FeatureLync, CodeNoFeatureLicense)
	}
}

func (v *validator) trunk(c *Config, r rawTrunk) {
	c.Trunk.Proxy = strings.TrimSpace(r.Proxy)
	if c.Trunk.Proxy != "" {
		host, port, err := net.SplitHostPort(c.Trunk.Proxy)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			v.add("trunk.proxy", c.Trunk.Proxy, "not host:port")
		}
	} else if c.DialPlan != nil {
		for _, rule := range c.DialPlan.Rules {
			if rule.Target == TargetTrunk {
				v.add("trunk.proxy", "", "required: dialplan.rules[%d] sends calls to the trunk", rule.Index)
				break
			}
		}
	}
	switch t := strings.TrimSpace(r.Transport); {
	case t == "":
		c.Trunk.Transport = TransportUDP
	default:
		tr, err := ParseTransport(t)
		if err != nil {
			v.add("trunk.transport", t, "unknown (want udp, tcp or tls)")
		}
		c.Trunk.Transport = tr
	}
}

func (v *validator) dialPlan(c *Config, r rawDialPlan) {
	d := &DialPlan{stations: c.stationsByExt}
	firstPattern := map[string]int{}
	for i, rr := range r.Rules {
		key := fmt.Sprintf("dialplan.rules[%d]", i)
		rule := &Rule{Index: i, Name: strings.TrimSpace(rr.Name), Standardized: rr.Standardized, DialString: rr.DialString}
		listOK := true
		for j, e := range rr.List {
			rule.List = append(rule.List, strings.TrimSpace(e))
			if !isDigits(rule.List[j]) || len(rule.List[j]) != len(rule.List[0]) {
				v.add(fmt.Sprintf("%s.list[%d]", key, j), e, "not digits as long as list[0]")
				listOK = false
			}
		}
		if rr.Pattern == "" {
			v.add(key+".pattern", "", "required")
		} else if listOK {
			p, err := CompilePattern(rr.Pattern, rule.List)
			if err != nil {
				v.add(key+".pattern", rr.Pattern, "%s", strings.TrimPrefix(err.Error(), ErrBadPattern.Error()+": "))
			} else {
				rule.Pattern = p
				if j, dup := firstPattern[rr.Pattern+"\x00"+strings.Join(rule.List, ",")]; dup {
					v.warn(key+".pattern", rr.Pattern, "never matches: dialplan.rules[%d] has the same pattern", j)
				} else {
					firstPattern[rr.Pattern+"\x00"+strings.Join(rule.List, ",")] = i
				}
				rule.std = v.template(key+".standardized", rr.Standardized, p)
				rule.dial = v.template(key+".dial_string", rr.DialString, p)
			}
		}
		if rule.Name == "" {
			rule.Name = rr.Pattern
		}
		if strings.TrimSpace(rr.Classification) == "" {
			v.add(key+".classification", "", "required")
		} else if cl, err := ParseClassification(rr.Classification); err != nil {
			v.add(key+".classification", rr.Classification, "unknown (want one of %s)", strings.Join(classificationNames[1:], ", "))
		} else {
			rule.Classification = cl
		}
		if strings.TrimSpace(rr.Target) == "" {
			v.add(key+".target", "", "required (station, trunk or none)")
		} else if t, err := ParseTarget(rr.Target); err != nil {
			v.add(key+".target", rr.Target, "unknown (want station, trunk or none)")
		} else {
			rule.Target = t
		}
		d.Rules = append(d.Rules, rule)
	}
	c.DialPlan = d
}

// template compiles an optional template; "" gives nil (the default).
func (v *validator) template(key, src string, p *Pattern) *template {
	if src == "" {
		return nil
	}
	t, err := compileTemplate(src, p)
	if err != nil {
		v.add(key, src, "%s", strings.TrimPrefix(err.Error(), ErrBadPattern.Error()+": "))
		return nil
	}
	return t
}
