package csta

// Required children, checked after decoding and before encoding, so a body
// that lacks one is an error rather than a value that looks valid.

func need(root string, checks ...any) error {
	for i := 0; i+1 < len(checks); i += 2 {
		name := checks[i].(string)
		ok := true
		switch v := checks[i+1].(type) {
		case string:
			ok = !blank(v)
		case Destination:
			ok = !blank(string(v))
		case ConnectionID:
			// Some uaCSTA clients leave one half empty (docs/protocol.md "Device identifiers"); both empty is nothing.
			ok = !blank(v.CallID) || !blank(v.DeviceID)
		case *ConnectionID:
			ok = v != nil && (!blank(v.CallID) || !blank(v.DeviceID))
		case *bool:
			ok = v != nil
		case ForwardingType:
			ok = v != ForwardingTypeUnknown
		case SystemStatus:
			ok = v != SystemStatusUnknown
		case ExtendedDeviceID:
			ok = !blank(v.DeviceIdentifier) || v.NotKnown != nil || v.Restricted != nil
		}
		if !ok {
			return missing(root, name)
		}
	}
	return nil
}

func (m *SystemStatusMsg) validate() error {
	return need("SystemStatus", "systemStatus", m.SystemStatus)
}
func (m *RequestSystemStatusResponse) validate() error {
	return need(m.Root(), "systemStatus", m.SystemStatus)
}
func (m *MonitorStart) validate() error {
	return need(m.Root(), "monitorObject/deviceObject", m.MonitorObject)
}
func (m *MonitorStartResponse) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID)
}
func (m *MonitorStop) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID)
}
func (m *SnapshotDevice) validate() error {
	return need(m.Root(), "snapshotObject", m.SnapshotObject)
}
func (m *SnapshotDeviceResponse) validate() error {
	if m.SnapshotData == nil && blank(m.ServiceCrossRefID) {
		return missing(m.Root(), "crossRefIDorSnapshotData")
	}
	return nil
}
func (m *MakeCall) validate() error {
	return need(m.Root(), "callingDevice", m.CallingDevice, "calledDirectoryNumber", m.CalledDirectoryNumber)
}
func (m *MakeCallResponse) validate() error {
	return need(m.Root(), "callingDevice", m.CallingDevice)
}
func (m *AnswerCall) validate() error {
	return need(m.Root(), "callToBeAnswered", m.CallToBeAnswered)
}
func (m *ClearConnection) validate() error {
	return need(m.Root(), "connectionToBeCleared", m.ConnectionToBeCleared)
}
func (m *HoldCall) validate() error {
	return need(m.Root(), "callToBeHeld", m.CallToBeHeld)
}
func (m *RetrieveCall) validate() error {
	return need(m.Root(), "callToBeRetrieved", m.CallToBeRetrieved)
}
func (m *AlternateCall) validate() error {
	return need(m.Root(), "heldCall", m.HeldCall, "activeCall", m.ActiveCall)
}
func (m *ReconnectCall) validate() error {
	return need(m.Root(), "activeCall", m.ActiveCall, "heldCall", m.HeldCall)
}
func (m *ConsultationCall) validate() error {
	return need(m.Root(), "existingCall", m.ExistingCall, "consultedDevice", m.ConsultedDevice)
}
func (m *ConsultationCallResponse) validate() error {
	return need(m.Root(), "initiatedCall", m.InitiatedCall)
}
func (m *TransferCall) validate() error {
	return need(m.Root(), "heldCall", m.HeldCall, "activeCall", m.ActiveCall)
}
func (m *SingleStepTransferCall) validate() error {
	return need(m.Root(), "activeCall", m.ActiveCall, "transferredTo", m.TransferredTo)
}
func (m *ConferenceCall) validate() error {
	return need(m.Root(), "heldCall", m.HeldCall, "activeCall", m.ActiveCall)
}
func (m *ConferenceCallResponse) validate() error {
	return need(m.Root(), "conferenceCall", m.ConferenceCall)
}
func (m *DeflectCall) validate() error {
	return need(m.Root(), "callToBeDiverted", m.CallToBeDiverted, "newDestination", m.NewDestination)
}
func (m *GenerateDigits) validate() error {
	return need(m.Root(), "connectionToSendDigits", m.ConnectionToSendDigits, "charactersToSend", m.CharactersToSend)
}
func (m *GetForwarding) validate() error { return need(m.Root(), "device", m.Device) }
func (m *SetForwarding) validate() error {
	return need(m.Root(), "device", m.Device, "forwardingType", m.ForwardingType, "activateForward", m.ActivateForward)
}
func (m *GetDoNotDisturb) validate() error { return need(m.Root(), "device", m.Device) }
func (m *SetDoNotDisturb) validate() error {
	return need(m.Root(), "device", m.Device, "doNotDisturbOn", m.DoNotDisturbOn)
}
func (m *CSTAErrorCode) validate() error {
	if m.Category == ErrorCategoryUnknown {
		return missing(m.Root(), "error category")
	}
	return nil
}

// Events: the monitor cross-reference and the event's own connection.
func (m *ServiceInitiatedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "initiatedConnection", m.InitiatedConnection)
}
func (m *OriginatedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "originatedConnection", m.OriginatedConnection)
}
func (m *DeliveredEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "connection", m.Connection)
}
func (m *EstablishedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "establishedConnection", m.EstablishedConnection)
}
func (m *ConnectionClearedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "droppedConnection", m.DroppedConnection)
}
func (m *HeldEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "heldConnection", m.HeldConnection)
}
func (m *RetrievedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "retrievedConnection", m.RetrievedConnection)
}
func (m *TransferedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "primaryOldCall", m.PrimaryOldCall)
}
func (m *ConferencedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "primaryOldCall", m.PrimaryOldCall)
}
func (m *DivertedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "connection", m.Connection)
}
func (m *FailedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "failedConnection", m.FailedConnection)
}
func (m *ForwardingEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "device", m.Device, "forwardingType", m.ForwardingType)
}
func (m *DoNotDisturbEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "device", m.Device)
}
func (m *DigitsGeneratedEvent) validate() error {
	return need(m.Root(), "monitorCrossRefID", m.MonitorCrossRefID, "connection", m.Connection)
}
