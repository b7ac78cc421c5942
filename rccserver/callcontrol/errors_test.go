package callcontrol

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station/switching"
)

// TestSwitchErrorSIP: a phone's or trunk's SIP failure becomes the specific
// ECMA-269 error of docs/csta.md "SIP failures", never operation/generic.
func TestSwitchErrorSIP(t *testing.T) {
	status := func(method string, code int) error {
		return fmt.Errorf("hold: %w", &switching.StatusError{Method: method, Code: code, Reason: "x"})
	}
	for _, tc := range []struct {
		name     string
		err      error
		category csta.ErrorCategory
		value    string
	}{
		{"486 busy", status("re-INVITE", 486), csta.CategorySystemResourceAvailability, csta.ResourceBusy},
		{"491 pending", status("re-INVITE", 491), csta.CategorySystemResourceAvailability, csta.ResourceBusy},
		{"481 no dialog", status("re-INVITE", 481), csta.CategoryStateIncompatibility, csta.StateInvalidConnectionState},
		{"488 media", status("re-INVITE", 488), csta.CategoryOperation, csta.OpRequestIncompatibleWithObject},
		{"603 decline", status("INVITE", 603), csta.CategoryOperation, csta.OpRequestIncompatibleWithObject},
		{"404 destination", status("REFER", 404), csta.CategoryOperation, csta.OpInvalidDestination},
		{"503 network", status("INVITE", 503), csta.CategorySystemResourceAvailability, csta.ResourceNetworkOutOfService},
		{"timeout", fmt.Errorf("%w: %w: NOTIFY: x", switching.ErrSIP, switching.ErrNoResponse), csta.CategorySystemResourceAvailability, csta.ResourceOutOfService},
		{"transport", fmt.Errorf("%w: INFO: connection refused", switching.ErrSIP), csta.CategorySystemResourceAvailability, csta.ResourceOutOfService},
		{"answer refused", fmt.Errorf("%w: 1010 refused: %w", switching.ErrAnswerNotSupported, status("NOTIFY", 481)), csta.CategoryOperation, csta.OpInvalidFeature},
	} {
		var re *rccserver.RequestError
		if !errors.As(switchError(tc.err), &re) || re.Answer == nil {
			t.Errorf("%s: not a request error: %v", tc.name, switchError(tc.err))
			continue
		}
		if re.Answer.Category != tc.category || re.Answer.Value != tc.value {
			t.Errorf("%s: %v/%s, want %v/%s", tc.name, re.Answer.Category, re.Answer.Value, tc.category, tc.value)
		}
	}
}

// TestStateErrors: a request the connection's state does not allow says
// which state was missing.
func TestStateErrors(t *testing.T) {
	err := fmt.Errorf("%w: 1010 is connected, not alerting", switching.ErrInvalidState)
	for ok, want := range map[csta.Message]string{
		&csta.AnswerCallResponse{}:      csta.StateNoCallToAnswer,
		&csta.RetrieveCallResponse{}:    csta.StateNoHeldCall,
		&csta.HoldCallResponse{}:        csta.StateNoActiveCall,
		&csta.ClearConnectionResponse{}: csta.StateNoCallToClear,
		&csta.TransferCallResponse{}:    csta.StateInvalidConnectionState,
	} {
		_, got := done(err, ok)
		var re *rccserver.RequestError
		if !errors.As(got, &re) || re.Answer.Category != csta.CategoryStateIncompatibility || re.Answer.Value != want {
			t.Errorf("%T: %v, want stateIncompatibility/%s", ok, got, want)
		}
	}
}
