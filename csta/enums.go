package csta

// LocalConnectionState is the state of a connection as seen from the monitored device (ECMA-269 §6.1.5, ECMA-323 LocalConnectionState).
type LocalConnectionState int

// LocalConnectionState values; the zero value is LocalConnectionStateUnknown.
const (
	LocalConnectionStateUnknown LocalConnectionState = iota
	LCSNull
	LCSInitiated
	LCSAlerting
	LCSConnected
	LCSHold
	LCSQueued
	LCSFail
)

var localConnectionStateTable = newEnumTable[LocalConnectionState]("localConnectionState", []string{"",
	"null", "initiated", "alerting", "connected", "hold", "queued", "fail",
}, nil)

// String returns the ECMA-323 token, or "Unknown".
func (v LocalConnectionState) String() string { return localConnectionStateTable.String(v) }

// ParseLocalConnectionState returns the value for an ECMA-323 token.
func ParseLocalConnectionState(s string) (LocalConnectionState, error) {
	return localConnectionStateTable.parse(s)
}

// MarshalText writes the ECMA-323 token; Unknown cannot be written.
func (v LocalConnectionState) MarshalText() ([]byte, error) {
	return localConnectionStateTable.marshal(v)
}

// UnmarshalText reads an ECMA-323 token.
func (v *LocalConnectionState) UnmarshalText(b []byte) (err error) {
	*v, err = localConnectionStateTable.parse(string(b))
	return err
}

// SystemStatus is the status of the switching function (ECMA-269 §12.2, ECMA-323 SystemStatus; docs/protocol.md "System status").
type SystemStatus int

// SystemStatus values; the zero value is SystemStatusUnknown.
const (
	SystemStatusUnknown SystemStatus = iota
	StatusInitializing
	StatusEnabled
	StatusNormal
	StatusMessagesLost
	StatusDisabled
	StatusPartiallyDisabled
	StatusOverloadImminent
	StatusOverloadReached
	StatusOverloadRelieved
)

var systemStatusTable = newEnumTable[SystemStatus]("systemStatus", []string{"",
	"initializing", "enabled", "normal", "messagesLost", "disabled", "partiallyDisabled",
	"overloadImminent", "overloadReached", "overloadRelieved",
}, nil)

// String returns the ECMA-323 token, or "Unknown".
func (v SystemStatus) String() string { return systemStatusTable.String(v) }

// ParseSystemStatus returns the value for an ECMA-323 token.
func ParseSystemStatus(s string) (SystemStatus, error) { return systemStatusTable.parse(s) }

// MarshalText writes the ECMA-323 token; Unknown cannot be written.
func (v SystemStatus) MarshalText() ([]byte, error) { return systemStatusTable.marshal(v) }

// UnmarshalText reads an ECMA-323 token.
func (v *SystemStatus) UnmarshalText(b []byte) (err error) {
	*v, err = systemStatusTable.parse(string(b))
	return err
}

// ForwardingType is a kind of call forwarding (ECMA-323 ForwardingType, ed3 order).
type ForwardingType int

// ForwardingType values; the zero value is ForwardingTypeUnknown.
const (
	ForwardingTypeUnknown ForwardingType = iota
	ForwardImmediate
	ForwardBusy
	ForwardNoAns
	ForwardDND
	ForwardBusyInt
	ForwardBusyExt
	ForwardNoAnsInt
	ForwardNoAnsExt
	ForwardImmInt
	ForwardImmExt
	ForwardDNDInt
	ForwardDNDExt
)

var forwardingTypeTable = newEnumTable[ForwardingType]("forwardingType", []string{"",
	"forwardImmediate", "forwardBusy", "forwardNoAns", "forwardDND", "forwardBusyInt",
	"forwardBusyExt", "forwardNoAnsInt", "forwardNoAnsExt", "forwardImmInt", "forwardImmExt",
	"forwardDNDInt", "forwardDNDExt",
}, nil)

// String returns the ECMA-323 token, or "Unknown".
func (v ForwardingType) String() string { return forwardingTypeTable.String(v) }

