package station

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. A *LoginError unwraps to the sentinel of its log code, so
// callers can test refusals with errors.Is as well as with LoginError.Code.
var (
	// ErrNoFeatureLicense: the server lacks the I3_FEATURE_LYNC feature licence.
	ErrNoFeatureLicense = errors.New("the server has no I3_FEATURE_LYNC feature licence")
	// ErrNoCicUser: no contact-center user carries the domain account.
	ErrNoCicUser = errors.New("no contact-center user has this domain account")
	// ErrAmbiguousCicUser: more than one contact-center user carries the domain account.
	ErrAmbiguousCicUser = errors.New("more than one contact-center user has this domain account")
	// ErrNoClientLicense: the contact-center user has no client licence.
	ErrNoClientLicense = errors.New("the contact-center user has no client licence")
	// ErrNotRccUser: the user's type does not allow remote call control.
	ErrNotRccUser = errors.New("the contact-center user is not a remote call control user")
	// ErrStationNotFound: the line URI names no station, and remote-number logon is not possible.
	ErrStationNotFound = errors.New("the line URI names no station")
	// ErrStationInactive: the station named by the line URI is not active.
	ErrStationInactive = errors.New("the station is not active")
	// ErrStationInUse: another user is logged in to the station.
	ErrStationInUse = errors.New("the station is logged in by another user")

	// ErrLoggedOut is the EndReason of a login whose last holder logged out.
	ErrLoggedOut = errors.New("logged out")
	// ErrNoRule: no dial-plan rule matches the number.
	ErrNoRule = errors.New("no dial-plan rule matches")
	// ErrBadLineURI: a line URI could not be parsed.
	ErrBadLineURI = errors.New("malformed line URI")
	// ErrBadPattern: a dial-plan pattern or template could not be compiled.
	ErrBadPattern = errors.New("malformed dial-plan pattern")
	// ErrInvalidConfig: every *ConfigError unwraps to it.
	ErrInvalidConfig = errors.New("invalid station configuration")
)

// LogCode is the code logged with a refusal and carried in the answer to
// the client (docs/troubleshooting.md "What the client receives"). The zero value is LogCodeUnknown.
type LogCode string

// The log codes of the login service. The names are the ones of the
// administrator's guide (Cs_StationInUseByAnotherUser, Cs_NoClientLicense).
const (
	LogCodeUnknown                LogCode = ""
	CodeNoFeatureLicense          LogCode = "Cs_NoFeatureLicense"
	CodeNoCicUser                 LogCode = "Cs_NoCicUser"
	CodeAmbiguousCicUser          LogCode = "Cs_AmbiguousCicUser"
	CodeNoClientLicense           LogCode = "Cs_NoClientLicense"
	CodeNotRccUser                LogCode = "Cs_NotRccUser"
	CodeStationNotFound           LogCode = "Cs_StationNotFound"
	CodeStationInactive           LogCode = "Cs_StationInactive"
	CodeStationInUseByAnotherUser LogCode = "Cs_StationInUseByAnotherUser"
)

var codeSentinels = map[LogCode]error{
	CodeNoFeatureLicense:          ErrNoFeatureLicense,
	CodeNoCicUser:                 ErrNoCicUser,
	CodeAmbiguousCicUser:          ErrAmbiguousCicUser,
	CodeNoClientLicense:           ErrNoClientLicense,
	CodeNotRccUser:                ErrNotRccUser,
	CodeStationNotFound:           ErrStationNotFound,
	CodeStationInactive:           ErrStationInactive,
	CodeStationInUseByAnotherUser: ErrStationInUse,
}

// String returns the code as logged, or "Unknown".
func (c LogCode) String() string {
	if c == LogCodeUnknown {
		return "Unknown"
	}
	return string(c)
}

// Err returns the sentinel error of the code, or nil for an unknown code.
func (c LogCode) Err() error { return codeSentinels[c] }

// ParseLogCode returns the log code named s (case-insensitive), or
// LogCodeUnknown and an error.
func ParseLogCode(s string) (LogCode, error) {
	for c := range codeSentinels {
		if strings.EqualFold(string(c), s) {
			return c, nil
		}
	}
	return LogCodeUnknown, fmt.Errorf("unknown log code %q", s)
}

// LoginError is a refused login, or the reason a reload ended one. It
// unwraps to the sentinel of its log code.
type LoginError struct {
	LogCode LogCode // why
	Account string  // the domain account that asked, as given
	UserID  string  // the contact-center user, once known
	LineURI string  // the line URI, as given
	Station string  // the station's name, once known
	Holder  string  // for Cs_StationInUseByAnotherUser: the user holding the station (for logs)
	Detail  string  // a short explanation for the log
}

// Code returns the log code as a string, e.g. "Cs_NoClientLicense".
func (e *LoginError) Code() string { return string(e.LogCode) }

// Unwrap returns the sentinel error of the log code.
func (e *LoginError) Unwrap() error { return e.LogCode.Err() }

// Error formats the refusal for a log line. It names the holder of a busy
// station only by user ID.
func (e *LoginError) Error() string {
	var b strings.Builder
	b.WriteString(e.LogCode.String())
	b.WriteString(": ")
	if s := e.LogCode.Err(); s != nil {
		b.WriteString(s.Error())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	for _, kv := range [...][2]string{{"account", e.Account}, {"user", e.UserID}, {"line", e.LineURI}, {"station", e.Station}, {"holder", e.Holder}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

// CodeOf returns the log code of err if it is, or wraps, a *LoginError;
// otherwise LogCodeUnknown.
func CodeOf(err error) LogCode {
	var le *LoginError
	if errors.As(err, &le) {
		return le.LogCode
	}
	return LogCodeUnknown
}

// ConfigError is one problem in the configuration: the key (as in the YAML
// file, e.g. stations[2].extension), the offending value and what is wrong.
// LoadConfig joins all of them with errors.Join. It unwraps to ErrInvalidConfig.
type ConfigError struct {
	Key     string
	Value   string // already redacted where secret
	Problem string
}

// Error formats the problem as `key "value": problem`.
func (e *ConfigError) Error() string {
	if e.Value == "" {
		return e.Key + ": " + e.Problem
	}
	return fmt.Sprintf("%s %q: %s", e.Key, e.Value, e.Problem)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Problems splits an error returned by LoadConfig into its single problems,
// so a `-check` can print one per line.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}
