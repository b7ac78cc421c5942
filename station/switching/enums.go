package switching

import (
	"fmt"
	"strings"
)

// AnswerMethod is how the switch makes a ringing phone go off-hook when a
// client asks it to answer (docs/switching.md, Answer). It is configured per
// station model.
type AnswerMethod int

// Answer methods. The zero value is AnswerUnknown, which behaves like AnswerNone.
const (
	AnswerUnknown AnswerMethod = iota
	// AnswerTalkEvent sends NOTIFY with "Event: talk" in the early dialog
	// (the BroadSoft/Polycom remote-answer convention).
	AnswerTalkEvent
	// AnswerUACSTA sends a uaCSTA AnswerCall request (ECMA TR/87) in an INFO
	// carrying application/csta+xml in the early dialog.
	AnswerUACSTA
	// AnswerAutoAnswerReoffer cancels the ringing INVITE and offers the call
	// again with the station's auto-answer headers.
	AnswerAutoAnswerReoffer
	// AnswerNone means the phone cannot be answered remotely: Answer returns
	// ErrAnswerNotSupported, answering at the handset still works.
	AnswerNone
)

var answerMethodNames = [...]string{"unknown", "talk-event", "uacsta", "auto-answer-reoffer", "none"}

// String returns the configuration spelling of m.
func (m AnswerMethod) String() string {
	if m < 0 || int(m) >= len(answerMethodNames) {
		return fmt.Sprintf("AnswerMethod(%d)", int(m))
	}
	return answerMethodNames[m]
}

// ParseAnswerMethod parses the configuration spelling of an answer method
// (case-insensitive; "talk", "talkevent", "ua-csta" and "reoffer" are accepted
// as aliases). An empty string is AnswerUnknown.
func ParseAnswerMethod(s string) (AnswerMethod, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "unknown":
		return AnswerUnknown, nil
	case "talk-event", "talkevent", "talk":
		return AnswerTalkEvent, nil
	case "uacsta", "ua-csta":
		return AnswerUACSTA, nil
	case "auto-answer-reoffer", "autoanswerreoffer", "reoffer":
		return AnswerAutoAnswerReoffer, nil
	case "none":
		return AnswerNone, nil
	}
	return AnswerUnknown, fmt.Errorf("%w: answer method %q", ErrInvalidConfig, s)
}

// ConnState is the state of one connection (a device's part in a call),
// after ECMA-269 §6.1.5 (null, initiated, alerting, connected, hold, fail).
type ConnState int

// Connection states. The zero value is ConnUnknown.
const (
	ConnUnknown ConnState = iota
	// ConnNull: the device is not (or no longer) in the call.
	ConnNull
	// ConnInitiated: the switch is getting the device off-hook (MakeCall leg
	// to the calling station, or a call the station is dialling).
	ConnInitiated
	// ConnAlerting: the device is ringing.
	ConnAlerting
	// ConnConnected: the device is talking.
	ConnConnected
	// ConnHeld: the device's connection is on hold.
	ConnHeld
	// ConnFailed: the call could not be completed to or from the device.
	ConnFailed
)

var connStateNames = [...]string{"unknown", "null", "initiated", "alerting", "connected", "hold", "fail"}

// String returns the lower-case name of s.
func (s ConnState) String() string {
	if s < 0 || int(s) >= len(connStateNames) {
		return fmt.Sprintf("ConnState(%d)", int(s))
	}
	return connStateNames[s]
}

// ParseConnState parses the name String returns.
func ParseConnState(s string) (ConnState, error) {
	for i, n := range connStateNames {
		if strings.EqualFold(s, n) {
			return ConnState(i), nil
		}
	}
	return ConnUnknown, fmt.Errorf("%w: connection state %q", ErrInvalidArgument, s)
}

// Cause says why an event happened, after the ECMA-269 event causes the
// Lync side maps them onto.
type Cause int

// Causes. The zero value is CauseUnknown.
const (
	CauseUnknown            Cause = iota
	CauseNormal                   // normal call set-up or clearing
	CauseNewCall                  // a new call was offered
	CauseMakeCall                 // the call was placed by MakeCall (third-party call control)
	CauseConsultation             // consultation call
	CauseBusy                     // the called device is busy (486/600)
	CauseNoAnswer                 // the called device did not answer in time
	CauseUnreachable              // the device is not registered or did not respond
	CauseRejected                 // the called party declined (603) or the call was cancelled
	CauseDoNotDisturb             // do-not-disturb refused the call
	CauseForwardImmediate         // call forwarded unconditionally
	CauseForwardBusy              // call forwarded because the device was busy
	CauseForwardNoAnswer          // call forwarded after the ring timeout
	CauseDeflected                // a ringing call was re-targeted by Deflect
	CauseTransfer                 // the call was transferred (consultation transfer)
	CauseSingleStepTransfer       // the call was transferred in one step
	CauseTrunkDown                // the trunk could not be reached
	CauseInvalidNumber            // the dial plan could not route the number
	CauseOutOfService             // the device unregistered or vanished during the call
)

