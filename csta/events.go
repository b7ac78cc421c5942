package csta

// Events the switching function sends in INFO requests. Every event starts
// with monitorCrossRefID; Lync drops events whose value is not its monitor's
// (docs/protocol.md "Monitors and events"). Children follow the ed3 schema
// order (docs/protocol.md "ECMA-323 XML").

// ServiceInitiatedEvent: the line went off-hook or MakeCall started.
type ServiceInitiatedEvent struct {
	MonitorCrossRefID   string               `xml:"monitorCrossRefID"`
	InitiatedConnection ConnectionID         `xml:"initiatedConnection"`
	InitiatingDevice    ExtendedDeviceID     `xml:"initiatingDevice"`
	LocalConnectionInfo LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause               EventCause           `xml:"cause,omitempty"`
}

// OriginatedEvent: an outgoing call was dialled.
type OriginatedEvent struct {
	MonitorCrossRefID    string               `xml:"monitorCrossRefID"`
	OriginatedConnection ConnectionID         `xml:"originatedConnection"`
	CallingDevice        ExtendedDeviceID     `xml:"callingDevice"`
	CalledDevice         ExtendedDeviceID     `xml:"calledDevice"`
	OriginatingDevice    *ExtendedDeviceID    `xml:"originatingDevice"`
	LocalConnectionInfo  LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                EventCause           `xml:"cause,omitempty"`
}

// DeliveredEvent: a call is alerting, at the far end (outgoing) or at the line (incoming).
type DeliveredEvent struct {
	MonitorCrossRefID     string               `xml:"monitorCrossRefID"`
	Connection            ConnectionID         `xml:"connection"`
	AlertingDevice        ExtendedDeviceID     `xml:"alertingDevice"`
	CallingDevice         ExtendedDeviceID     `xml:"callingDevice"`
	CalledDevice          ExtendedDeviceID     `xml:"calledDevice"`
	LastRedirectionDevice *RedirectionDeviceID `xml:"lastRedirectionDevice"`
	LocalConnectionInfo   LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                 EventCause           `xml:"cause,omitempty"`
}

// EstablishedEvent: a call was answered.
type EstablishedEvent struct {
	MonitorCrossRefID     string               `xml:"monitorCrossRefID"`
	EstablishedConnection ConnectionID         `xml:"establishedConnection"`
	AnsweringDevice       ExtendedDeviceID     `xml:"answeringDevice"`
	CallingDevice         ExtendedDeviceID     `xml:"callingDevice"`
	CalledDevice          ExtendedDeviceID     `xml:"calledDevice"`
	LastRedirectionDevice *RedirectionDeviceID `xml:"lastRedirectionDevice"`
	LocalConnectionInfo   LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                 EventCause           `xml:"cause,omitempty"`
}

// ConnectionClearedEvent: a party left the call.
type ConnectionClearedEvent struct {
	MonitorCrossRefID   string               `xml:"monitorCrossRefID"`
	DroppedConnection   ConnectionID         `xml:"droppedConnection"`
	ReleasingDevice     ExtendedDeviceID     `xml:"releasingDevice"`
	LocalConnectionInfo LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause               EventCause           `xml:"cause,omitempty"`
}

// HeldEvent: a connection was put on hold.
type HeldEvent struct {
	MonitorCrossRefID   string               `xml:"monitorCrossRefID"`
	HeldConnection      ConnectionID         `xml:"heldConnection"`
	HoldingDevice       ExtendedDeviceID     `xml:"holdingDevice"`
	LocalConnectionInfo LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause               EventCause           `xml:"cause,omitempty"`
}

// RetrievedEvent: a held connection was taken back.
type RetrievedEvent struct {
	MonitorCrossRefID   string               `xml:"monitorCrossRefID"`
	RetrievedConnection ConnectionID         `xml:"retrievedConnection"`
	RetrievingDevice    ExtendedDeviceID     `xml:"retrievingDevice"`
	LocalConnectionInfo LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause               EventCause           `xml:"cause,omitempty"`
}

