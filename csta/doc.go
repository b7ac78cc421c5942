// Package csta is the ECMA-323 (3rd edition) CSTA XML model and codec; it does no I/O and imports only the standard library.
package csta
