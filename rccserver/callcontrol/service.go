package callcontrol

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/rccserver/rccserver/rccserver"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
)

// Switch is the part of the switching function the CSTA service drives
// (station/switching implements it).
type Switch interface {
	MakeCall(ctx context.Context, ext, dest string) (switching.CallRef, error)
	Answer(ctx context.Context, ext, callID string) error
	Clear(ctx context.Context, ext, callID string) error
	Hold(ctx context.Context, ext, callID string) error
	Retrieve(ctx context.Context, ext, callID string) error
	Alternate(ctx context.Context, ext, activeCallID, heldCallID string) error
	Reconnect(ctx context.Context, ext, activeCallID, heldCallID string) error
	Consult(ctx context.Context, ext, activeCallID, dest string) (switching.CallRef, error)
	Transfer(ctx context.Context, ext, heldCallID, activeCallID string) error
	SingleStepTransfer(ctx context.Context, ext, callID, dest string) error
	Deflect(ctx context.Context, ext, callID, dest string) error
	GenerateDigits(ctx context.Context, ext, callID, digits string) error
	SetForwarding(ext string, typ switching.ForwardType, on bool, dest string) error
	Forwarding(ext string) ([]switching.Forwarding, error)
	SetDND(ext string, on bool) error
	DND(ext string) (bool, error)
	Snapshot(ext string) ([]switching.CallInfo, error)
	Subscribe(ext string) (*switching.Subscription, error)
}

// Service answers the CSTA requests of admitted sessions by driving the
// switch, and turns the switch's events into CSTA events on every monitor
// of the line (docs/architecture.md "One MakeCall"; docs/protocol.md
// "Monitors and events").
type Service struct {
	sw    Switch
	log   zerolog.Logger
	names DeviceNamer // switch device → the tel: URI the client shows
	mu    sync.Mutex
	hubs  map[string]*lineHub // station extension -> fan-out of its events
	// hubsRunning owns the hubs' goroutines; Close waits for them.
	hubsRunning sync.WaitGroup
	resyncs     atomic.Int64 // lines resynchronised after dropped switch events
}

// NewService builds the CSTA service. names maps a switch device (an
// extension or an outside number) to the tel: URI shown to the client; nil
// uses TelURI with no dial plan.
func NewService(sw Switch, names DeviceNamer, log zerolog.Logger) *Service {
	if names == nil {
		names = plainNames{}
	}
	return &Service{sw: sw, names: names, log: log, hubs: map[string]*lineHub{}}
}

// plainNames names devices without a dial plan.
type plainNames struct{}

func (plainNames) TelURI(device string) string { return TelURI(device, "") }

// TelURI writes a device as the tel: URI Lync expects (docs/protocol.md
// "Device identifiers"):
// E.164 when known, else a dial string with phone-context.
func TelURI(device, e164 string) string {
	switch {
	case e164 != "":
		return "tel:" + e164
	case strings.HasPrefix(device, "+"):
		return "tel:" + device
	case strings.HasPrefix(device, "tel:") || strings.HasPrefix(device, "sip:"):
		return device
	default:
		return "tel:" + device + ";phone-context=dialstring"
	}
}

// features lists exactly what this service implements. Conference is not
// here: the switch cannot join calls, so ConferenceCall is refused with
// invalidFeature (issue "Full remote call control").
var features = csta.NewFeatures(
	[]string{"getCSTAFeatures", "requestSystemStatus", "systemStatus", "monitorStart", "monitorStop",
		"snapshotDevice", "alternateCall", "answerCall", "clearConnection", "consultationCall", "deflectCall",
		"holdCall", "makeCall", "reconnectCall", "retrieveCall", "singleStepTransfer", "transferCall",
		"generateDigits", "getDoNotDisturb", "getForwarding", "setDoNotDisturb", "setForwarding"},
	[]string{"connectionCleared", "delivered", "diverted", "established", "failed", "held", "originated",
		"retrieved", "serviceInitiated", "transferred", "digitsGenerated", "doNotDisturb", "forwarding"},
	map[string][]string{
		"requestSystemStatus": {"systemStatusNormal", "systemStatusDisabled"},
		"systemStatus":        {"systemStatusNormal", "switchingFunctionSupportsSending"},
		"monitorStart":        {"monitorObjectDevice", "monitorTypeDevice"},
		"snapshotDevice":      {"localCallStateCompoundCallState"},
		"answerCall":          {"alerting"},
		"clearConnection":     {"alerting", "connected", "fail", "initiated", "hold"},
		"deflectCall":         {"alerting"},
		"makeCall":            {"autoOriginateDoNotPrompt"},
		"generateDigits":      {"digitModeDTMF"},
		"getForwarding":       {"forwardListInAck", "forwardDNInAck"},
		"setForwarding":       {"forwardingTypeBusy", "forwardingTypeNoAns", "forwardingTypeImmediate", "forwardDN"},
	})

