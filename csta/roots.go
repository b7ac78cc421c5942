package csta

// Root element names and the registry Decode uses to pick a type.

// Root returns "RequestSystemStatus".
func (*RequestSystemStatus) Root() string { return "RequestSystemStatus" }

// Root returns "RequestSystemStatusResponse".
func (*RequestSystemStatusResponse) Root() string { return "RequestSystemStatusResponse" }

// Root returns "SystemStatus".
func (*SystemStatusMsg) Root() string { return "SystemStatus" }

// Root returns "SystemStatusResponse".
func (*SystemStatusResponse) Root() string { return "SystemStatusResponse" }

// Root returns "GetCSTAFeatures".
func (*GetCSTAFeatures) Root() string { return "GetCSTAFeatures" }

// Root returns "GetCSTAFeaturesResponse".
func (*GetCSTAFeaturesResponse) Root() string { return "GetCSTAFeaturesResponse" }

// Root returns "MonitorStart".
func (*MonitorStart) Root() string { return "MonitorStart" }

// Root returns "MonitorStartResponse".
func (*MonitorStartResponse) Root() string { return "MonitorStartResponse" }

// Root returns "MonitorStop".
func (*MonitorStop) Root() string { return "MonitorStop" }

// Root returns "MonitorStopResponse".
func (*MonitorStopResponse) Root() string { return "MonitorStopResponse" }

// Root returns "SnapshotDevice".
func (*SnapshotDevice) Root() string { return "SnapshotDevice" }

// Root returns "SnapshotDeviceResponse".
func (*SnapshotDeviceResponse) Root() string { return "SnapshotDeviceResponse" }

// Root returns "MakeCall".
func (*MakeCall) Root() string { return "MakeCall" }

// Root returns "MakeCallResponse".
func (*MakeCallResponse) Root() string { return "MakeCallResponse" }

// Root returns "AnswerCall".
func (*AnswerCall) Root() string { return "AnswerCall" }

// Root returns "AnswerCallResponse".
func (*AnswerCallResponse) Root() string { return "AnswerCallResponse" }

// Root returns "ClearConnection".
func (*ClearConnection) Root() string { return "ClearConnection" }

// Root returns "ClearConnectionResponse".
func (*ClearConnectionResponse) Root() string { return "ClearConnectionResponse" }

// Root returns "HoldCall".
func (*HoldCall) Root() string { return "HoldCall" }

// Root returns "HoldCallResponse".
func (*HoldCallResponse) Root() string { return "HoldCallResponse" }

// Root returns "RetrieveCall".
func (*RetrieveCall) Root() string { return "RetrieveCall" }

// Root returns "RetrieveCallResponse".
func (*RetrieveCallResponse) Root() string { return "RetrieveCallResponse" }

// Root returns "AlternateCall".
func (*AlternateCall) Root() string { return "AlternateCall" }

// Root returns "AlternateCallResponse".
func (*AlternateCallResponse) Root() string { return "AlternateCallResponse" }

// Root returns "ReconnectCall".
func (*ReconnectCall) Root() string { return "ReconnectCall" }

// Root returns "ReconnectCallResponse".
func (*ReconnectCallResponse) Root() string { return "ReconnectCallResponse" }

// Root returns "ConsultationCall".
func (*ConsultationCall) Root() string { return "ConsultationCall" }

// Root returns "ConsultationCallResponse".
func (*ConsultationCallResponse) Root() string { return "ConsultationCallResponse" }

// Root returns "TransferCall".
func (*TransferCall) Root() string { return "TransferCall" }

// Root returns "TransferCallResponse".
func (*TransferCallResponse) Root() string { return "TransferCallResponse" }

// Root returns "SingleStepTransferCall".
func (*SingleStepTransferCall) Root() string { return "SingleStepTransferCall" }

// Root returns "SingleStepTransferCallResponse".
func (*SingleStepTransferCallResponse) Root() string { return "SingleStepTransferCallResponse" }

// Root returns "ConferenceCall".
func (*ConferenceCall) Root() string { return "ConferenceCall" }

// Root returns "ConferenceCallResponse".
func (*ConferenceCallResponse) Root() string { return "ConferenceCallResponse" }

