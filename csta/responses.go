package csta

import "encoding/xml"

// Positive responses, carried in the body of the 200 OK to the request's INFO
// (docs/protocol.md "Requests, responses and events in INFO"). Empty
// responses are valid (docs/protocol.md "ECMA-323 XML").

// RequestSystemStatusResponse answers RequestSystemStatus; Lync proceeds only on normal.
type RequestSystemStatusResponse struct {
	SystemStatus SystemStatus `xml:"systemStatus"`
	Extensions   *Extensions  `xml:"extensions"`
}

// SystemStatusResponse acknowledges SystemStatus.
type SystemStatusResponse struct{}

// MonitorStartResponse returns the monitor's cross-reference ID.
type MonitorStartResponse struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
}

// MonitorStopResponse acknowledges MonitorStop.
type MonitorStopResponse struct{}

// SnapshotDeviceResponse lists the calls at a device. We always answer inline
// with snapshotData (docs/protocol.md "Snapshot"): an idle device has an empty list.
type SnapshotDeviceResponse struct {
	ServiceCrossRefID string        `xml:"crossRefIDorSnapshotData>serviceCrossRefID,omitempty"`
	SnapshotData      *SnapshotData `xml:"crossRefIDorSnapshotData>snapshotData"`
}

// SnapshotData is the inline list of a SnapshotDeviceResponse.
type SnapshotData struct {
	Items []SnapshotDeviceResponseInfo `xml:"snapshotDeviceResponseInfo"`
}

// SnapshotDeviceResponseInfo is one call at the device.
type SnapshotDeviceResponseInfo struct {
	ConnectionIdentifier ConnectionID   `xml:"connectionIdentifier"`
	LocalCallState       LocalCallState `xml:"localCallState"`
}

// LocalCallState is a choice: the compound state (the device's own connection
// first, then the other parties), a simpleCallState token, or unknown. Exactly
// one is written: Compound if set, else Simple, else unknown.
type LocalCallState struct {
	Compound []LocalConnectionState
	Simple   string
}

type localCallStateXML struct {
	Compound *struct {
		States []LocalConnectionState `xml:"localConnectionState"`
	} `xml:"compoundCallState"`
	Simple  string `xml:"simpleCallState,omitempty"`
	Unknown *Empty `xml:"unknown"`
}

// MarshalXML writes the one chosen alternative.
func (s LocalCallState) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	var v localCallStateXML
	switch {
	case len(s.Compound) > 0:
		v.Compound = &struct {
			States []LocalConnectionState `xml:"localConnectionState"`
		}{s.Compound}
	case s.Simple != "":
		v.Simple = s.Simple
	default:
		v.Unknown = &Empty{}
	}
	return enc.EncodeElement(v, start)
}

// UnmarshalXML reads whichever alternative is present.
func (s *LocalCallState) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var v localCallStateXML
	if err := dec.DecodeElement(&v, &start); err != nil {
		return err
	}
	if v.Compound != nil {
		s.Compound = v.Compound.States
	}
	s.Simple = v.Simple
	return nil
}

// MakeCallResponse names the new call's connection at the calling device.
type MakeCallResponse struct {
	CallingDevice ConnectionID `xml:"callingDevice"`
}

// AnswerCallResponse acknowledges AnswerCall.
type AnswerCallResponse struct{}

// ClearConnectionResponse acknowledges ClearConnection.
type ClearConnectionResponse struct{}

// HoldCallResponse acknowledges HoldCall.
type HoldCallResponse struct{}

// RetrieveCallResponse acknowledges RetrieveCall.
type RetrieveCallResponse struct{}

// AlternateCallResponse acknowledges AlternateCall.
type AlternateCallResponse struct{}

// ReconnectCallResponse acknowledges ReconnectCall.
type ReconnectCallResponse struct{}

// ConsultationCallResponse names the consultation call's connection.
type ConsultationCallResponse struct {
	InitiatedCall ConnectionID `xml:"initiatedCall"`
}

// TransferCallResponse names the resulting call, if any.
type TransferCallResponse struct {
	TransferredCall *ConnectionID        `xml:"transferredCall"`
	Connections     []ConnectionListItem `xml:"connections>connectionListItem"`
}

// SingleStepTransferCallResponse names the resulting call, if any.
type SingleStepTransferCallResponse struct {
	TransferredCall *ConnectionID        `xml:"transferredCall"`
	Connections     []ConnectionListItem `xml:"connections>connectionListItem"`
}

// ConferenceCallResponse names the conference call.
type ConferenceCallResponse struct {
	ConferenceCall ConnectionID         `xml:"conferenceCall"`
	Connections    []ConnectionListItem `xml:"connections>connectionListItem"`
}

// DeflectCallResponse acknowledges DeflectCall.
type DeflectCallResponse struct{}

// GenerateDigitsResponse acknowledges GenerateDigits.
type GenerateDigitsResponse struct{}

// GetForwardingResponse lists the forwarding settings.
type GetForwardingResponse struct {
	ForwardingList []ForwardListItem `xml:"forwardingList>forwardListItem"`
}

// ForwardListItem is one kind of forwarding and its state.
type ForwardListItem struct {
	ForwardingType ForwardingType `xml:"forwardingType"`
	ForwardStatus  bool           `xml:"forwardStatus"`
	ForwardDN      string         `xml:"forwardDN,omitempty"`
	RingCount      int            `xml:"ringCount,omitempty"`
}

// SetForwardingResponse acknowledges SetForwarding.
type SetForwardingResponse struct{}

// GetDoNotDisturbResponse tells whether do-not-disturb is on.
type GetDoNotDisturbResponse struct {
	DoNotDisturbOn bool `xml:"doNotDisturbOn"`
}

// SetDoNotDisturbResponse acknowledges SetDoNotDisturb.
type SetDoNotDisturbResponse struct{}
