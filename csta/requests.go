package csta

// Requests a CSTA client sends, with the children of the ECMA-323 ed3 schema in
// schema order (docs/protocol.md "ECMA-323 XML"). Only the children Lync and
// uaCSTA peers use are modelled; Decode ignores the rest.

// RequestSystemStatus opens an RCC session: the body of Lync's INVITE, with
// its line URI in the Microsoft private data (docs/protocol.md "Lync private data").
type RequestSystemStatus struct {
	SysStatRegisterID string      `xml:"sysStatRegisterID,omitempty"`
	Extensions        *Extensions `xml:"extensions"`
}

// SystemStatusMsg reports the switching function's status, in either
// direction (docs/protocol.md "System status"). Named with a suffix because
// SystemStatus is the enumeration.
type SystemStatusMsg struct {
	SysStatRegisterID string       `xml:"sysStatRegisterID,omitempty"`
	SystemStatus      SystemStatus `xml:"systemStatus"`
	Extensions        *Extensions  `xml:"extensions"`
}

// GetCSTAFeatures asks which services and events the switch supports.
type GetCSTAFeatures struct {
	Extensions *Extensions `xml:"extensions"`
}

// MonitorStart starts a device monitor on the line (monitorObject/deviceObject).
type MonitorStart struct {
	MonitorObject string      `xml:"monitorObject>deviceObject"`
	MonitorType   string      `xml:"monitorType,omitempty"`
	Extensions    *Extensions `xml:"extensions"`
}

// MonitorStop ends a monitor.
type MonitorStop struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
}

// SnapshotDevice asks for the calls at a device.
type SnapshotDevice struct {
	SnapshotObject string `xml:"snapshotObject"`
}

// MakeCall places a call from callingDevice (the line) to calledDirectoryNumber.
type MakeCall struct {
	CallingDevice         string `xml:"callingDevice"`
	CalledDirectoryNumber string `xml:"calledDirectoryNumber"`
	AutoOriginate         string `xml:"autoOriginate,omitempty"`
}

// AnswerCall answers an alerting connection.
type AnswerCall struct {
	CallToBeAnswered ConnectionID `xml:"callToBeAnswered"`
}

// ClearConnection releases one connection from its call.
type ClearConnection struct {
	ConnectionToBeCleared ConnectionID `xml:"connectionToBeCleared"`
}

// HoldCall puts a connection on hold.
type HoldCall struct {
	CallToBeHeld ConnectionID `xml:"callToBeHeld"`
}

// RetrieveCall takes a held connection back.
type RetrieveCall struct {
	CallToBeRetrieved ConnectionID `xml:"callToBeRetrieved"`
}

// AlternateCall holds the active call and retrieves the held one.
type AlternateCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
}

// ReconnectCall clears the active call and retrieves the held one. Its schema
// order is activeCall, then heldCall (docs/protocol.md "ECMA-323 XML").
type ReconnectCall struct {
	ActiveCall ConnectionID `xml:"activeCall"`
	HeldCall   ConnectionID `xml:"heldCall"`
}

// ConsultationCall holds existingCall and calls consultedDevice.
type ConsultationCall struct {
	ExistingCall    ConnectionID `xml:"existingCall"`
	ConsultedDevice string       `xml:"consultedDevice"`
}

// TransferCall joins the far ends of the held and the active call.
type TransferCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
}

// SingleStepTransferCall transfers the active call to transferredTo (blind transfer).
type SingleStepTransferCall struct {
	ActiveCall    ConnectionID `xml:"activeCall"`
	TransferredTo string       `xml:"transferredTo"`
}

// ConferenceCall joins the held and the active call into one conference.
type ConferenceCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
}

// DeflectCall sends an alerting call elsewhere.
type DeflectCall struct {
	CallToBeDiverted ConnectionID `xml:"callToBeDiverted"`
	NewDestination   Destination  `xml:"newDestination"`
}

// GenerateDigits sends DTMF on a connection.
type GenerateDigits struct {
	ConnectionToSendDigits ConnectionID `xml:"connectionToSendDigits"`
	DigitMode              string       `xml:"digitMode,omitempty"`
	CharactersToSend       string       `xml:"charactersToSend"`
}

// GetForwarding asks for the forwarding settings of a device.
type GetForwarding struct {
	Device string `xml:"device"`
}

// SetForwarding switches one kind of forwarding on or off. activateForward is
// required, so it is a pointer: absent is not the same as false.
type SetForwarding struct {
	Device          string         `xml:"device"`
	ForwardingType  ForwardingType `xml:"forwardingType"`
	ActivateForward *bool          `xml:"activateForward"`
	ForwardDN       string         `xml:"forwardDN,omitempty"`
	RingCount       int            `xml:"ringCount,omitempty"`
}

// GetDoNotDisturb asks whether do-not-disturb is on.
type GetDoNotDisturb struct {
	Device string `xml:"device"`
}

// SetDoNotDisturb switches do-not-disturb on or off (doNotDisturbOn required).
type SetDoNotDisturb struct {
	Device         string `xml:"device"`
	DoNotDisturbOn *bool  `xml:"doNotDisturbOn"`
}

// Bool returns a pointer to b, for the required booleans of requests.
func Bool(b bool) *bool { return &b }
