package directory

import "strings"

// Entry is one Lync user as the directory knows it: who the SIP identity is
// in Windows, and which phone line it may control.
type Entry struct {
	// DN identifies the source object in messages: the LDAP DN, or
	// "file#N" for the N-th user of a file.
	DN string `json:"dn"`
	// SIPAddress is msRTCSIP-PrimaryUserAddress as stored, e.g.
	// sip:alice@example.com.
	SIPAddress string `json:"sip_address"`
	// Account is the Windows domain account, EXAMPLE\alice.
	Account Account `json:"account"`
	// UPN is userPrincipalName, e.g. alice@example.com.
	UPN string `json:"upn,omitempty"`
	// DisplayName is displayName.
	DisplayName string `json:"display_name,omitempty"`
	// Telephone is telephoneNumber, as stored (free text).
	Telephone string `json:"telephone,omitempty"`
	// LineURI is msRTCSIP-Line, the phone the user controls, e.g.
	// tel:+13175551010. Empty when the user has no line.
	LineURI string `json:"line_uri,omitempty"`
	// LineServerURI is msRTCSIP-LineServer, the SIP URI of the RCC gateway
	// the user's client calls, e.g. sip:rcc@rcc.example.com.
	LineServerURI string `json:"line_server_uri,omitempty"`
	// RCCEnabled: the "remote call control" bit of msRTCSIP-OptionFlags is
	// set (see Config.RCCOptionMask).
	RCCEnabled bool `json:"rcc_enabled"`
	// Enabled is msRTCSIP-UserEnabled: the user is enabled for Lync at all.
	Enabled bool `json:"enabled"`
	// AccountDisabled: the Windows account is disabled, the ACCOUNTDISABLE
	// bit (0x2) of userAccountControl is set. Such a user is not admitted,
	// whatever the Lync attributes say (see Config.AdmitDisabledAccounts).
	AccountDisabled bool `json:"account_disabled,omitempty"`
}

// Account is a Windows domain account: the NetBIOS domain name and the
// sAMAccountName, the pre-Windows 2000 logon name.
type Account struct {
	Domain string `json:"domain"`
	SAM    string `json:"sam"`
}

// String returns the down-level logon name, DOMAIN\sam.
func (a Account) String() string { return a.Domain + `\` + a.SAM }

// IsZero reports whether the account is empty.
func (a Account) IsZero() bool { return a.Domain == "" && a.SAM == "" }

// ParseAccount parses a down-level logon name, DOMAIN\sam. Without a
// backslash the whole string is the sam and Domain is empty.
func ParseAccount(s string) Account {
	if d, sam, ok := strings.Cut(s, `\`); ok {
		return Account{Domain: d, SAM: sam}
	}
	return Account{SAM: s}
}

// MarshalText encodes the account as DOMAIN\sam (in JSON and YAML).
func (a Account) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes DOMAIN\sam (see ParseAccount).
func (a *Account) UnmarshalText(b []byte) error {
	*a = ParseAccount(string(b))
	return nil
}
