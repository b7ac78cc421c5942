// Package callcontrol is the RCC application: it admits a signed-in Lync
// user (directory → contact-center login → station), answers the session's
// CSTA requests by driving the switch (station/switching), and turns the
// switch's events into CSTA events on every monitor of the line. It also
// adapts the contact-center model to the switch: the dial plan as the
// switch's router and the client's device namer, the stations, and
// remote-number lines.
//
// It sits between the SIP session server (package rccserver, which knows
// sipgo and csta but no directory, station or switch) and the switch. The
// command (rccserver/cmd/rccserver) only wires them together.
package callcontrol

import (
	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/rccserver"
)

// Log codes of the directory (package directory logs them; listed here so
// the application's codes are in one place, docs/troubleshooting.md).
const (
	CodeDirectoryEmpty  rccserver.LogCode = directory.CodeEmpty  // a directory load returned no users: refused
	CodeDirectoryShrunk rccserver.LogCode = directory.CodeShrunk // a refresh returned far fewer users: refused
	// CodeEventsResynced: the switch dropped events for a slow line; its
	// monitors were brought back in line with the switch's snapshot.
	CodeEventsResynced rccserver.LogCode = "Cs_EventsResynced"
)