// featuresEncoded is the features answer encoded once: it depends only on
// this code, and encoding it for every request was the largest single cost
// of a GetCSTAFeatures round trip (docs/performance.md).
var featuresEncoded = mustPreencode(features)

// Features returns the GetCSTAFeaturesResponse this service answers, as
// encoded once (for baselines that must answer with the same bytes).
func Features() *csta.Encoded { return featuresEncoded }

func mustPreencode(m csta.Message) *csta.Encoded {
	e, err := csta.Preencode(m)
	if err != nil {
		panic(fmt.Sprintf("callcontrol: %s cannot be encoded: %v", m.Root(), err)) // a bug in this file, found at start
	}
	return e
}

// line is what a session controls: its switch device and how the client names it.
type line struct {
	ext   string // the switch's name for the device
	login *station.Login
}

func (svc *Service) lineOf(s *rccserver.Session) (line, error) {
	ln, _ := s.Grant().Value.(*Line)
	if ln == nil || ln.Ext == "" {
		// A remote-number logon without RemoteLines has nothing to control.
		return line{}, csta.OperationError(csta.OpInvalidDeviceID)
	}
	return line{ext: ln.Ext, login: ln.Login}, nil
}

// owns reports whether device names the session's own line: the exact
// string the client signed in with, or any form that normalises to the same
// number, the station's extension or its identification address.
func owns(s *rccserver.Session, l line, device string) bool {
	if device == "" || device == s.Line() {
		return true
	}
	d, err := csta.ParseDeviceID(device)
	if err != nil {
		return false
	}
	mines := []string{s.Line(), l.login.LineURI()}
	if st := l.login.Station(); st != nil {
		mines = append(mines, st.IdentificationAddress)
	}
	for _, mine := range mines {
		if m, err := csta.ParseDeviceID(mine); err == nil && m.Key() == d.Key() && (m.Ext == d.Ext || d.Ext == "" || m.Ext == "") {
			return true
		}
	}
	return d.Number == l.ext || d.Ext == l.ext
}

func privilege(device string) error {
	return &rccserver.RequestError{Code: rccserver.CodePrivilegeViolation, Answer: csta.OperationError(csta.OpPrivilegeViolationSpecifiedDevice),
		Err: fmt.Errorf("device %q is not this session's line", device)}
}

// Resyncs returns how many times a line's events were resynchronised from
// the switch's snapshot after the switch dropped some (metric
// rcc_event_resyncs_total).
func (svc *Service) Resyncs() int64 { return svc.resyncs.Load() }