// TransferedEvent (one "r", as ECMA-323 spells the root): a call was transferred.
type TransferedEvent struct {
	MonitorCrossRefID      string               `xml:"monitorCrossRefID"`
	PrimaryOldCall         ConnectionID         `xml:"primaryOldCall"`
	SecondaryOldCall       *ConnectionID        `xml:"secondaryOldCall"`
	TransferringDevice     ExtendedDeviceID     `xml:"transferringDevice"`
	TransferredToDevice    ExtendedDeviceID     `xml:"transferredToDevice"`
	TransferredConnections []ConnectionListItem `xml:"transferredConnections>connectionListItem"`
	LocalConnectionInfo    LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                  EventCause           `xml:"cause,omitempty"`
}

// ConferencedEvent: two calls were joined into a conference.
type ConferencedEvent struct {
	MonitorCrossRefID     string               `xml:"monitorCrossRefID"`
	PrimaryOldCall        ConnectionID         `xml:"primaryOldCall"`
	SecondaryOldCall      *ConnectionID        `xml:"secondaryOldCall"`
	ConferencingDevice    ExtendedDeviceID     `xml:"conferencingDevice"`
	AddedParty            ExtendedDeviceID     `xml:"addedParty"`
	ConferenceConnections []ConnectionListItem `xml:"conferenceConnections>connectionListItem"`
	LocalConnectionInfo   LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                 EventCause           `xml:"cause,omitempty"`
}

// DivertedEvent: a call was deflected or forwarded away from a device.
type DivertedEvent struct {
	MonitorCrossRefID     string               `xml:"monitorCrossRefID"`
	Connection            ConnectionID         `xml:"connection"`
	DivertingDevice       ExtendedDeviceID     `xml:"divertingDevice"`
	NewDestination        ExtendedDeviceID     `xml:"newDestination"`
	CallingDevice         *ExtendedDeviceID    `xml:"callingDevice"`
	CalledDevice          *ExtendedDeviceID    `xml:"calledDevice"`
	LastRedirectionDevice *RedirectionDeviceID `xml:"lastRedirectionDevice"`
	LocalConnectionInfo   LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                 EventCause           `xml:"cause,omitempty"`
}

// FailedEvent: a call could not be completed (busy, unobtainable, …).
type FailedEvent struct {
	MonitorCrossRefID     string               `xml:"monitorCrossRefID"`
	FailedConnection      ConnectionID         `xml:"failedConnection"`
	FailingDevice         ExtendedDeviceID     `xml:"failingDevice"`
	CallingDevice         ExtendedDeviceID     `xml:"callingDevice"`
	CalledDevice          ExtendedDeviceID     `xml:"calledDevice"`
	LastRedirectionDevice *RedirectionDeviceID `xml:"lastRedirectionDevice"`
	LocalConnectionInfo   LocalConnectionState `xml:"localConnectionInfo,omitempty"`
	Cause                 EventCause           `xml:"cause,omitempty"`
}

// ForwardingEvent: a device's forwarding changed.
type ForwardingEvent struct {
	MonitorCrossRefID string           `xml:"monitorCrossRefID"`
	Device            ExtendedDeviceID `xml:"device"`
	ForwardingType    ForwardingType   `xml:"forwardingType"`
	ForwardStatus     bool             `xml:"forwardStatus"`
	ForwardTo         string           `xml:"forwardTo,omitempty"`
	RingCount         int              `xml:"ringCount,omitempty"`
}

// DoNotDisturbEvent: a device's do-not-disturb changed.
type DoNotDisturbEvent struct {
	MonitorCrossRefID string           `xml:"monitorCrossRefID"`
	Device            ExtendedDeviceID `xml:"device"`
	DoNotDisturbOn    bool             `xml:"doNotDisturbOn"`
}

// DigitsGeneratedEvent: digits were sent on a connection.
type DigitsGeneratedEvent struct {
	MonitorCrossRefID  string       `xml:"monitorCrossRefID"`
	Connection         ConnectionID `xml:"connection"`
	DigitGeneratedList string       `xml:"digitGeneratedList,omitempty"`
}
