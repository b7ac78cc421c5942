package csta

import (
	"encoding/xml"
	"slices"
	"strings"
)

// GetCSTAFeaturesResponse lists the supported services and events. On the
// wire each list holds one element per supported entry, whose children are
// optional boolean capability flags (docs/protocol.md "Capability exchange"), e.g.
// <callControlServList><answerCall><alerting>true</alerting></answerCall>…
type GetCSTAFeaturesResponse struct {
	SupportedServices []CapabilityList
	SupportedEvents   []CapabilityList
}

// CapabilityList is one service or event group, such as callControlServList.
type CapabilityList struct {
	Name    string
	Entries []Capability
}

// Capability is one supported service or event and the flags claimed true.
type Capability struct {
	Name  string
	Flags []string
}

// Schema order of the lists and of the entries in each (ECMA-323 ed3 schema; docs/protocol.md "Capability exchange").
var (
	serviceListOrder = []string{"capExchangeServList", "systemStatServList", "monitoringServList",
		"snapshotServList", "callControlServList", "callAssociatedServList", "mediaServList",
		"routeingServList", "physDevServList", "logicalServList", "iOServicesServList",
		"dataCollectionServList", "voiceServList", "cDRServList", "vendorSpecificServList"}
	eventListOrder = []string{"callControlEvtsList", "callAssociatedEvtsList", "mediaEvtsList",
		"physDevEvtsList", "logicalEvtsList", "deviceMaintEvtsList", "voiceEvtsList", "vendorSpecificEvtsList"}
	entryOrder = map[string][]string{
		"capExchangeServList": {"getCSTAFeatures", "getLogicalDeviceInformation", "getPhysicalDeviceInformation",
			"getSwitchingFunctionCaps", "getSwitchingFunctionDevices", "switchingFunctionDevices"},
		"systemStatServList": {"changeSystemStatusFilter", "systemRegister", "systemStatusRegisterAbort",
			"systemStatusRegisterCancel", "requestSystemStatus", "systemStatus", "swFunctionCapsChanged",
			"swFunctionDevicesChanged"},
		"monitoringServList": {"changeMonitorFilter", "monitorStart", "monitorStop"},
		"snapshotServList":   {"snapshotCall", "snapshotDevice", "snapshotCallData", "snapshotDeviceData"},
		"callControlServList": {"acceptCall", "alternateCall", "answerCall", "callBack", "callBackMessage",
			"campOnCall", "clearCall", "clearConnection", "conferenceCall", "consultationCall", "deflectCall",
			"dialDigits", "directedPickupCall", "groupPickupCall", "holdCall", "intrudeCall", "joinCall",
			"makeCall", "makePredictiveCall", "parkCall", "reconnectCall", "retrieveCall", "sendMessage",
			"singleStepConference", "singleStepTransfer", "transferCall"},
		"callAssociatedServList": {"associateData", "cancelTelephonyTones", "changeConnectionInformation",
			"generateDigits", "generateTelephonyTones", "sendUserInformation"},
		"logicalServList": {"callBackNonCallRel", "callBackMsgNonCallRel", "cancelCallBack", "cancelCallBackMsg",
			"getAgentState", "getAutoAnswer", "getAutoWorkMode", "getCallerIDStatus", "getDoNotDisturb",
			"getForwarding", "getLastNumberDialed", "getRouteingMode", "setAgentState", "setAutoAnswer",
			"setAutoWorkMode", "setCallerIDStatus", "setDoNotDisturb", "setForwarding", "setRouteingMode"},
		"callControlEvtsList": {"bridged", "callCleared", "conferenced", "connectionCleared", "delivered",
			"digitsDialed", "diverted", "established", "failed", "held", "netwCapsChanged", "netwReached",
			"offered", "originated", "queued", "retrieved", "serviceInitiated", "transferred"},
		"callAssociatedEvtsList": {"callInformation", "charging", "digitsGenerated", "telephonyTonesGenerated",
			"serviceCompletionFailure"},
		"logicalEvtsList": {"agentBusy", "agentLoggedOff", "agentLoggedOn", "agentNotReady", "agentReady",
			"agentWorkingAfterCall", "autoAnswer", "autoWorkMode", "callBack", "callBackMessage",
			"callerIDStatus", "doNotDisturb", "forwarding", "routeingMode"},
		"deviceMaintEvtsList": {"backInService", "deviceCapsChanged", "outOfService", "partiallyInService"},
	}
)

