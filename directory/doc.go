// Package directory maps a Lync SIP identity to its Windows domain account and RCC line, from Active Directory over LDAP or from a file, through a cache.
package directory