// ParseForwardingType returns the value for an ECMA-323 token.
func ParseForwardingType(s string) (ForwardingType, error) { return forwardingTypeTable.parse(s) }

// MarshalText writes the ECMA-323 token; Unknown cannot be written.
func (v ForwardingType) MarshalText() ([]byte, error) { return forwardingTypeTable.marshal(v) }

// UnmarshalText reads an ECMA-323 token.
func (v *ForwardingType) UnmarshalText(b []byte) (err error) {
	*v, err = forwardingTypeTable.parse(string(b))
	return err
}

// EventCause is why an event was generated (ECMA-269 §12.2.15, ECMA-323 EventCause).
type EventCause int

// EventCause values; the zero value is EventCauseUnknown.
const (
	EventCauseUnknown EventCause = iota
	CauseACDBusy
	CauseACDForward
	CauseACDSaturated
	CauseActivation
	CauseActiveParticipation
	CauseAlertTimeExpired
	CauseAlternate
	CauseAutoWork
	CauseBabble
	CauseBadAttribute
	CauseBadGrammar
	CauseBadURI
	CauseBadVoice
	CauseBlocked
	CauseBusy
	CauseBusyOverflow
	CauseCalendarOverflow
	CauseCallBack
	CauseCallCancelled
	CauseCallForward
	CauseCallForwardImmediate
	CauseCallForwardBusy
	CauseCallForwardNoAnswer
	CauseCallInterception
	CauseCallInterceptionBusy
	CauseCallInterceptionForwarded
	CauseCallInterceptionNoAnswer
	CauseCallInterceptionResourcesNotAvailable
	CauseCallNotAnswered
	CauseCallPickup
	CauseCampOn
	CauseCampOnTrunks
	CauseCapacityOverflow
	CauseCharacterCountReached
	CauseConference
	CauseConsultation
	CauseDestDetected
	CauseDestNotObtainable
	CauseDestOutOfOrder
	CauseDistributed
	CauseDistributionDelay
	CauseDoNotDisturb
	CauseDTMFDigitDetected
	CauseDuplicateDTMF
	CauseDurationExceeded
	CauseEarlyStop
	CauseEmptyQueue
	CauseEndOfMessageDetected
	CauseEnteringDistribution
	CauseForcedPause
	CauseForcedTransition
	CauseIncompatibleDestination
	CauseInterdigitTimeout
	CauseIntrude
	CauseInvalidAccountCode
	CauseInvalidConnection
	CauseInvalidConnectionState
	CauseInvalidNumberFormat
	CauseJoinCall
	CauseKeyOperation
	CauseKeyOperationInUse
	CauseLawfulInterception
	CauseLockout
	CauseMaintenance
	CauseMakeCall
	CauseMakeConnection
	CauseMakePredictiveCall
	CauseMaxTimeout
	CauseMessageDurationExceeded
	CauseMessageSizeExceeded
	CauseMultipleAlerting
	CauseMultipleQueuing
	CauseNetworkCongestion
	CauseNetworkDialling
	CauseNetworkNotObtainable
	CauseNetworkOutOfOrder
	CauseNetworkSignal
	CauseNewCall
	CauseNextMessage
	CauseNoAvailableAgents
	CauseNormal
	CauseNormalClearing
	CauseNoAudioSaved
	CauseNoQueue
	CauseNoRule
	CauseNoSpeechDetected
	CauseNoAvailableBearerService
	CauseNotSupportedBearerService
	CauseNumberChanged
	CauseNumberUnallocated
	CauseOutOfGrammar
	CauseOverflow
	CauseOverride
	CausePark
	CausePathReplacement
	CauseQueueCleared
	CauseQueueTimeOverflow
	CauseRecall
	CauseRecallBusy
	CauseRecallForwarded
	CauseRecallNoAnswer
	CauseRecallResourcesNotAvailable
	CauseRedirected
	CauseRemainsInQueue
	CauseReorderTone
	CauseReserved
	CauseResourcesNotAvailable
	CauseSelectedTrunkBusy
	CauseSilentParticipation
	CauseSingleStepConference
	CauseSingleStepTransfer
	CauseSpeechDetected
	CauseSuspend
	CauseSwitchingFunctionTerminated
	CauseTerminationCharacterReceived
	CauseTimeout
	CauseTransfer
	CauseTrunksBusy
	CauseUnauthorisedBearerService
	CauseUnknownOverflow
)

