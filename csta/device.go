package csta

import (
	"fmt"
	"strings"
)

// DeviceKind tells how a device identifier was written.
type DeviceKind int

// DeviceKind values; the zero value is DeviceKindUnknown.
const (
	DeviceKindUnknown DeviceKind = iota
	DeviceTel                    // tel: URI (RFC 3966)
	DeviceSIP                    // sip: or sips: URI
	DeviceBare                   // digits without a scheme, as uaCSTA peers send
)

var deviceKindTable = newEnumTable[DeviceKind]("deviceKind", []string{"", "tel", "sip", "bare"}, nil)

// String returns "tel", "sip", "bare" or "Unknown".
func (k DeviceKind) String() string { return deviceKindTable.String(k) }

// ParseDeviceKind returns the kind named by s.
func ParseDeviceKind(s string) (DeviceKind, error) { return deviceKindTable.parse(s) }

// DeviceID is a parsed device identifier. Raw keeps the string exactly as the
// client sent it: responses and events echo Raw, never a rebuilt form,
// because Lync compares device IDs byte for byte (docs/protocol.md "Device identifiers").
type DeviceID struct {
	Raw          string
	Kind         DeviceKind
	Number       string // tel: and bare: the number without visual separators; sip: the user part
	Host         string // sip: the host part
	PhoneContext string // tel: phone-context parameter (RFC 3966 §5.1.5)
	Ext          string // tel: ext parameter (RFC 3966 §3), also Lync's ;ext= on E.164 lines
	Partition    string // tel: partition parameter some PBX line URIs carry (docs/protocol.md "Device identifiers")
}

// ParseDeviceID parses tel:, sip:/sips: and bare-digit device identifiers.
func ParseDeviceID(s string) (DeviceID, error) {
	d := DeviceID{Raw: s}
	t := strings.TrimSpace(s)
	scheme, rest, hasScheme := strings.Cut(t, ":")
	if !hasScheme || strings.ContainsAny(scheme, "0123456789+ ") {
		d.Kind, rest = DeviceBare, t
		d.Number = NormalizeNumber(rest)
		if d.Number == "" || !isDialable(d.Number) {
			return d, fmt.Errorf("%w: %q", ErrBadDeviceID, s)
		}
		return d, nil
	}
	switch strings.ToLower(scheme) {
	case "tel":
		d.Kind = DeviceTel
		num, params, _ := strings.Cut(rest, ";")
		d.Number = NormalizeNumber(num)
		for p := range strings.SplitSeq(params, ";") {
			name, value, _ := strings.Cut(p, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "phone-context":
				d.PhoneContext = value
			case "ext":
				d.Ext = NormalizeNumber(value)
			case "partition":
				d.Partition = value
			}
		}
		if d.Number == "" || !isDialable(d.Number) {
			return d, fmt.Errorf("%w: %q", ErrBadDeviceID, s)
		}
	case "sip", "sips":
		d.Kind = DeviceSIP
		// sip:user;userparams@host;uriparams?headers (RFC 3261 §19.1.1)
		addr, _, _ := strings.Cut(rest, "?")
		user, host, ok := strings.Cut(addr, "@")
		if !ok {
			user, host = "", addr
		}
		user, _, _ = strings.Cut(user, ";")
		host, _, _ = strings.Cut(host, ";")
		d.Number, d.Host = user, strings.ToLower(host)
		if d.Host == "" {
			return d, fmt.Errorf("%w: %q has no host", ErrBadDeviceID, s)
		}
	default:
		return d, fmt.Errorf("%w: scheme %q in %q", ErrBadDeviceID, scheme, s)
	}
	return d, nil
}

// IsE164 reports whether the identifier is a global number: a leading + and
// 1 to 15 digits (ITU-T E.164, RFC 3966 §5.1.4).
func (d DeviceID) IsE164() bool {
	if d.Kind != DeviceTel && d.Kind != DeviceBare {
		return false
	}
	n := d.Number
	if len(n) < 2 || len(n) > 16 || n[0] != '+' {
		return false
	}
	return allDigits(n[1:])
}

// IsDialString reports whether the identifier is a local dial string: a
// number without +, as Lync writes extensions (tel:73124;phone-context=dialstring).
func (d DeviceID) IsDialString() bool {
	return (d.Kind == DeviceTel || d.Kind == DeviceBare) && !strings.HasPrefix(d.Number, "+")
}

// Key is a comparable form for lookups: the number for tel: and bare
// identifiers, user@host for sip:. Parameters other than the number are
// dropped; use Ext and PhoneContext where they matter.
func (d DeviceID) Key() string {
	if d.Kind == DeviceSIP {
		if d.Number == "" {
			return d.Host
		}
		return d.Number + "@" + d.Host
	}
	return d.Number
}

// NormalizeNumber removes what Lync strips from numbers: space and the RFC
// 3966 visual separators ( ) - . (RFC 3966 §5.1.1; docs/protocol.md
// "Device identifiers").
func NormalizeNumber(s string) string {
	if !strings.ContainsAny(s, " ()-.\t") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '(', ')', '-', '.', '\t':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isDialable accepts what can be dialled: digits, * and #, and a leading +.
func isDialable(n string) bool {
	n = strings.TrimPrefix(n, "+")
	if n == "" {
		return false
	}
	for _, c := range n {
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
