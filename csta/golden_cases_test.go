package csta_test

import . "github.com/rccserver/rccserver/csta"

// Values shared by the golden cases: a Lync dial-string line, a far end and
// the identifiers of docs/protocol.md "On the wire".
const (
	line  = "tel:73124;phone-context=dialstring"
	far   = "tel:+3222220220"
	xref  = "99fda87c"
	call1 = "0_99f261b4"
	call2 = "0_99f261b5"
)

var (
	lineConn = ConnectionID{CallID: call1, DeviceID: line}
	farConn  = ConnectionID{CallID: call1, DeviceID: far}
	consConn = ConnectionID{CallID: call2, DeviceID: line}
)

// goldenCases holds one value per message type; each has testdata/golden/<name>.xml.
var goldenCases = []struct {
	name string
	msg  Message
}{
	{"RequestSystemStatus", &RequestSystemStatus{Extensions: &Extensions{Line: line}}},
	{"RequestSystemStatusResponse", &RequestSystemStatusResponse{SystemStatus: StatusNormal}},
	{"SystemStatus", &SystemStatusMsg{SystemStatus: StatusNormal}},
	{"SystemStatusResponse", &SystemStatusResponse{}},
	{"GetCSTAFeatures", &GetCSTAFeatures{Extensions: &Extensions{Line: line}}},
	{"GetCSTAFeaturesResponse", NewFeatures(
		[]string{"getCSTAFeatures", "requestSystemStatus", "monitorStart", "monitorStop", "snapshotDevice",
			"makeCall", "answerCall", "clearConnection", "holdCall", "retrieveCall", "generateDigits",
			"getForwarding", "setForwarding", "getDoNotDisturb", "setDoNotDisturb"},
		[]string{"delivered", "established", "connectionCleared", "originated", "serviceInitiated",
			"forwarding", "doNotDisturb", "digitsGenerated"},
		map[string][]string{"answerCall": {"alerting"}, "makeCall": {"autoOriginateDoNotPrompt"}})},
	{"MonitorStart", &MonitorStart{MonitorObject: line}},
	{"MonitorStartResponse", &MonitorStartResponse{MonitorCrossRefID: xref}},
	{"MonitorStop", &MonitorStop{MonitorCrossRefID: xref}},
	{"MonitorStopResponse", &MonitorStopResponse{}},
	{"SnapshotDevice", &SnapshotDevice{SnapshotObject: line}},
	{"SnapshotDeviceResponse", &SnapshotDeviceResponse{SnapshotData: &SnapshotData{Items: []SnapshotDeviceResponseInfo{
		{ConnectionIdentifier: lineConn, LocalCallState: LocalCallState{Compound: []LocalConnectionState{LCSHold, LCSConnected}}},
		{ConnectionIdentifier: consConn, LocalCallState: LocalCallState{Compound: []LocalConnectionState{LCSConnected, LCSConnected}}},
		{ConnectionIdentifier: ConnectionID{CallID: "c44", DeviceID: line}, LocalCallState: LocalCallState{Simple: "callDelivered"}},
	}}}},
	{"SnapshotDeviceResponseIdle", &SnapshotDeviceResponse{SnapshotData: &SnapshotData{}}},
	{"MakeCall", &MakeCall{CallingDevice: line, CalledDirectoryNumber: far, AutoOriginate: "doNotPrompt"}},
	{"MakeCallResponse", &MakeCallResponse{CallingDevice: lineConn}},
	{"AnswerCall", &AnswerCall{CallToBeAnswered: lineConn}},
	{"AnswerCallResponse", &AnswerCallResponse{}},
	{"ClearConnection", &ClearConnection{ConnectionToBeCleared: lineConn}},
	{"ClearConnectionResponse", &ClearConnectionResponse{}},
	{"HoldCall", &HoldCall{CallToBeHeld: lineConn}},
	{"HoldCallResponse", &HoldCallResponse{}},
	{"RetrieveCall", &RetrieveCall{CallToBeRetrieved: lineConn}},
	{"RetrieveCallResponse", &RetrieveCallResponse{}},
	{"AlternateCall", &AlternateCall{HeldCall: lineConn, ActiveCall: consConn}},
	{"AlternateCallResponse", &AlternateCallResponse{}},
	{"ReconnectCall", &ReconnectCall{ActiveCall: consConn, HeldCall: lineConn}},
	{"ReconnectCallResponse", &ReconnectCallResponse{}},
	{"ConsultationCall", &ConsultationCall{ExistingCall: lineConn, ConsultedDevice: "tel:+4930999"}},
	{"ConsultationCallResponse", &ConsultationCallResponse{InitiatedCall: consConn}},
	{"TransferCall", &TransferCall{HeldCall: lineConn, ActiveCall: consConn}},
	{"TransferCallResponse", &TransferCallResponse{TransferredCall: &ConnectionID{CallID: call1, DeviceID: far}}},
	{"SingleStepTransferCall", &SingleStepTransferCall{ActiveCall: lineConn, TransferredTo: "tel:+4930999"}},
	{"SingleStepTransferCallResponse", &SingleStepTransferCallResponse{}},
	{"ConferenceCall", &ConferenceCall{HeldCall: lineConn, ActiveCall: consConn}},
	{"ConferenceCallResponse", &ConferenceCallResponse{ConferenceCall: lineConn, Connections: []ConnectionListItem{
		{NewConnection: &lineConn, OldConnection: &consConn}}}},
	{"DeflectCall", &DeflectCall{CallToBeDiverted: lineConn, NewDestination: "tel:+4930999"}},
	{"DeflectCallResponse", &DeflectCallResponse{}},
	{"GenerateDigits", &GenerateDigits{ConnectionToSendDigits: lineConn, CharactersToSend: "1234#"}},
	{"GenerateDigitsResponse", &GenerateDigitsResponse{}},
	{"GetForwarding", &GetForwarding{Device: line}},
	{"GetForwardingResponse", &GetForwardingResponse{ForwardingList: []ForwardListItem{
		{ForwardingType: ForwardImmediate, ForwardStatus: true, ForwardDN: "tel:+4930999"},
		{ForwardingType: ForwardBusy, ForwardStatus: false},
		{ForwardingType: ForwardNoAns, ForwardStatus: false, RingCount: 4},
	}}},
	{"SetForwarding", &SetForwarding{Device: line, ForwardingType: ForwardImmediate, ActivateForward: Bool(true), ForwardDN: "tel:+4930999"}},
	{"SetForwardingResponse", &SetForwardingResponse{}},
	{"GetDoNotDisturb", &GetDoNotDisturb{Device: line}},
	{"GetDoNotDisturbResponse", &GetDoNotDisturbResponse{DoNotDisturbOn: true}},
	{"SetDoNotDisturb", &SetDoNotDisturb{Device: line, DoNotDisturbOn: Bool(false)}},
	{"SetDoNotDisturbResponse", &SetDoNotDisturbResponse{}},
	{"ServiceInitiatedEvent", &ServiceInitiatedEvent{MonitorCrossRefID: xref, InitiatedConnection: lineConn,
		InitiatingDevice: Device(line), LocalConnectionInfo: LCSInitiated, Cause: CauseMakeCall}},
	{"OriginatedEvent", &OriginatedEvent{MonitorCrossRefID: xref, OriginatedConnection: lineConn,
		CallingDevice: Device(line), CalledDevice: Device(far), LocalConnectionInfo: LCSConnected, Cause: CauseMakeCall}},
	{"DeliveredEvent", &DeliveredEvent{MonitorCrossRefID: xref, Connection: farConn, AlertingDevice: Device(far),
		CallingDevice: Device(line), CalledDevice: Device(far), LastRedirectionDevice: NotRequired(),
		LocalConnectionInfo: LCSConnected, Cause: CauseNewCall}},
	{"EstablishedEvent", &EstablishedEvent{MonitorCrossRefID: xref, EstablishedConnection: farConn, AnsweringDevice: Device(far),
		CallingDevice: Device(line), CalledDevice: Device(far), LastRedirectionDevice: NotRequired(),
		LocalConnectionInfo: LCSConnected, Cause: CauseNewCall}},
	{"ConnectionClearedEvent", &ConnectionClearedEvent{MonitorCrossRefID: xref, DroppedConnection: lineConn,
		ReleasingDevice: Device(line), LocalConnectionInfo: LCSNull, Cause: CauseNormalClearing}},
	{"HeldEvent", &HeldEvent{MonitorCrossRefID: xref, HeldConnection: lineConn, HoldingDevice: Device(line),
		LocalConnectionInfo: LCSHold, Cause: CauseNormal}},
	{"RetrievedEvent", &RetrievedEvent{MonitorCrossRefID: xref, RetrievedConnection: lineConn, RetrievingDevice: Device(line),
		LocalConnectionInfo: LCSConnected, Cause: CauseNormal}},
	{"TransferedEvent", &TransferedEvent{MonitorCrossRefID: xref, PrimaryOldCall: lineConn, SecondaryOldCall: &consConn,
		TransferringDevice: Device(line), TransferredToDevice: Device("tel:+4930999"),
		TransferredConnections: []ConnectionListItem{{NewConnection: &ConnectionID{CallID: "0_99f261b6", DeviceID: far}, OldConnection: &farConn}},
		LocalConnectionInfo:    LCSNull, Cause: CauseTransfer}},
	{"ConferencedEvent", &ConferencedEvent{MonitorCrossRefID: xref, PrimaryOldCall: lineConn, SecondaryOldCall: &consConn,
		ConferencingDevice: Device(line), AddedParty: Device("tel:+4930999"),
		ConferenceConnections: []ConnectionListItem{{NewConnection: &lineConn, OldConnection: &consConn}},
		LocalConnectionInfo:   LCSConnected, Cause: CauseConference}},
	{"DivertedEvent", &DivertedEvent{MonitorCrossRefID: xref, Connection: lineConn, DivertingDevice: Device(line),
		NewDestination: Device("tel:+4930999"), LocalConnectionInfo: LCSNull, Cause: CauseRedirected}},
	{"FailedEvent", &FailedEvent{MonitorCrossRefID: xref, FailedConnection: farConn, FailingDevice: Device(far),
		CallingDevice: Device(line), CalledDevice: Device(far), LastRedirectionDevice: &RedirectionDeviceID{NotKnown: &Empty{}},
		LocalConnectionInfo: LCSFail, Cause: CauseBusy}},
	{"ForwardingEvent", &ForwardingEvent{MonitorCrossRefID: xref, Device: Device(line), ForwardingType: ForwardImmediate,
		ForwardStatus: true, ForwardTo: "tel:+4930999"}},
	{"DoNotDisturbEvent", &DoNotDisturbEvent{MonitorCrossRefID: xref, Device: Device(line), DoNotDisturbOn: true}},
	{"DigitsGeneratedEvent", &DigitsGeneratedEvent{MonitorCrossRefID: xref, Connection: lineConn, DigitGeneratedList: "1234#"}},
	{"CSTAErrorCode", OperationError(OpInvalidCallID)},
	{"CSTAErrorCodeState", StateError(StateNoCallToAnswer)},
	{"CSTAErrorCodeResource", ResourceError(ResourceOutOfService)},
	{"CSTAErrorCodeUnspecified", &CSTAErrorCode{Category: CategoryUnspecified}},
}