// HandleCSTA implements Handler.
func (svc *Service) HandleCSTA(ctx context.Context, s *rccserver.Session, req csta.Message) (csta.Message, error) {
	if _, ok := req.(*csta.GetCSTAFeatures); ok {
		return featuresEncoded, nil
	}
	l, err := svc.lineOf(s)
	if err != nil {
		return nil, err
	}
	switch m := req.(type) {
	case *csta.MonitorStart:
		return svc.monitorStart(s, l, m)
	case *csta.MonitorStop:
		return svc.monitorStop(s, m)
	case *csta.SnapshotDevice:
		return svc.snapshot(s, l, m.SnapshotObject)
	case *csta.MakeCall:
		if !owns(s, l, m.CallingDevice) {
			return nil, privilege(m.CallingDevice)
		}
		ref, err := svc.sw.MakeCall(ctx, l.ext, dialable(m.CalledDirectoryNumber))
		if err != nil {
			return nil, switchError(err)
		}
		return &csta.MakeCallResponse{CallingDevice: csta.ConnectionID{CallID: ref.CallID, DeviceID: m.CallingDevice}}, nil
	case *csta.AnswerCall:
		return svc.onCall(ctx, s, l, m.CallToBeAnswered, svc.sw.Answer, &csta.AnswerCallResponse{})
	case *csta.ClearConnection:
		return svc.onCall(ctx, s, l, m.ConnectionToBeCleared, svc.sw.Clear, &csta.ClearConnectionResponse{})
	case *csta.HoldCall:
		return svc.onCall(ctx, s, l, m.CallToBeHeld, svc.sw.Hold, &csta.HoldCallResponse{})
	case *csta.RetrieveCall:
		return svc.onCall(ctx, s, l, m.CallToBeRetrieved, svc.sw.Retrieve, &csta.RetrieveCallResponse{})
	case *csta.AlternateCall:
		if err := svc.check(s, l, m.HeldCall, m.ActiveCall); err != nil {
			return nil, err
		}
		return done(svc.sw.Alternate(ctx, l.ext, m.ActiveCall.CallID, m.HeldCall.CallID), &csta.AlternateCallResponse{})
	case *csta.ReconnectCall:
		if err := svc.check(s, l, m.ActiveCall, m.HeldCall); err != nil {
			return nil, err
		}
		return done(svc.sw.Reconnect(ctx, l.ext, m.ActiveCall.CallID, m.HeldCall.CallID), &csta.ReconnectCallResponse{})
	case *csta.ConsultationCall:
		if err := svc.check(s, l, m.ExistingCall); err != nil {
			return nil, err
		}
		ref, err := svc.sw.Consult(ctx, l.ext, m.ExistingCall.CallID, dialable(m.ConsultedDevice))
		if err != nil {
			return nil, switchError(err)
		}
		return &csta.ConsultationCallResponse{InitiatedCall: csta.ConnectionID{CallID: ref.CallID, DeviceID: echo(s, m.ExistingCall.DeviceID)}}, nil
	case *csta.TransferCall:
		if err := svc.check(s, l, m.HeldCall, m.ActiveCall); err != nil {
			return nil, err
		}
		return done(svc.sw.Transfer(ctx, l.ext, m.HeldCall.CallID, m.ActiveCall.CallID), &csta.TransferCallResponse{})
	case *csta.SingleStepTransferCall:
		if err := svc.check(s, l, m.ActiveCall); err != nil {
			return nil, err
		}
		return done(svc.sw.SingleStepTransfer(ctx, l.ext, m.ActiveCall.CallID, dialable(m.TransferredTo)), &csta.SingleStepTransferCallResponse{})
	case *csta.DeflectCall:
		if err := svc.check(s, l, m.CallToBeDiverted); err != nil {
			return nil, err
		}
		return done(svc.sw.Deflect(ctx, l.ext, m.CallToBeDiverted.CallID, dialable(string(m.NewDestination))), &csta.DeflectCallResponse{})
	case *csta.GenerateDigits:
		if err := svc.check(s, l, m.ConnectionToSendDigits); err != nil {
			return nil, err
		}
		return done(svc.sw.GenerateDigits(ctx, l.ext, m.ConnectionToSendDigits.CallID, m.CharactersToSend), &csta.GenerateDigitsResponse{})
	case *csta.ConferenceCall:
		return nil, csta.OperationError(csta.OpInvalidFeature)
	case *csta.GetForwarding:
		if !owns(s, l, m.Device) {
			return nil, privilege(m.Device)
		}
		fw, err := svc.sw.Forwarding(l.ext)
		if err != nil {
			return nil, switchError(err)
		}
		resp := &csta.GetForwardingResponse{}
		for _, f := range fw {
			if t := forwardingType(f.Type); t != csta.ForwardingTypeUnknown {
				item := csta.ForwardListItem{ForwardingType: t, ForwardStatus: f.On}
				if f.On {
					item.ForwardDN = svc.names.TelURI(f.Destination)
				}
				resp.ForwardingList = append(resp.ForwardingList, item)
			}
		}
		return resp, nil
	case *csta.SetForwarding:
		if !owns(s, l, m.Device) {
			return nil, privilege(m.Device)
		}
		typ, ok := switchForwardType(m.ForwardingType)
		if !ok {
			return nil, csta.OperationError(csta.OpInvalidForwardingType)
		}
		dest := dialable(m.ForwardDN)
		if *m.ActivateForward && dest == "" {
			return nil, csta.OperationError(csta.OpInvalidForwardingDestination)
		}
		return done(svc.sw.SetForwarding(l.ext, typ, *m.ActivateForward, dest), &csta.SetForwardingResponse{})
	case *csta.GetDoNotDisturb:
		if !owns(s, l, m.Device) {
			return nil, privilege(m.Device)
		}
		on, err := svc.sw.DND(l.ext)
		if err != nil {
			return nil, switchError(err)
		}
		return &csta.GetDoNotDisturbResponse{DoNotDisturbOn: on}, nil
	case *csta.SetDoNotDisturb:
		if !owns(s, l, m.Device) {
			return nil, privilege(m.Device)
		}
		return done(svc.sw.SetDND(l.ext, *m.DoNotDisturbOn), &csta.SetDoNotDisturbResponse{})
	}
	return nil, csta.OperationError(csta.OpServiceNotSupported)
}

