package ldaptest

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// lyncAttribute is one attributeSchema object of the Lync / Skype for
// Business schema extension, with its real attributeID (the OIDs of
// testdata/ad-lync.schema).
type lyncAttribute struct {
	cn, name, oid string
	// syntax is the attributeSyntax / oMSyntax pair: 2.5.5.12/64 Unicode
	// string, 2.5.5.8/1 Boolean, 2.5.5.9/2 Integer ([MS-ADTS] section
	// 3.1.1.2.2.2, "LDAP Representations").
	syntax, om string
	indexed    bool // searchFlags fATTINDEX
}

var lyncAttributes = []lyncAttribute{
	{"ms-RTC-SIP-PrimaryUserAddress", "msRTCSIP-PrimaryUserAddress", "1.2.840.113556.1.6.24.1.1", "2.5.5.12", "64", true},
	{"ms-RTC-SIP-UserEnabled", "msRTCSIP-UserEnabled", "1.2.840.113556.1.6.24.1.6", "2.5.5.8", "1", false},
	{"ms-RTC-SIP-OptionFlags", "msRTCSIP-OptionFlags", "1.2.840.113556.1.6.24.1.87", "2.5.5.9", "2", false},
	{"ms-RTC-SIP-Line", "msRTCSIP-Line", "1.2.840.113556.1.6.24.1.88", "2.5.5.12", "64", true},
	{"ms-RTC-SIP-LineServer", "msRTCSIP-LineServer", "1.2.840.113556.1.6.24.1.89", "2.5.5.12", "64", false},
}

// lyncSchemaLDIF returns the schema extension as two ldbmodify inputs: the
// attributeSchema objects, then the change to the User class that lets
// users hold them (Lync's schema preparation adds them to User's
// mayContain). The second must run in a new process, after the schema
// cache has the new attributes.
func lyncSchemaLDIF(baseDN string) (attrs, user string) {
	schemaDN := "CN=Schema,CN=Configuration," + baseDN
	var a, u strings.Builder
	for _, at := range lyncAttributes {
		fmt.Fprintf(&a, "dn: CN=%s,%s\nchangetype: add\nobjectClass: top\nobjectClass: attributeSchema\n", at.cn, schemaDN)
		fmt.Fprintf(&a, "cn: %s\nlDAPDisplayName: %s\nattributeID: %s\nattributeSyntax: %s\noMSyntax: %s\nisSingleValued: TRUE\n",
			at.cn, at.name, at.oid, at.syntax, at.om)
		if at.indexed {
			a.WriteString("searchFlags: 1\n")
		}
		a.WriteString("\n")
	}
	fmt.Fprintf(&u, "dn: CN=User,%s\nchangetype: modify\nadd: mayContain\n", schemaDN)
	for _, at := range lyncAttributes {
		fmt.Fprintf(&u, "mayContain: %s\n", at.name)
	}
	u.WriteString("-\n\n")
	return a.String(), u.String()
}

// tlsConfig trusts the test CA and expects the name 127.0.0.1.
func (s *Samba) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: s.pki.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
