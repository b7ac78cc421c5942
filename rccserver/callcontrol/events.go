package callcontrol

import (
	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/station/switching"
)

// cstaEvents maps one switch event to the CSTA events for one monitor, in
// the shapes of docs/protocol.md "Monitors and events". line is the
// monitored device as the
// client wrote it; every mention of the station is that string, byte-exact.
// The switch's call ID is the CSTA callID, so one call keeps one callID
// across the response and all events.
func (svc *Service) cstaEvents(ev switching.Event, xref, line string) []csta.Message {
	dev := func(d string) string {
		if d == "" {
			return ""
		}
		if d == ev.Device {
			return line
		}
		return svc.names.TelURI(d)
	}
	conn := func(callID, d string) csta.ConnectionID { return csta.ConnectionID{CallID: callID, DeviceID: dev(d)} }
	own := conn(ev.CallID, ev.Device)
	state := localState(ev.State)
	cause := eventCause(ev)
	calling, called := csta.Device(dev(ev.Calling)), csta.Device(dev(ev.Called))
	switch ev.Type {
	case switching.EventInitiated:
		return []csta.Message{&csta.ServiceInitiatedEvent{MonitorCrossRefID: xref, InitiatedConnection: own,
			InitiatingDevice: csta.Device(line), LocalConnectionInfo: csta.LCSInitiated, Cause: cause}}
	case switching.EventOriginated:
		return []csta.Message{&csta.OriginatedEvent{MonitorCrossRefID: xref, OriginatedConnection: own,
			CallingDevice: csta.Device(line), CalledDevice: called, LocalConnectionInfo: state, Cause: cause}}
	case switching.EventDelivered:
		// The alerting party is the called device: the far end of an
		// outgoing call, the line itself for an incoming one (the toast).
		return []csta.Message{&csta.DeliveredEvent{MonitorCrossRefID: xref, Connection: conn(ev.CallID, ev.Called),
			AlertingDevice: called, CallingDevice: calling, CalledDevice: called,
			LastRedirectionDevice: csta.NotRequired(), LocalConnectionInfo: state, Cause: cause}}
	case switching.EventEstablished:
		answering := ev.Subject
		if answering == "" {
			answering = ev.Called
		}
		return []csta.Message{&csta.EstablishedEvent{MonitorCrossRefID: xref, EstablishedConnection: conn(ev.CallID, answering),
			AnsweringDevice: csta.Device(dev(answering)), CallingDevice: calling, CalledDevice: called,
			LastRedirectionDevice: csta.NotRequired(), LocalConnectionInfo: state, Cause: cause}}
	case switching.EventCleared:
		releasing := ev.Subject
		if releasing == "" {
			releasing = ev.Device
		}
		return []csta.Message{&csta.ConnectionClearedEvent{MonitorCrossRefID: xref, DroppedConnection: conn(ev.CallID, releasing),
			ReleasingDevice: csta.Device(dev(releasing)), LocalConnectionInfo: state, Cause: cause}}
	case switching.EventHeld:
		holder := orDevice(ev.Subject, ev.Device)
		return []csta.Message{&csta.HeldEvent{MonitorCrossRefID: xref, HeldConnection: conn(ev.CallID, holder),
			HoldingDevice: csta.Device(dev(holder)), LocalConnectionInfo: state, Cause: cause}}
	case switching.EventRetrieved:
		retriever := orDevice(ev.Subject, ev.Device)
		return []csta.Message{&csta.RetrievedEvent{MonitorCrossRefID: xref, RetrievedConnection: conn(ev.CallID, retriever),
			RetrievingDevice: csta.Device(dev(retriever)), LocalConnectionInfo: state, Cause: cause}}
	case switching.EventTransferred:
		primary := orDevice(ev.PrimaryCallID, ev.CallID)
		e := &csta.TransferedEvent{MonitorCrossRefID: xref, PrimaryOldCall: csta.ConnectionID{CallID: primary, DeviceID: line},
			TransferringDevice: csta.Device(dev(orDevice(ev.Subject, ev.Device))), TransferredToDevice: called,
			LocalConnectionInfo: state, Cause: cause}
		if ev.SecondaryCallID != "" {
			e.SecondaryOldCall = &csta.ConnectionID{CallID: ev.SecondaryCallID, DeviceID: line}
		}
		for _, c := range ev.Connections {
			if c.Device != ev.Device {
				nc := conn(ev.CallID, c.Device)
				e.TransferredConnections = append(e.TransferredConnections, csta.ConnectionListItem{NewConnection: &nc})
			}
		}
		return []csta.Message{e}
	case switching.EventDiverted:
		diverting := orDevice(ev.Subject, ev.Device)
		return []csta.Message{&csta.DivertedEvent{MonitorCrossRefID: xref, Connection: conn(ev.CallID, diverting),
			DivertingDevice: csta.Device(dev(diverting)), NewDestination: csta.Device(dev(ev.DivertedTo)),
			CallingDevice: &calling, CalledDevice: &called, LocalConnectionInfo: state, Cause: cause}}
	case switching.EventFailed:
		return []csta.Message{&csta.FailedEvent{MonitorCrossRefID: xref, FailedConnection: conn(ev.CallID, ev.Called),
			FailingDevice: called, CallingDevice: calling, CalledDevice: called,
			LastRedirectionDevice: &csta.RedirectionDeviceID{NotKnown: &csta.Empty{}}, LocalConnectionInfo: csta.LCSFail, Cause: cause}}
	case switching.EventForwarding:
		var out []csta.Message
		for _, f := range ev.Forwarding {
			t := forwardingType(f.Type)
			if t == csta.ForwardingTypeUnknown {
				continue
			}
			e := &csta.ForwardingEvent{MonitorCrossRefID: xref, Device: csta.Device(line), ForwardingType: t, ForwardStatus: f.On}
			if f.On {
				e.ForwardTo = svc.names.TelURI(f.Destination)
			}
			out = append(out, e)
		}
		return out
	case switching.EventDND:
		return []csta.Message{&csta.DoNotDisturbEvent{MonitorCrossRefID: xref, Device: csta.Device(line), DoNotDisturbOn: ev.DND}}
	case switching.EventDigits:
		return []csta.Message{&csta.DigitsGeneratedEvent{MonitorCrossRefID: xref, Connection: own, DigitGeneratedList: ev.Digits}}
	}
	return nil
}

