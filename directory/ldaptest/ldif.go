package ldaptest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// User is one AD-style user object (objectClass user) under CN=Users.
// Empty string fields are left out of the entry, so tests can build
// incomplete or malformed entries on purpose.
type User struct {
	// CN is the RDN value; it defaults to SAMAccountName, then to the user
	// part of SIPAddress.
	CN             string
	SAMAccountName string
	UPN            string // userPrincipalName
	SIPAddress     string // msRTCSIP-PrimaryUserAddress, e.g. sip:alice@example.com
	Line           string // msRTCSIP-Line, e.g. tel:+13175551010
	LineServer     string // msRTCSIP-LineServer
	DisplayName    string
	Telephone      string // telephoneNumber
	// OptionFlags is msRTCSIP-OptionFlags; 0 leaves the attribute out.
	// 16 is "remote call control enabled".
	OptionFlags int
	// Disabled writes msRTCSIP-UserEnabled FALSE instead of TRUE.
	Disabled bool
	// AccountDisabled sets the ACCOUNTDISABLE bit of userAccountControl:
	// the Windows account is disabled, whatever the Lync attributes say.
	AccountDisabled bool
	// Password, when set, lets the user bind.
	Password string
}

// RDN returns the value of the user's CN.
func (u User) RDN() string {
	switch {
	case u.CN != "":
		return u.CN
	case u.SAMAccountName != "":
		return u.SAMAccountName
	default:
		s := strings.TrimPrefix(strings.ToLower(u.SIPAddress), "sip:")
		if i := strings.IndexByte(s, '@'); i >= 0 {
			s = s[:i]
		}
		return s
	}
}

// Numbered returns the i-th generated user of a bulk population in the
// DNS domain domain: user000042, sip:user000042@domain, line
// tel:+1317600042 (i < 10^7), RCC enabled.
func Numbered(i int, domain string) User {
	sam := fmt.Sprintf("user%06d", i)
	return User{
		SAMAccountName: sam,
		UPN:            sam + "@" + domain,
		SIPAddress:     "sip:" + sam + "@" + domain,
		Line:           fmt.Sprintf("tel:+1317%07d", i),
		LineServer:     "sip:rcc@rcc." + domain,
		DisplayName:    fmt.Sprintf("User %06d", i),
		Telephone:      fmt.Sprintf("+1 317 %03d %04d", i/10000%1000, i%10000),
		OptionFlags:    16 | 256, // RCC enabled + enhanced presence
	}
}

// ldifWriter writes LDIF (RFC 2849) records.
type ldifWriter struct {
	w   *bufio.Writer
	err error
}

func newLDIFWriter(w io.Writer) *ldifWriter { return &ldifWriter{w: bufio.NewWriter(w)} }

// attr writes one attribute line, base64-encoded when the value is not a
// SAFE-STRING (RFC 2849 section 2 / note 8).
func (l *ldifWriter) attr(name, value string) {
	if l.err != nil {
		return
	}
	if safeString(value) {
		_, l.err = fmt.Fprintf(l.w, "%s: %s\n", name, value)
		return
	}
	_, l.err = fmt.Fprintf(l.w, "%s:: %s\n", name, base64.StdEncoding.EncodeToString([]byte(value)))
}

// end terminates a record.
func (l *ldifWriter) end() {
	if l.err == nil {
		l.err = l.w.WriteByte('\n')
	}
}

func (l *ldifWriter) flush() error {
	if l.err != nil {
		return l.err
	}
	return l.w.Flush()
}

func safeString(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; c == ' ' || c == ':' || c == '<' {
		return false
	}
	if s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\n' || c == '\r' || c > 127 {
			return false
		}
	}
	return true
}

// attributes returns the user's entry as LDAP attributes, in a stable order.
func (u User) attributes() [][2]string {
	a := [][2]string{
		{"objectClass", "top"},
		{"objectClass", "person"},
		{"objectClass", "organizationalPerson"},
		{"objectClass", "user"},
		{"cn", u.RDN()},
		{"sn", u.RDN()},
	}
	add := func(name, v string) {
		if v != "" {
			a = append(a, [2]string{name, v})
		}
	}
	add("sAMAccountName", u.SAMAccountName)
	add("userPrincipalName", u.UPN)
	add("displayName", u.DisplayName)
	add("telephoneNumber", u.Telephone)
	add("msRTCSIP-PrimaryUserAddress", u.SIPAddress)
	add("msRTCSIP-Line", u.Line)
	add("msRTCSIP-LineServer", u.LineServer)
	if u.OptionFlags != 0 {
		add("msRTCSIP-OptionFlags", strconv.Itoa(u.OptionFlags))
	}
	if u.SIPAddress != "" {
		add("msRTCSIP-UserEnabled", strings.ToUpper(strconv.FormatBool(!u.Disabled)))
	}
	add("userAccountControl", strconv.Itoa(u.UserAccountControl()))
	if u.Password != "" {
		add("userPassword", ssha(u.Password))
	}
	return a
}

// userAccountControl bits ([MS-ADTS] section 2.2.16, "userAccountControl
// Bits"; https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties).
const (
	UFAccountDisable = 0x0002 // ACCOUNTDISABLE
	UFPasswdNotReqd  = 0x0020 // PASSWD_NOTREQD
	UFNormalAccount  = 0x0200 // NORMAL_ACCOUNT
)

// UserAccountControl is the userAccountControl value of u: a normal
// account, PASSWD_NOTREQD when it has no password (AD refuses to enable a
// password-less account otherwise), ACCOUNTDISABLE when AccountDisabled.
func (u User) UserAccountControl() int {
	v := UFNormalAccount
	if u.Password == "" {
		v |= UFPasswdNotReqd
	}
	if u.AccountDisabled {
		v |= UFAccountDisable
	}
	return v
}

// ssha hashes a password in OpenLDAP's {SSHA} scheme: base64(SHA1(pw+salt)+salt).
// (SHA-1 here is slapd's legacy password scheme, acceptable for a test server.)
func ssha(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