// Root returns "DeflectCall".
func (*DeflectCall) Root() string { return "DeflectCall" }

// Root returns "DeflectCallResponse".
func (*DeflectCallResponse) Root() string { return "DeflectCallResponse" }

// Root returns "GenerateDigits".
func (*GenerateDigits) Root() string { return "GenerateDigits" }

// Root returns "GenerateDigitsResponse".
func (*GenerateDigitsResponse) Root() string { return "GenerateDigitsResponse" }

// Root returns "GetForwarding".
func (*GetForwarding) Root() string { return "GetForwarding" }

// Root returns "GetForwardingResponse".
func (*GetForwardingResponse) Root() string { return "GetForwardingResponse" }

// Root returns "SetForwarding".
func (*SetForwarding) Root() string { return "SetForwarding" }

// Root returns "SetForwardingResponse".
func (*SetForwardingResponse) Root() string { return "SetForwardingResponse" }

// Root returns "GetDoNotDisturb".
func (*GetDoNotDisturb) Root() string { return "GetDoNotDisturb" }

// Root returns "GetDoNotDisturbResponse".
func (*GetDoNotDisturbResponse) Root() string { return "GetDoNotDisturbResponse" }

// Root returns "SetDoNotDisturb".
func (*SetDoNotDisturb) Root() string { return "SetDoNotDisturb" }

// Root returns "SetDoNotDisturbResponse".
func (*SetDoNotDisturbResponse) Root() string { return "SetDoNotDisturbResponse" }

// Root returns "ServiceInitiatedEvent".
func (*ServiceInitiatedEvent) Root() string { return "ServiceInitiatedEvent" }

// Root returns "OriginatedEvent".
func (*OriginatedEvent) Root() string { return "OriginatedEvent" }

// Root returns "DeliveredEvent".
func (*DeliveredEvent) Root() string { return "DeliveredEvent" }

// Root returns "EstablishedEvent".
func (*EstablishedEvent) Root() string { return "EstablishedEvent" }

// Root returns "ConnectionClearedEvent".
func (*ConnectionClearedEvent) Root() string { return "ConnectionClearedEvent" }

// Root returns "HeldEvent".
func (*HeldEvent) Root() string { return "HeldEvent" }

// Root returns "RetrievedEvent".
func (*RetrievedEvent) Root() string { return "RetrievedEvent" }

// Root returns "TransferedEvent".
func (*TransferedEvent) Root() string { return "TransferedEvent" }

// Root returns "ConferencedEvent".
func (*ConferencedEvent) Root() string { return "ConferencedEvent" }

// Root returns "DivertedEvent".
func (*DivertedEvent) Root() string { return "DivertedEvent" }

// Root returns "FailedEvent".
func (*FailedEvent) Root() string { return "FailedEvent" }

// Root returns "ForwardingEvent".
func (*ForwardingEvent) Root() string { return "ForwardingEvent" }

// Root returns "DoNotDisturbEvent".
func (*DoNotDisturbEvent) Root() string { return "DoNotDisturbEvent" }

// Root returns "DigitsGeneratedEvent".
func (*DigitsGeneratedEvent) Root() string { return "DigitsGeneratedEvent" }

// Root returns "CSTAErrorCode".
func (*CSTAErrorCode) Root() string { return "CSTAErrorCode" }

