package csta

import (
	"encoding/xml"
	"strings"
)

// ConnectionID names one party of one call: ECMA-323 ConnectionID. Both
// strings are echoed byte-exact; Lync compares deviceID to its line URI.
type ConnectionID struct {
	CallID   string `xml:"callID,omitempty"`
	DeviceID string `xml:"deviceID,omitempty"`
}

// IsZero reports whether neither part is set.
func (c ConnectionID) IsZero() bool { return c.CallID == "" && c.DeviceID == "" }

// Empty is an element with no content, such as <notKnown/>.
type Empty struct{}

// ExtendedDeviceID is the device-valued field of events (callingDevice,
// alertingDevice, …): a choice of deviceIdentifier, notKnown or restricted
// (ECMA-323 ExtendedDeviceID; docs/protocol.md "ECMA-323 XML").
type ExtendedDeviceID struct {
	DeviceIdentifier string `xml:"deviceIdentifier,omitempty"`
	NotKnown         *Empty `xml:"notKnown"`
	Restricted       *Empty `xml:"restricted"`
}

// Device returns an ExtendedDeviceID naming id, or notKnown when id is empty.
func Device(id string) ExtendedDeviceID {
	if id == "" {
		return ExtendedDeviceID{NotKnown: &Empty{}}
	}
	return ExtendedDeviceID{DeviceIdentifier: id}
}

// RedirectionDeviceID is lastRedirectionDevice: never a deviceIdentifier, but
// a choice of numberDialed, restricted, notKnown, notRequired, notSpecified
// (ECMA-323 RedirectionDeviceID; docs/protocol.md "ECMA-323 XML").
type RedirectionDeviceID struct {
	NumberDialed string `xml:"numberDialed,omitempty"`
	Restricted   *Empty `xml:"restricted"`
	NotKnown     *Empty `xml:"notKnown"`
	NotRequired  *Empty `xml:"notRequired"`
	NotSpecified *Empty `xml:"notSpecified"`
}

// NotRequired is the lastRedirectionDevice of a call that was not redirected.
func NotRequired() *RedirectionDeviceID { return &RedirectionDeviceID{NotRequired: &Empty{}} }

// ConnectionListItem is one entry of transferredConnections, conferenceConnections
// and the connections list of responses.
type ConnectionListItem struct {
	NewConnection *ConnectionID `xml:"newConnection"`
	OldConnection *ConnectionID `xml:"oldConnection"`
	Endpoint      string        `xml:"endpoint>deviceID,omitempty"`
}

// LineNamespace is the namespace of Microsoft's private data element lcs:line.
const LineNamespace = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"

// Extensions is the ECMA-323 extensions element. The only content we read or
// write is Microsoft's <lcs:line> inside privateData/private, which carries
// the Lync user's line URI (docs/protocol.md "Lync private data").
type Extensions struct {
	Line string
}

// MarshalXML writes <extensions><privateData><private><lcs:line …>, or an
// empty <extensions> when there is no line, so decode → encode → decode
// gives back the same value (found by FuzzDecode).
func (e *Extensions) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if e == nil {
		return nil
	}
	if e.Line == "" {
		return enc.EncodeElement(struct{}{}, start)
	}
	names := []string{start.Name.Local, "privateData", "private"}
	for _, n := range names {
		if err := enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: n}}); err != nil {
			return err
		}
	}
	line := xml.StartElement{
		Name: xml.Name{Local: "lcs:line"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns:lcs"}, Value: LineNamespace}},
	}
	if err := enc.EncodeElement(e.Line, line); err != nil {
		return err
	}
	for i := len(names) - 1; i >= 0; i-- {
		if err := enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: names[i]}}); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalXML finds a "line" element anywhere inside privateData/private,
// in whatever namespace or prefix, and ignores every other extension.
func (e *Extensions) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if t.Name.Local == "line" && len(path) == 3 && path[0] == "privateData" && path[1] == "private" {
				var s string
				if err := dec.DecodeElement(&s, &t); err != nil {
					return err
				}
				e.Line = strings.TrimSpace(s)
				path = path[:len(path)-1]
			}
		case xml.EndElement:
			if len(path) == 0 {
				return nil // end of <extensions>
			}
			path = path[:len(path)-1]
		}
	}
}

// Destination is a device given as text, or as a <device> child as some
// uaCSTA implementations write it (DeflectCall newDestination, docs/protocol.md "Device identifiers").
type Destination string

// UnmarshalXML accepts <x>tel:…</x> and <x><device>tel:…</device></x>.
func (d *Destination) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var v struct {
		Text   string `xml:",chardata"`
		Device string `xml:"device"`
	}
	if err := dec.DecodeElement(&v, &start); err != nil {
		return err
	}
	if s := strings.TrimSpace(v.Device); s != "" {
		*d = Destination(s)
	} else {
		*d = Destination(strings.TrimSpace(v.Text))
	}
	return nil
}
