// Package directory maps a Lync SIP identity to its Windows domain account and RCC line, from Active Directory over LDAP or from a file, through a cache.
//
// A Directory answers LookupSIP (sip:alice@example.com -> EXAMPLE\alice,
// her line URI, whether RCC is enabled) and LookupLine from memory. The
// Cache implements it over a Source: LDAPSource (AD with the Lync schema
// extension, paged searches over LDAPS or StartTLS) or FileSource (YAML).
// It loads everything at Start, again every refresh interval (Run) and on
// Reload, swapping in each new index atomically; a failed load keeps the
// previous data and retries with backoff, and a snapshot file lets the
// server start while AD is unreachable. Operator documentation:
// docs/directory.md.
package directory
