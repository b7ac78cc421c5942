// Package e2e holds end-to-end tests of the rccserver binary: a real
// directory (slapd), real phones (baresip), and a Lync-shaped client on a
// SIP socket. It has no non-test code.
package e2e
