package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rccserver/rccserver/station/switching"
)

// Code is the log code of an API refusal: written to the log (field
// "code") and into the JSON error body (docs/troubleshooting.md).
type Code string

// Log codes. CodeUnknown is the zero value and never written.
const (
	CodeUnknown      Code = ""
	CodeUnauthorized Code = "Cs_APIUnauthorized" // no bearer token, or one no configured hash matches
	CodeForbidden    Code = "Cs_APIForbidden"    // the token is not scoped to the station
	CodeBadRequest   Code = "Cs_APIBadRequest"   // malformed body or parameters
	CodeNotFound     Code = "Cs_APINotFound"     // no such station or call
	CodeRefused      Code = "Cs_APIRefused"      // the switch refused the operation (state, number, registration)
	CodeInternal     Code = "Cs_APIInternalError"
)

// Sentinel errors; handlers wrap them with %w and httpError maps them.
var (
	ErrInvalidConfig = errors.New("api: invalid configuration")
	ErrUnauthorized  = errors.New("missing or unknown bearer token")
	ErrForbidden     = errors.New("station not in the token's scope")
	ErrBadRequest    = errors.New("bad request")
	ErrNotFound      = errors.New("not found")
)

// status maps an error to the HTTP status and log code it is answered with.
func status(err error) (int, Code) {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, CodeUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, CodeForbidden
	case errors.Is(err, ErrBadRequest), errors.Is(err, switching.ErrInvalidArgument):
		return http.StatusBadRequest, CodeBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, switching.ErrUnknownDevice), errors.Is(err, switching.ErrUnknownCall):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, switching.ErrNoRoute), errors.Is(err, switching.ErrInvalidState),
		errors.Is(err, switching.ErrNotImplemented), errors.Is(err, switching.ErrAnswerNotSupported):
		return http.StatusConflict, CodeRefused
	case errors.Is(err, switching.ErrNotRegistered), errors.Is(err, switching.ErrNoTrunk), errors.Is(err, switching.ErrClosed):
		return http.StatusServiceUnavailable, CodeRefused
	}
	return http.StatusInternalServerError, CodeInternal
}

func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}