var causeNames = [...]string{
	"unknown", "normal", "new-call", "make-call", "consultation", "busy", "no-answer",
	"unreachable", "rejected", "do-not-disturb", "forward-immediate", "forward-busy",
	"forward-no-answer", "deflected", "transfer", "single-step-transfer", "trunk-down",
	"invalid-number", "out-of-service",
}

// String returns the lower-case, hyphenated name of c.
func (c Cause) String() string {
	if c < 0 || int(c) >= len(causeNames) {
		return fmt.Sprintf("Cause(%d)", int(c))
	}
	return causeNames[c]
}

// ParseCause parses the name String returns.
func ParseCause(s string) (Cause, error) {
	for i, n := range causeNames {
		if strings.EqualFold(s, n) {
			return Cause(i), nil
		}
	}
	return CauseUnknown, fmt.Errorf("%w: cause %q", ErrInvalidArgument, s)
}

// EventType is the kind of a call or device event. These are the switch's
// own events; rccserver maps them onto CSTA.
type EventType int

// Event types. The zero value is EventUnknown.
const (
	EventUnknown EventType = iota
	// EventInitiated: the switch started getting a device off-hook (MakeCall).
	EventInitiated
	// EventOriginated: the calling device is off-hook and the call is being placed.
	EventOriginated
	// EventDelivered: the called device is ringing.
	EventDelivered
	// EventEstablished: the called device answered.
	EventEstablished
	// EventCleared: a device left the call (Subject) or the whole call ended.
	EventCleared
	// EventHeld: a connection was put on hold.
	EventHeld
	// EventRetrieved: a held connection was taken off hold.
	EventRetrieved
	// EventTransferred: two calls were joined and the transferring device left.
	EventTransferred
	// EventDiverted: a call was re-targeted (forwarding or Deflect).
	EventDiverted
	// EventFailed: the call could not be completed; Cause says why.
	EventFailed
	// EventForwarding: a device's forwarding settings changed.
	EventForwarding
	// EventDND: a device's do-not-disturb setting changed.
	EventDND
	// EventDigits: digits were sent into a call (GenerateDigits).
	EventDigits
	// EventResync is not a change but a marker: events of Device ("" for
	// every device) were dropped because the subscription's queue was full,
	// so the state the subscriber built from events is stale. It should take
	// a Snapshot of the device(s) and carry on. Seq is that of the first
	// event dropped. See Subscription.
	EventResync
)

var eventTypeNames = [...]string{
	"unknown", "initiated", "originated", "delivered", "established", "cleared", "held",
	"retrieved", "transferred", "diverted", "failed", "forwarding", "dnd", "digits",
	"resync",
}

// String returns the lower-case name of t.
func (t EventType) String() string {
	if t < 0 || int(t) >= len(eventTypeNames) {
		return fmt.Sprintf("EventType(%d)", int(t))
	}
	return eventTypeNames[t]
}

// ParseEventType parses the name String returns.
func ParseEventType(s string) (EventType, error) {
	for i, n := range eventTypeNames {
		if strings.EqualFold(s, n) {
			return EventType(i), nil
		}
	}
	return EventUnknown, fmt.Errorf("%w: event type %q", ErrInvalidArgument, s)
}

// ForwardType selects one of a device's forwarding settings.
type ForwardType int

// Forwarding types. The zero value is ForwardUnknown.
const (
	ForwardUnknown ForwardType = iota
	// ForwardImmediate forwards every call without ringing the device.
	ForwardImmediate
	// ForwardBusy forwards calls the device refuses as busy.
	ForwardBusy
	// ForwardNoAnswer forwards calls not answered within Config.RingTimeout.
	ForwardNoAnswer
)

var forwardTypeNames = [...]string{"unknown", "immediate", "busy", "no-answer"}

// String returns the lower-case name of f.
func (f ForwardType) String() string {
	if f < 0 || int(f) >= len(forwardTypeNames) {
		return fmt.Sprintf("ForwardType(%d)", int(f))
	}
	return forwardTypeNames[f]
}

// ParseForwardType parses the name String returns.
func ParseForwardType(s string) (ForwardType, error) {
	for i, n := range forwardTypeNames {
		if strings.EqualFold(s, n) {
			return ForwardType(i), nil
		}
	}
	return ForwardUnknown, fmt.Errorf("%w: forward type %q", ErrInvalidArgument, s)
}

// TargetKind says where the dial plan sends a number.
type TargetKind int

// Target kinds. The zero value is TargetUnknown.
const (
	TargetUnknown TargetKind = iota
	// TargetStation: a station of this switch, by extension.
	TargetStation
	// TargetTrunk: out through the trunk, with a dial string.
	TargetTrunk
)

var targetKindNames = [...]string{"unknown", "station", "trunk"}

// String returns the lower-case name of k.
func (k TargetKind) String() string {
	if k < 0 || int(k) >= len(targetKindNames) {
		return fmt.Sprintf("TargetKind(%d)", int(k))
	}
	return targetKindNames[k]
}
