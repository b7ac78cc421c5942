package directory

import (
	"errors"
	"fmt"
	"strings"
)

// NormalizeSIPAddress returns the key SIP addresses are matched by:
// surrounding spaces and angle brackets removed, the sip: or sips: scheme
// removed, URI parameters (;…) and headers (?…) dropped, and the rest in
// lower case. sip:alice@example.com, Alice@Example.COM and
// <sip:alice@example.com;transport=tls> all give alice@example.com.
//
// Lower-casing the user part departs from RFC 3261 section 19.1.4 (where it
// is case-sensitive) on purpose: Lync and AD treat SIP addresses as
// case-insensitive, and AD keeps them unique regardless of case.
func NormalizeSIPAddress(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok && (strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips")) {
		s = rest
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s) // no allocation when already lower case
}

// validSIPAddress checks a stored msRTCSIP-PrimaryUserAddress: user@host
// with both parts present and no spaces, optionally with a sip: scheme.
func validSIPAddress(s string) error { return validSIPKey(s, NormalizeSIPAddress(s)) }

// validSIPKey is validSIPAddress for s whose NormalizeSIPAddress is key.
func validSIPKey(s, key string) error {
	if s == "" {
		return errors.New("no SIP address")
	}
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") && !strings.Contains(scheme, "@") {
		return fmt.Errorf("SIP address %q has scheme %q, want a sip URI", s, scheme)
	}
	user, host, ok := strings.Cut(key, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(key, " \t<>\"") || strings.Contains(host, "@") {
		return fmt.Errorf("malformed SIP address %q, want sip:user@domain", s)
	}
	return nil
}

// NormalizeLineURI returns the key line URIs are matched by when the exact
// string does not match:
//   - surrounding spaces removed, the scheme in lower case (TEL: -> tel:);
//   - tel: URIs: visual separators (RFC 3966 section 5.1.1: - . ( ) and,
//     since AD data often has them, spaces) removed from the number, and
//     the number and its parameters in lower case
//     ("tel:+1 (317) 555-1010;EXT=10" -> "tel:+13175551010;ext=10");
//   - sip: and sips: URIs: in lower case;
//   - anything else: in lower case.
//
// Parameters are kept: tel:+13175551010;ext=10 and tel:+13175551010 are
// different lines.
func NormalizeLineURI(s string) string {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return strings.ToLower(s)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "tel" {
		return scheme + ":" + strings.ToLower(rest)
	}
	if scheme == s[:3] && isNormalTel(rest) {
		return s // already normal: no allocation
	}
	number, params, _ := strings.Cut(rest, ";")
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString("tel:")
	for i := 0; i < len(number); i++ {
		if c := number[i]; !isVisualSeparator(c) {
			b.WriteByte(lowerASCII(c))
		}
	}
	if params != "" {
		b.WriteByte(';')
		b.WriteString(strings.ToLower(params))
	}
	return b.String()
}

// isNormalTel reports whether a tel: URI body has no upper-case letters
// and no visual separators in its number.
func isNormalTel(rest string) bool {
	inNumber := true
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == ';' {
			inNumber = false
		}
		if c >= 'A' && c <= 'Z' || inNumber && isVisualSeparator(c) {
			return false
		}
	}
	return true
}

// validLineURI checks a stored msRTCSIP-Line. Empty is valid (no line).
// tel: URIs need a number: + and at least one digit (global, RFC 3966
// global-number-digits), or hex digits, * and # (local); visual
// separators and spaces are allowed. sip: and sips: URIs need a host.
func validLineURI(s string) error {
	if s == "" {
		return nil
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("line URI %q has no scheme, want a tel or sip URI", s)
	}
	switch strings.ToLower(scheme) {
	case "tel":
		number, params, hasParams := strings.Cut(rest, ";")
		global := strings.HasPrefix(number, "+")
		if global {
			number = number[1:]
		}
		digits := 0
		for i := 0; i < len(number); i++ {
			c := number[i]
			switch {
			case c >= '0' && c <= '9':
				digits++
			case isVisualSeparator(c):
			case !global && (isHex(c) || c == '*' || c == '#'):
				digits++
			default:
				return fmt.Errorf("malformed line URI %q: bad character %q in the number", s, c)
			}
		}
		if digits == 0 {
			return fmt.Errorf("malformed line URI %q: no number", s)
		}
		if hasParams {
			for p := range strings.SplitSeq(params, ";") {
				if name, _, _ := strings.Cut(p, "="); strings.TrimSpace(name) == "" {
					return fmt.Errorf("malformed line URI %q: empty parameter", s)
				}
			}
		}
		return nil
	case "sip", "sips":
		addr, _, _ := strings.Cut(rest, ";")
		host := addr
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			host = addr[i+1:]
		}
		if host == "" || strings.ContainsAny(rest, " \t<>\"") {
			return fmt.Errorf("malformed line URI %q", s)
		}
		return nil
	default:
		return fmt.Errorf("line URI %q has scheme %q, want a tel or sip URI", s, scheme)
	}
}

// isVisualSeparator: RFC 3966 visual-separator, plus space.
func isVisualSeparator(c byte) bool {
	return c == '-' || c == '.' || c == '(' || c == ')' || c == ' '
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