func orDevice(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// eventCause maps the switch's cause to the ECMA-269 EventCause.
func eventCause(ev switching.Event) csta.EventCause {
	switch ev.Cause {
	case switching.CauseNormal:
		if ev.Type == switching.EventCleared {
			return csta.CauseNormalClearing
		}
		return csta.CauseNormal
	case switching.CauseNewCall:
		return csta.CauseNewCall
	case switching.CauseMakeCall:
		return csta.CauseMakeCall
	case switching.CauseConsultation:
		return csta.CauseConsultation
	case switching.CauseBusy:
		return csta.CauseBusy
	case switching.CauseNoAnswer:
		return csta.CauseCallNotAnswered
	case switching.CauseUnreachable:
		return csta.CauseDestNotObtainable
	case switching.CauseRejected:
		return csta.CauseCallCancelled
	case switching.CauseDoNotDisturb:
		return csta.CauseDoNotDisturb
	case switching.CauseForwardImmediate:
		return csta.CauseCallForwardImmediate
	case switching.CauseForwardBusy:
		return csta.CauseCallForwardBusy
	case switching.CauseForwardNoAnswer:
		return csta.CauseCallForwardNoAnswer
	case switching.CauseDeflected:
		return csta.CauseRedirected
	case switching.CauseTransfer:
		return csta.CauseTransfer
	case switching.CauseSingleStepTransfer:
		return csta.CauseSingleStepTransfer
	case switching.CauseTrunkDown:
		return csta.CauseNetworkOutOfOrder
	case switching.CauseInvalidNumber:
		return csta.CauseInvalidNumberFormat
	case switching.CauseOutOfService:
		return csta.CauseDestOutOfOrder
	}
	if ev.Type == switching.EventCleared {
		return csta.CauseNormalClearing
	}
	return csta.CauseNewCall
}