// registry maps a root element's local name to a new value of its type.
var registry = map[string]func() Message{
	"RequestSystemStatus":            func() Message { return new(RequestSystemStatus) },
	"RequestSystemStatusResponse":    func() Message { return new(RequestSystemStatusResponse) },
	"SystemStatus":                   func() Message { return new(SystemStatusMsg) },
	"SystemStatusResponse":           func() Message { return new(SystemStatusResponse) },
	"GetCSTAFeatures":                func() Message { return new(GetCSTAFeatures) },
	"GetCSTAFeaturesResponse":        func() Message { return new(GetCSTAFeaturesResponse) },
	"MonitorStart":                   func() Message { return new(MonitorStart) },
	"MonitorStartResponse":           func() Message { return new(MonitorStartResponse) },
	"MonitorStop":                    func() Message { return new(MonitorStop) },
	"MonitorStopResponse":            func() Message { return new(MonitorStopResponse) },
	"SnapshotDevice":                 func() Message { return new(SnapshotDevice) },
	"SnapshotDeviceResponse":         func() Message { return new(SnapshotDeviceResponse) },
	"MakeCall":                       func() Message { return new(MakeCall) },
	"MakeCallResponse":               func() Message { return new(MakeCallResponse) },
	"AnswerCall":                     func() Message { return new(AnswerCall) },
	"AnswerCallResponse":             func() Message { return new(AnswerCallResponse) },
	"ClearConnection":                func() Message { return new(ClearConnection) },
	"ClearConnectionResponse":        func() Message { return new(ClearConnectionResponse) },
	"HoldCall":                       func() Message { return new(HoldCall) },
	"HoldCallResponse":               func() Message { return new(HoldCallResponse) },
	"RetrieveCall":                   func() Message { return new(RetrieveCall) },
	"RetrieveCallResponse":           func() Message { return new(RetrieveCallResponse) },
	"AlternateCall":                  func() Message { return new(AlternateCall) },
	"AlternateCallResponse":          func() Message { return new(AlternateCallResponse) },
	"ReconnectCall":                  func() Message { return new(ReconnectCall) },
	"ReconnectCallResponse":          func() Message { return new(ReconnectCallResponse) },
	"ConsultationCall":               func() Message { return new(ConsultationCall) },
	"ConsultationCallResponse":       func() Message { return new(ConsultationCallResponse) },
	"TransferCall":                   func() Message { return new(TransferCall) },
	"TransferCallResponse":           func() Message { return new(TransferCallResponse) },
	"SingleStepTransferCall":         func() Message { return new(SingleStepTransferCall) },
	"SingleStepTransferCallResponse": func() Message { return new(SingleStepTransferCallResponse) },
	"ConferenceCall":                 func() Message { return new(ConferenceCall) },
	"ConferenceCallResponse":         func() Message { return new(ConferenceCallResponse) },
	"DeflectCall":                    func() Message { return new(DeflectCall) },
	"DeflectCallResponse":            func() Message { return new(DeflectCallResponse) },
	"GenerateDigits":                 func() Message { return new(GenerateDigits) },
	"GenerateDigitsResponse":         func() Message { return new(GenerateDigitsResponse) },
	"GetForwarding":                  func() Message { return new(GetForwarding) },
	"GetForwardingResponse":          func() Message { return new(GetForwardingResponse) },
	"SetForwarding":                  func() Message { return new(SetForwarding) },
	"SetForwardingResponse":          func() Message { return new(SetForwardingResponse) },
	"GetDoNotDisturb":                func() Message { return new(GetDoNotDisturb) },
	"GetDoNotDisturbResponse":        func() Message { return new(GetDoNotDisturbResponse) },
	"SetDoNotDisturb":                func() Message { return new(SetDoNotDisturb) },
	"SetDoNotDisturbResponse":        func() Message { return new(SetDoNotDisturbResponse) },
	"ServiceInitiatedEvent":          func() Message { return new(ServiceInitiatedEvent) },
	"OriginatedEvent":                func() Message { return new(OriginatedEvent) },
	"DeliveredEvent":                 func() Message { return new(DeliveredEvent) },
	"EstablishedEvent":               func() Message { return new(EstablishedEvent) },
	"ConnectionClearedEvent":         func() Message { return new(ConnectionClearedEvent) },
	"HeldEvent":                      func() Message { return new(HeldEvent) },
	"RetrievedEvent":                 func() Message { return new(RetrievedEvent) },
	"TransferedEvent":                func() Message { return new(TransferedEvent) },
	"ConferencedEvent":               func() Message { return new(ConferencedEvent) },
	"DivertedEvent":                  func() Message { return new(DivertedEvent) },
	"FailedEvent":                    func() Message { return new(FailedEvent) },
	"ForwardingEvent":                func() Message { return new(ForwardingEvent) },
	"DoNotDisturbEvent":              func() Message { return new(DoNotDisturbEvent) },
	"DigitsGeneratedEvent":           func() Message { return new(DigitsGeneratedEvent) },
	"CSTAErrorCode":                  func() Message { return new(CSTAErrorCode) },
}
