package switching

import "sync"

// LogCode is the code the switch writes to the log (field "code") for a
// refusal or a lost call leg. The names follow rccserver's (Cs_…);
// docs/troubleshooting.md explains each.
type LogCode string

// Log codes of the phones' side.
const (
	// CodePhoneAccessDenied: a datagram or connection from a peer outside Config.Access.
	CodePhoneAccessDenied LogCode = "Cs_PhoneAccessDenied"
	// CodePhoneAuthFailed: a REGISTER or INVITE carried credentials that are wrong
	// (unknown user, wrong password, foreign realm, unparseable).
	CodePhoneAuthFailed LogCode = "Cs_PhoneAuthFailed"
	// CodePhoneAuthRateLimited: a source IP over Config.AuthMaxFailures was refused with 403.
	CodePhoneAuthRateLimited LogCode = "Cs_PhoneAuthRateLimited"
	// CodePhoneLegLost: a device stopped answering inside a call; the call was cleared.
	CodePhoneLegLost LogCode = "Cs_PhoneLegLost"
	// CodeRegisterBadPath: a REGISTER's Path header is malformed or too long; 400.
	CodeRegisterBadPath LogCode = "Cs_RegisterBadPath"
)

// phoneCodes are the codes Refusals always reports, zero or not.
var phoneCodes = [...]LogCode{CodePhoneAccessDenied, CodePhoneAuthFailed, CodePhoneAuthRateLimited, CodePhoneLegLost}

// refusalCounts counts every refusal by code, sampled logs or not: the
// switch's own codes and the SIP edge's (sipedge).
type refusalCounts struct {
	mu sync.Mutex
	n  map[LogCode]uint64
}

func (r *refusalCounts) inc(code LogCode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[LogCode]uint64{}
	}
	r.n[code]++
}

func (r *refusalCounts) get(code LogCode) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[code]
}

// Refusals returns how many times each phones'-side code was logged or,
// where the log is sampled, counted: the switch's codes (zero or not) and
// every SIP edge code seen.
func (sw *Switch) Refusals() map[LogCode]uint64 {
	sw.refusals.mu.Lock()
	defer sw.refusals.mu.Unlock()
	out := make(map[LogCode]uint64, len(phoneCodes)+len(sw.refusals.n))
	for _, c := range phoneCodes {
		out[c] = 0
	}
	for c, v := range sw.refusals.n {
		out[c] = v
	}
	return out
}

// maxLogField bounds raw client input written to a log line.
const maxLogField = 512

// clip truncates raw client input for the log to maxLogField bytes, on a
// rune boundary; zerolog escapes what remains (JSON string escaping).
func clip(s string) string {
	if len(s) <= maxLogField {
		return s
	}
	cut := maxLogField
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
