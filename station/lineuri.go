package station

import (
	"fmt"
	"strings"
)

// maxLineURILen bounds what ParseLineURI reads; a line URI is short.
const maxLineURILen = 512

// LineURI is a parsed Lync line URI: a tel: URI (RFC 3966, the subset Lync
// and its gateways use) or a bare number. Parsing is local so that station
// need not import csta.
type LineURI struct {
	Raw     string // as given
	Number  string // "+13175551010" (global) or "1010" (local), visual separators removed
	Ext     string // the ;ext= parameter (Lync's "tel:+E164;ext=NNNN"), or ""
	Context string // the ;phone-context= parameter (e.g. "dialstring"), or ""
}

// Global reports whether the number is an E.164 number ("+…").
func (u LineURI) Global() bool { return strings.HasPrefix(u.Number, "+") }

// String returns the canonical form, e.g. "tel:+13175551010;ext=1010".
func (u LineURI) String() string {
	s := "tel:" + u.Number
	if u.Ext != "" {
		s += ";ext=" + u.Ext
	}
	if u.Context != "" {
		s += ";phone-context=" + u.Context
	}
	return s
}

// ParseLineURI parses "tel:+13175551010", "tel:1010;phone-context=dialstring",
// "tel:+13175551010;ext=1010" and bare numbers ("+13175551010", "1010").
// Visual separators (- . ( )) are dropped; parameters other than ext and
// phone-context (partition, device, isub, …) are accepted and ignored. Other
// URI schemes are refused.
func ParseLineURI(s string) (LineURI, error) {
	u := LineURI{Raw: s}
	if len(s) > maxLineURILen {
		return u, fmt.Errorf("%w: longer than %d bytes", ErrBadLineURI, maxLineURILen)
	}
	rest := strings.TrimSpace(s)
	if len(rest) >= 4 && strings.EqualFold(rest[:4], "tel:") {
		rest = rest[4:]
	} else if strings.ContainsAny(rest, ":@") {
		return u, fmt.Errorf("%w: %q is not a tel: URI", ErrBadLineURI, s)
	}
	number, params, _ := strings.Cut(rest, ";")
	number = stripVisual(number)
	if err := checkNumber(number); err != nil {
		return u, err
	}
	u.Number = number
	seen := map[string]bool{}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, hasValue := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			return u, fmt.Errorf("%w: empty parameter in %q", ErrBadLineURI, s)
		}
		if seen[name] {
			return u, fmt.Errorf("%w: parameter %q given twice", ErrBadLineURI, name)
		}
		seen[name] = true
		switch name {
		case "ext":
			ext := stripVisual(value)
			if !hasValue || !isDialDigits(ext) {
				return u, fmt.Errorf("%w: ext=%q is not digits", ErrBadLineURI, value)
			}
			u.Ext = ext
		case "phone-context":
			if !hasValue || value == "" {
				return u, fmt.Errorf("%w: empty phone-context", ErrBadLineURI)
			}
			u.Context = value
		}
	}
	return u, nil
}

// checkNumber accepts "+" and 1–32 digits, or 1–32 local digits (0-9 * #).
func checkNumber(n string) error {
	digits := strings.TrimPrefix(n, "+")
	ok := len(digits) <= 32
	if n != digits {
		ok = ok && isDigits(digits)
	} else {
		ok = ok && isDialDigits(digits)
	}
	if !ok {
		return fmt.Errorf("%w: %q is not a phone number", ErrBadLineURI, n)
	}
	return nil
}

// isDialDigits reports whether s is non-empty and only 0-9, '*' and '#'.
func isDialDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || s[i] == '*' || s[i] == '#') {
			return false
		}
	}
	return true
}

// stripVisual drops RFC 3966 visual separators and spaces.
func stripVisual(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')', ' ', '\t':
			return -1
		}
		return r
	}, s)
}

// MatchMethod says how a line URI found its station.
type MatchMethod int

// Match methods, in the order MatchLine tries them.
const (
	MatchUnknown   MatchMethod = iota
	MatchAddress               // the number equals a station's identification address
	MatchExtParam              // the ;ext= parameter equals a station's extension
	MatchExtension             // the local number equals a station's extension
	MatchDialPlan              // the dial plan resolves the number to a station
)

var matchMethodNames = []string{"Unknown", "identification address", "ext parameter", "extension", "dial plan"}

func (m MatchMethod) String() string { return enumName(matchMethodNames, int(m)) }

// ParseMatchMethod parses a match method name as printed by String.
func ParseMatchMethod(s string) (MatchMethod, error) {
	i, err := parseEnum("match method", matchMethodNames, s)
	return MatchMethod(i), err
}

// LineMatch is what a line URI names in a configuration.
type LineMatch struct {
	URI     LineURI
	Station *Station    // nil: the line names no station
	Method  MatchMethod // how Station was found
	Route   *Result     // the dial plan's reading of URI.Number, when consulted and a rule matched
}

// MatchLine finds the station a line URI names (docs/station.md, "Line URI
// matching"): by identification address, then the ext parameter, then a
// local number as extension, then through the dial plan. When no station
// matches, Route tells what the number is (for remote-number logon).
func (c *Config) MatchLine(lineURI string) (LineMatch, error) {
	u, err := ParseLineURI(lineURI)
	m := LineMatch{URI: u}
	if err != nil {
		return m, err
	}
	switch {
	case u.Global() && c.stationsByAddr[u.Number] != nil:
		m.Station, m.Method = c.stationsByAddr[u.Number], MatchAddress
		return m, nil
	case u.Ext != "" && c.stationsByExt[u.Ext] != nil:
		m.Station, m.Method = c.stationsByExt[u.Ext], MatchExtParam
		return m, nil
	case !u.Global() && c.stationsByExt[u.Number] != nil:
		m.Station, m.Method = c.stationsByExt[u.Number], MatchExtension
		return m, nil
	}
	if r, err := c.DialPlan.Resolve(u.Number); err == nil {
		m.Route = &r
		if r.Target == TargetStation && r.Station != nil {
			m.Station, m.Method = r.Station, MatchDialPlan
		}
	}
	return m, nil
}