// rank orders name by its position in order; unknown names go last, stably.
func rank(order []string, name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// listFor returns the list that holds entry, searching lists in order.
func listFor(lists []string, entry string) string {
	for _, l := range lists {
		if slices.Contains(entryOrder[l], entry) {
			return l
		}
	}
	return ""
}

// NewFeatures builds a response from entry names (e.g. "makeCall",
// "delivered"), placing each in its schema list. flags gives the capability
// flags claimed for an entry. Unknown names are dropped: we advertise only
// what the schema can express.
func NewFeatures(services, events []string, flags map[string][]string) *GetCSTAFeaturesResponse {
	build := func(lists []string, names []string) []CapabilityList {
		var out []CapabilityList
		for _, n := range names {
			l := listFor(lists, n)
			if l == "" {
				continue
			}
			i := slices.IndexFunc(out, func(c CapabilityList) bool { return c.Name == l })
			if i < 0 {
				out = append(out, CapabilityList{Name: l})
				i = len(out) - 1
			}
			out[i].Entries = append(out[i].Entries, Capability{Name: n, Flags: flags[n]})
		}
		return out
	}
	return &GetCSTAFeaturesResponse{
		SupportedServices: sortCapabilities(serviceListOrder, build(serviceListOrder, services)),
		SupportedEvents:   sortCapabilities(eventListOrder, build(eventListOrder, events)),
	}
}

// sortCapabilities returns lists and their entries in schema order; names the
// schema does not know keep their relative order after the known ones.
func sortCapabilities(order []string, lists []CapabilityList) []CapabilityList {
	lists = slices.Clone(lists)
	slices.SortStableFunc(lists, func(a, b CapabilityList) int { return rank(order, a.Name) - rank(order, b.Name) })
	for i, l := range lists {
		eo := entryOrder[l.Name]
		entries := slices.Clone(l.Entries)
		slices.SortStableFunc(entries, func(a, b Capability) int { return rank(eo, a.Name) - rank(eo, b.Name) })
		lists[i].Entries = entries
	}
	return lists
}

// Supports reports whether the response lists the named service or event entry.
func (r *GetCSTAFeaturesResponse) Supports(entry string) bool {
	for _, l := range slices.Concat(r.SupportedServices, r.SupportedEvents) {
		for _, e := range l.Entries {
			if e.Name == entry {
				return true
			}
		}
	}
	return false
}

// MarshalXML writes lists and entries in schema order, flags as given.
func (r *GetCSTAFeaturesResponse) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if err := encodeCapabilities(enc, "supportedServices", serviceListOrder, r.SupportedServices); err != nil {
		return err
	}
	if len(r.SupportedEvents) > 0 {
		if err := encodeCapabilities(enc, "supportedEvents", eventListOrder, r.SupportedEvents); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

func encodeCapabilities(enc *xml.Encoder, name string, order []string, lists []CapabilityList) error {
	outer := xml.StartElement{Name: xml.Name{Local: name}}
	if err := enc.EncodeToken(outer); err != nil {
		return err
	}
	for _, l := range sortCapabilities(order, lists) {
		ls := xml.StartElement{Name: xml.Name{Local: l.Name}}
		if err := enc.EncodeToken(ls); err != nil {
			return err
		}
		for _, e := range l.Entries {
			es := xml.StartElement{Name: xml.Name{Local: e.Name}}
			if err := enc.EncodeToken(es); err != nil {
				return err
			}
			for _, f := range e.Flags {
				if err := enc.EncodeElement(true, xml.StartElement{Name: xml.Name{Local: f}}); err != nil {
					return err
				}
			}
			if err := enc.EncodeToken(es.End()); err != nil {
				return err
			}
		}
		if err := enc.EncodeToken(ls.End()); err != nil {
			return err
		}
	}
	return enc.EncodeToken(outer.End())
}

// UnmarshalXML reads both lists; a flag counts when its text is true or 1.
func (r *GetCSTAFeaturesResponse) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Services rawLists `xml:"supportedServices"`
		Events   rawLists `xml:"supportedEvents"`
	}
	if err := dec.DecodeElement(&raw, &start); err != nil {
		return err
	}
	r.SupportedServices, r.SupportedEvents = raw.Services.lists(), raw.Events.lists()
	return nil
}

type rawLists struct {
	Lists []struct {
		XMLName xml.Name
		Entries []struct {
			XMLName xml.Name
			Flags   []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:",any"`
}

func (r rawLists) lists() []CapabilityList {
	var out []CapabilityList
	for _, l := range r.Lists {
		cl := CapabilityList{Name: l.XMLName.Local}
		for _, e := range l.Entries {
			c := Capability{Name: e.XMLName.Local}
			for _, f := range e.Flags {
				if v := strings.TrimSpace(f.Value); v == "true" || v == "1" {
					c.Flags = append(c.Flags, f.XMLName.Local)
				}
			}
			cl.Entries = append(cl.Entries, c)
		}
		out = append(out, cl)
	}
	return out
}