// check applies the privilege rule to connections: each must be on the
// session's line (its deviceID names the line, or is empty) and its call must
// be a call of the line's station right now.
func (svc *Service) check(s *rccserver.Session, l line, conns ...csta.ConnectionID) error {
	calls, err := svc.sw.Snapshot(l.ext)
	if err != nil {
		return switchError(err)
	}
	for _, c := range conns {
		if !owns(s, l, c.DeviceID) {
			return privilege(c.DeviceID)
		}
		if !slices.ContainsFunc(calls, func(ci switching.CallInfo) bool { return ci.CallID == c.CallID }) {
			// Another line's call, an ended call or a made-up one: the client
			// learns only that it is not a call it may act on.
			return &rccserver.RequestError{Code: rccserver.CodePrivilegeViolation, Answer: csta.OperationError(csta.OpInvalidCallID),
				Err: fmt.Errorf("call %q is not a call of this line", c.CallID)}
		}
	}
	return nil
}

func (svc *Service) onCall(ctx context.Context, s *rccserver.Session, l line, c csta.ConnectionID,
	op func(context.Context, string, string) error, ok csta.Message) (csta.Message, error) {
	if err := svc.check(s, l, c); err != nil {
		return nil, err
	}
	return done(op(ctx, l.ext, c.CallID), ok)
}

func done(err error, ok csta.Message) (csta.Message, error) {
	if err != nil {
		if errors.Is(err, switching.ErrInvalidState) {
			if v := stateValue(ok); v != "" {
				return nil, &rccserver.RequestError{Code: rccserver.CodeRequestRefused, Answer: csta.StateError(v), Err: err}
			}
		}
		return nil, switchError(err)
	}
	return ok, nil
}

// stateValue names, for a request the connection's state does not allow,
// the ECMA-269 stateIncompatibility value that says which state was missing
// (docs/csta.md "SIP failures"); "" keeps invalidConnectionState.
func stateValue(ok csta.Message) string {
	switch ok.(type) {
	case *csta.AnswerCallResponse:
		return csta.StateNoCallToAnswer
	case *csta.RetrieveCallResponse:
		return csta.StateNoHeldCall
	case *csta.HoldCallResponse, *csta.GenerateDigitsResponse:
		return csta.StateNoActiveCall
	case *csta.ClearConnectionResponse:
		return csta.StateNoCallToClear
	}
	return ""
}

// echo returns the client's own device string for its connection.
func echo(s *rccserver.Session, device string) string {
	if device == "" {
		return s.Line()
	}
	return device
}

// dialable turns a device identifier into what the dial plan sees: the
// number of a tel: URI (visual separators removed), the user of a sip: URI.
func dialable(device string) string {
	d, err := csta.ParseDeviceID(device)
	if err != nil {
		return strings.TrimSpace(device)
	}
	if d.Kind == csta.DeviceSIP && d.Number == "" {
		return d.Host
	}
	return d.Number
}

