// Package ldaptest runs a real OpenLDAP slapd for tests: unprivileged, on
// 127.0.0.1 with free ports, from t.TempDir(), holding entries shaped like
// Active Directory users with the Lync msRTCSIP-* attributes.
//
// A Server has a domain skeleton (DC=example,DC=com, CN=Users, and a crossRef
// with the NetBIOS name under CN=Partitions,CN=Configuration), a non-root
// service account to bind as, StartTLS and LDAPS with a test CA made at test
// time, and AD-like limits: a search by the service account returns at most
// 1000 entries unless it pages (RFC 2696), like AD's MaxPageSize. Tests can
// stop and restart it on the same ports (outages) and add or delete users
// while it runs.
//
// slapd and slapadd come from the Debian packages slapd and ldap-utils
// (go tool task install-test-deps). When they are missing, Start fails the
// test; it never skips.
package ldaptest
