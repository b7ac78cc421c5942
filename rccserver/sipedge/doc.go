// Package sipedge is the hostile-input edge below sipgo: it frames SIP
// messages on stream connections itself (RFC 3261 §18.3), refuses what
// sipgo would choke on with an answer instead of dropping the connection,
// bounds connections per listener and per peer, closes idle and
// half-sent connections, and survives accept errors such as EMFILE.
//
// It is shared by the RCC listeners (rccserver) and the phones' listeners
// (station/switching) and knows nothing of CSTA, Lync or phones. It is
// hand-written because sipgo v1.7 closes a TCP connection on any parse
// error and has no connection limits or idle timeouts of its own; every
// message it passes on is one sipgo parses without error and that carries
// the headers RFC 3261 §8.1.1 makes mandatory.
package sipedge
