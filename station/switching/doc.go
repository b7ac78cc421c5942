// Package switching is the switching function: a SIP registrar and signalling-only back-to-back user agent that owns the stations, places and controls their calls, and publishes call events.
package switching
