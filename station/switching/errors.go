package switching

import (
	"errors"
	"fmt"
)

// Sentinel errors. Operations wrap them with %w; test with errors.Is.
var (
	// ErrInvalidConfig: the Config is unusable; the message names the field.
	ErrInvalidConfig = errors.New("switching: invalid configuration")
	// ErrInvalidArgument: an operation got a malformed argument.
	ErrInvalidArgument = errors.New("switching: invalid argument")
	// ErrUnknownDevice: no station has that extension.
	ErrUnknownDevice = errors.New("switching: unknown device")
	// ErrUnknownCall: no live call has that ID, or the device is not in it.
	ErrUnknownCall = errors.New("switching: unknown call")
	// ErrInvalidState: the connection is not in a state that allows the operation
	// (e.g. Answer on a call that is not ringing).
	ErrInvalidState = errors.New("switching: invalid connection state")
	// ErrNotRegistered: the station has no registered or static contact.
	ErrNotRegistered = errors.New("switching: station not registered")
	// ErrNoRoute: the dial plan cannot route the number.
	ErrNoRoute = errors.New("switching: no route for number")
	// ErrNoTrunk: the dial plan chose the trunk but none is configured.
	ErrNoTrunk = errors.New("switching: no trunk configured")
	// ErrAnswerNotSupported: the station's answer method is none; answer at the handset.
	ErrAnswerNotSupported = errors.New("switching: station cannot be answered remotely")
	// ErrNotImplemented: the operation is not built.
	ErrNotImplemented = errors.New("switching: not implemented")
	// ErrClosed: the switch is shut down.
	ErrClosed = errors.New("switching: switch closed")
	// ErrSubscriptionClosed: the subscription was closed.
	ErrSubscriptionClosed = errors.New("switching: subscription closed")
	// ErrSIP: a SIP transaction failed; the message carries the status or transport error.
	ErrSIP = errors.New("switching: SIP request failed")
)

// ErrRollbackFailed: a two-step operation (hold, retrieve, alternate,
// transfer) failed half-way and undoing its first step failed too; it is
// joined to the first failure.
var ErrRollbackFailed = errors.New("switching: rollback failed")

// ErrNoResponse: a SIP peer (phone or trunk) sent no final response in time
// (RFC 3261 §17.1.1.2 Timer B, §17.1.2.2 Timer F, or the setup timeout).
// It is wrapped together with ErrSIP.
var ErrNoResponse = errors.New("switching: no response from the peer")

// notRegisteredError is ErrNotRegistered for one station, with the text
// fmt.Errorf("%w: %s") gives, built without fmt: every MakeCall from an
// unregistered station is refused with it, and fmt was about 2 % of that
// request's CPU.
type notRegisteredError struct{ ext string }

func (e *notRegisteredError) Error() string { return ErrNotRegistered.Error() + ": " + e.ext }
func (e *notRegisteredError) Unwrap() error { return ErrNotRegistered }

// StatusError is a non-2xx final response from a phone or the trunk
// (RFC 3261 §21). It unwraps to ErrSIP, so errors.Is(err, ErrSIP) holds;
// errors.As gives the status code for a precise CSTA error.
type StatusError struct {
	Method string // the request that failed: INVITE, NOTIFY, INFO, REFER…
	Code   int    // the SIP status code, 300–699
	Reason string // the reason phrase as sent
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v: %s answered %d %s", ErrSIP, e.Method, e.Code, e.Reason)
}

// Unwrap makes every StatusError an ErrSIP.
func (e *StatusError) Unwrap() error { return ErrSIP }

// SIPStatus returns the status code of the SIP failure in err's chain, if any.
func SIPStatus(err error) (int, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, true
	}
	return 0, false
}
