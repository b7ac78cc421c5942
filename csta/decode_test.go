package csta_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	. "github.com/rccserver/rccserver/csta"
)

// TestLyncExamples decodes the Lync-shaped bodies of docs/protocol.md "On the wire" as a
// client sends them (XML declaration without encoding, lcs: prefix, layout).
func TestLyncExamples(t *testing.T) {
	c42 := ConnectionID{CallID: "c42", DeviceID: line}
	tests := []struct {
		file string
		want Message
	}{
		{"RequestSystemStatus.xml", &RequestSystemStatus{Extensions: &Extensions{Line: line}}},
		{"GetCSTAFeatures.xml", &GetCSTAFeatures{Extensions: &Extensions{Line: line + ";partition=BE_BRS_INT"}}},
		{"MonitorStart.xml", &MonitorStart{MonitorObject: line}},
		{"MakeCall.xml", &MakeCall{CallingDevice: line, CalledDirectoryNumber: far, AutoOriginate: "doNotPrompt"}},
		{"AnswerCall.xml", &AnswerCall{CallToBeAnswered: c42}},
		{"HoldCall.xml", &HoldCall{CallToBeHeld: c42}},
		{"ConsultationCall.xml", &ConsultationCall{ExistingCall: c42, ConsultedDevice: "tel:+4930999"}},
		{"SingleStepTransferCall.xml", &SingleStepTransferCall{ActiveCall: c42, TransferredTo: "tel:+4930999"}},
		{"MonitorStop.xml", &MonitorStop{MonitorCrossRefID: xref}},
		{"CSTAErrorCode.xml", OperationError(OpInvalidCallID)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "lync", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeLenient: namespaces of other editions, none, typos, unknown children.
func TestDecodeLenient(t *testing.T) {
	want := &MakeCall{CallingDevice: line, CalledDirectoryNumber: far}
	inner := `<callingDevice>` + line + `</callingDevice><calledDirectoryNumber>` + far + `</calledDirectoryNumber>`
	tests := map[string]string{
		"ed3":             `<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">` + inner + `</MakeCall>`,
		"ed4":             `<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">` + inner + `</MakeCall>`,
		"ed5":             `<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5">` + inner + `</MakeCall>`,
		"no namespace":    `<MakeCall>` + inner + `</MakeCall>`,
		"yealink typo":    `<MakeCall xmlns="http://www.ecmainternational.org/standards/ecma-323/csta/ed3">` + inner + `</MakeCall>`,
		"prefixed":        `<csta:MakeCall xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><csta:callingDevice>` + line + `</csta:callingDevice><csta:calledDirectoryNumber>` + far + `</csta:calledDirectoryNumber></csta:MakeCall>`,
		"unknown child":   `<MakeCall>` + inner + `<userData><string>x</string></userData><futureThing a="1"/></MakeCall>`,
		"leading comment": `<?xml version="1.0" encoding="utf-8"?><!-- hi --><MakeCall>` + inner + `</MakeCall>` + "\n",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeErrors: every failure has its kind, and no value comes back.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		kind error
		in   string // substring of the message
	}{
		{"empty", ``, ErrMalformed, "no root"},
		{"text only", `hello`, ErrMalformed, "text before"},
		{"unclosed", `<MakeCall><callingDevice>x</callingDevice>`, ErrMalformed, "MakeCall"},
		{"mismatched", `<MakeCall></Foo>`, ErrMalformed, ""},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><MakeCall/>`, ErrMalformed, "directive"},
		{"trailing element", `<MonitorStopResponse/><x/>`, ErrMalformed, "after the root"},
		{"trailing text", `<MonitorStopResponse/>junk`, ErrMalformed, "after the root"},
		{"unknown root", `<MakeCoffee/>`, ErrUnknownRoot, "MakeCoffee"},
		{"missing called", `<MakeCall><callingDevice>x</callingDevice></MakeCall>`, ErrMissingChild, "calledDirectoryNumber"},
		{"blank calling", `<MakeCall><callingDevice> </callingDevice><calledDirectoryNumber>1</calledDirectoryNumber></MakeCall>`, ErrMissingChild, "callingDevice"},
		{"empty connection", `<AnswerCall><callToBeAnswered/></AnswerCall>`, ErrMissingChild, "callToBeAnswered"},
		{"missing bool", `<SetDoNotDisturb><device>x</device></SetDoNotDisturb>`, ErrMissingChild, "doNotDisturbOn"},
		{"bad bool", `<SetDoNotDisturb><device>x</device><doNotDisturbOn>maybe</doNotDisturbOn></SetDoNotDisturb>`, ErrInvalidValue, ""},
		{"bad enum", `<SetForwarding><device>x</device><forwardingType>forwardSometimes</forwardingType><activateForward>true</activateForward></SetForwarding>`, ErrInvalidValue, "forwardSometimes"},
		{"bad int", `<SetForwarding><device>x</device><forwardingType>forwardNoAns</forwardingType><activateForward>true</activateForward><ringCount>many</ringCount></SetForwarding>`, ErrInvalidValue, ""},
		{"bad status", `<RequestSystemStatusResponse><systemStatus>fine</systemStatus></RequestSystemStatusResponse>`, ErrInvalidValue, "fine"},
		{"no error category", `<CSTAErrorCode><whatever>x</whatever></CSTAErrorCode>`, ErrMissingChild, "category"},
		{"missing xref", `<DeliveredEvent><connection><callID>1</callID></connection></DeliveredEvent>`, ErrMissingChild, "monitorCrossRefID"},
		{"too large", `<MakeCall>` + strings.Repeat(" ", DefaultMaxSize) + `</MakeCall>`, ErrTooLarge, ""},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><MonitorStopResponse/>`, ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := Decode([]byte(tc.body))
			if msg != nil {
				t.Fatalf("got a value %#v with error %v", msg, err)
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *csta.Error", err)
			}
			if !strings.Contains(err.Error(), tc.in) {
				t.Fatalf("error %q does not mention %q", err, tc.in)
			}
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	body := []byte(`<MonitorStopResponse/>`)
	if _, err := DecodeLimit(body, len(body)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := DecodeLimit(body, len(body)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	tests := []Message{
		nil,
		&MakeCall{CallingDevice: line},
		&DeliveredEvent{Connection: farConn},
		&CSTAErrorCode{},
		&ForwardingEvent{MonitorCrossRefID: "1", Device: Device(line)},
	}
	for _, m := range tests {
		if b, err := Encode(m); err == nil {
			t.Errorf("Encode(%#v) = %s, want an error", m, b)
		}
	}
}

// TestEncodeEchoesExactly: device identifiers and call IDs go out as given,
// with XML escaping only.
func TestEncodeEchoesExactly(t *testing.T) {
	odd := "tel:+1 (317) 555-1010;ext=10&10;phone-context=<x>"
	b, err := Encode(&MakeCallResponse{CallingDevice: ConnectionID{CallID: "0_a", DeviceID: odd}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*MakeCallResponse).CallingDevice.DeviceID; got != odd {
		t.Fatalf("echo %q, want %q", got, odd)
	}
}

func TestErrorCodeAliases(t *testing.T) {
	for _, cat := range []string{"systemResourceAvailibility", "systemResourceAvailability"} {
		m, err := Decode([]byte(`<CSTAErrorCode><` + cat + `>resourceBusy</` + cat + `></CSTAErrorCode>`))
		if err != nil {
			t.Fatal(err)
		}
		want := ResourceError(ResourceBusy)
		if diff := cmp.Diff(want, m); diff != "" {
			t.Fatalf("%s: %s", cat, diff)
		}
	}
	var err error = OperationError(OpInvalidCallID)
	if err.Error() != "csta error operation/invalidCallID" {
		t.Fatalf("Error() = %q", err.Error())
	}
}

func TestDeflectDestinationForms(t *testing.T) {
	for _, body := range []string{
		`<DeflectCall><callToBeDiverted><callID>1</callID></callToBeDiverted><newDestination>tel:+1</newDestination></DeflectCall>`,
		`<DeflectCall><callToBeDiverted><callID>1</callID></callToBeDiverted><newDestination><device>tel:+1</device></newDestination></DeflectCall>`,
	} {
		m, err := Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*DeflectCall).NewDestination; got != "tel:+1" {
			t.Fatalf("newDestination %q", got)
		}
	}
}