var eventCauseTable = newEnumTable[EventCause]("cause", []string{"",
	"aCDBusy", "aCDForward", "aCDSaturated", "activation", "activeParticipation", "alertTimeExpired",
	"alternate", "autoWork", "babble", "badAttribute", "badGrammar", "badURI", "badVoice", "blocked",
	"busy", "busyOverflow", "calendarOverflow", "callBack", "callCancelled", "callForward",
	"callForwardImmediate", "callForwardBusy", "callForwardNoAnswer", "callInterception",
	"callInterceptionBusy", "callInterceptionForwarded", "callInterceptionNoAnswer",
	"callInterceptionResourcesNotAvailable", "callNotAnswered", "callPickup", "campOn",
	"campOnTrunks", "capacityOverflow", "characterCountReached", "conference", "consultation",
	"destDetected", "destNotObtainable", "destOutOfOrder", "distributed", "distributionDelay",
	"doNotDisturb", "dTMFDigitDetected", "duplicateDTMF", "durationExceeded", "earlyStop",
	"emptyQueue", "endOfMessageDetected", "enteringDistribution", "forcedPause", "forcedTransition",
	"incompatibleDestination", "interdigitTimeout", "intrude", "invalidAccountCode",
	"invalidConnection", "invalidConnectionState", "invalidNumberFormat", "joinCall", "keyOperation",
	"keyOperationInUse", "lawfulInterception", "lockout", "maintenance", "makeCall", "makeConnection",
	"makePredictiveCall", "maxTimeout", "messageDurationExceeded", "messageSizeExceeded",
	"multipleAlerting", "multipleQueuing", "networkCongestion", "networkDialling",
	"networkNotObtainable", "networkOutOfOrder", "networkSignal", "newCall", "nextMessage",
	"noAvailableAgents", "normal", "normalClearing", "noAudioSaved", "noQueue", "noRule",
	"noSpeechDetected", "noAvailableBearerService", "notSupportedBearerService", "numberChanged",
	"numberUnallocated", "outOfGrammar", "overflow", "override", "park", "pathReplacement",
	"queueCleared", "queueTimeOverflow", "recall", "recallBusy", "recallForwarded", "recallNoAnswer",
	"recallResourcesNotAvailable", "redirected", "remainsInQueue", "reorderTone", "reserved",
	"resourcesNotAvailable", "selectedTrunkBusy", "silentParticipation", "singleStepConference",
	"singleStepTransfer", "speechDetected", "suspend", "switchingFunctionTerminated",
	"terminationCharacterReceived", "timeout", "transfer", "trunksBusy", "unauthorisedBearerService",
	"unknownOverflow",
}, map[string]EventCause{
	"notSupportedBeaererService": CauseNotSupportedBearerService,
	"unauthorizedBeaererService": CauseUnauthorisedBearerService,
	"unauthorizedBearerService":  CauseUnauthorisedBearerService,
})

// String returns the ECMA-323 token, or "Unknown".
func (v EventCause) String() string { return eventCauseTable.String(v) }

// ParseEventCause returns the value for an ECMA-323 token.
func ParseEventCause(s string) (EventCause, error) { return eventCauseTable.parse(s) }

// MarshalText writes the ECMA-323 token; Unknown cannot be written.
func (v EventCause) MarshalText() ([]byte, error) { return eventCauseTable.marshal(v) }

// UnmarshalText reads an ECMA-323 token.
func (v *EventCause) UnmarshalText(b []byte) (err error) {
	*v, err = eventCauseTable.parse(string(b))
	return err
}