// switchError maps the switch's errors to CSTA errors (docs/protocol.md
// "Negative responses").
func switchError(err error) error {
	var answer *csta.CSTAErrorCode
	switch {
	case errors.Is(err, switching.ErrUnknownCall):
		answer = csta.OperationError(csta.OpInvalidCallID)
	case errors.Is(err, switching.ErrUnknownDevice):
		answer = csta.OperationError(csta.OpInvalidDeviceID)
	case errors.Is(err, switching.ErrInvalidState):
		answer = csta.StateError(csta.StateInvalidConnectionState)
	case errors.Is(err, switching.ErrAnswerNotSupported), errors.Is(err, switching.ErrNotImplemented):
		answer = csta.OperationError(csta.OpInvalidFeature)
	case errors.Is(err, switching.ErrNoRoute):
		answer = csta.OperationError(csta.OpInvalidDestination)
	case errors.Is(err, switching.ErrNotRegistered), errors.Is(err, switching.ErrNoTrunk), errors.Is(err, switching.ErrClosed):
		answer = csta.ResourceError(csta.ResourceOutOfService)
	case errors.Is(err, switching.ErrInvalidArgument):
		answer = csta.OperationError(csta.OpInvalidParameterValue)
	case errors.Is(err, switching.ErrNoResponse):
		// The phone or trunk did not answer in time (docs/csta.md "SIP failures").
		answer = csta.ResourceError(csta.ResourceOutOfService)
	case errors.Is(err, switching.ErrSIP):
		code, ok := switching.SIPStatus(err)
		if !ok {
			// A transport failure: the peer cannot be reached.
			answer = csta.ResourceError(csta.ResourceOutOfService)
			break
		}
		answer = sipStatusError(code)
	default:
		return err // logged as an internal error, answered generic
	}
	return &rccserver.RequestError{Code: rccserver.CodeRequestRefused, Answer: answer, Err: err}
}

// sipStatusError maps a phone's or trunk's final SIP failure (RFC 3261 §21)
// to the ECMA-269 error category and value (ECMA-323 CSTAErrorCode) a CSTA client can act on;
// the table is in docs/csta.md "SIP failures".
func sipStatusError(code int) *csta.CSTAErrorCode {
	switch code {
	case 486, 600, 491: // Busy Here, Busy Everywhere, Request Pending
		return csta.ResourceError(csta.ResourceBusy)
	case 404, 410, 484, 485, 604: // Not Found, Gone, Address Incomplete, Ambiguous, Does Not Exist Anywhere
		return csta.OperationError(csta.OpInvalidDestination)
	case 481: // Call/Transaction Does Not Exist: the phone no longer has the call
		return csta.StateError(csta.StateInvalidConnectionState)
	case 403, 401, 407: // Forbidden, unauthenticated
		return csta.OperationError(csta.OpPrivilegeViolationSpecifiedDevice)
	case 405, 415, 420, 488, 501, 606: // method, body, extension or media refused
		return csta.OperationError(csta.OpRequestIncompatibleWithObject)
	case 603: // Decline: the user refused
		return csta.OperationError(csta.OpRequestIncompatibleWithObject)
	case 408, 480: // Request Timeout, Temporarily Unavailable
		return csta.ResourceError(csta.ResourceOutOfService)
	case 502, 503, 504: // Bad Gateway, Service Unavailable, Server Time-out: the network
		return csta.ResourceError(csta.ResourceNetworkOutOfService)
	}
	if code >= 500 {
		return csta.ResourceError(csta.ResourceOutOfService)
	}
	return csta.OperationError(csta.OpGeneric)
}

func forwardingType(t switching.ForwardType) csta.ForwardingType {
	switch t {
	case switching.ForwardImmediate:
		return csta.ForwardImmediate
	case switching.ForwardBusy:
		return csta.ForwardBusy
	case switching.ForwardNoAnswer:
		return csta.ForwardNoAns
	}
	return csta.ForwardingTypeUnknown
}

func switchForwardType(t csta.ForwardingType) (switching.ForwardType, bool) {
	switch t {
	case csta.ForwardImmediate:
		return switching.ForwardImmediate, true
	case csta.ForwardBusy:
		return switching.ForwardBusy, true
	case csta.ForwardNoAns:
		return switching.ForwardNoAnswer, true
	}
	return switching.ForwardUnknown, false
}

// newCrossRefID returns a fresh random monitor cross-reference ID: unguessable,
// so one session cannot forge another's (docs/protocol.md "Monitors and events").
func newCrossRefID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
