package csta_test

import (
	"testing"

	. "github.com/rccserver/rccserver/csta"
)

func benchRoundTrip(b *testing.B, msg Message) {
	body, err := Encode(msg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Encode(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeEncode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := Decode(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Encode(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMakeCall(b *testing.B) {
	benchRoundTrip(b, &MakeCall{CallingDevice: line, CalledDirectoryNumber: far, AutoOriginate: "doNotPrompt"})
}

func BenchmarkDeliveredEvent(b *testing.B) {
	benchRoundTrip(b, &DeliveredEvent{MonitorCrossRefID: xref, Connection: farConn, AlertingDevice: Device(far),
		CallingDevice: Device(line), CalledDevice: Device(far), LastRedirectionDevice: NotRequired(),
		LocalConnectionInfo: LCSConnected, Cause: CauseNewCall})
}

func BenchmarkSnapshotDeviceResponse5(b *testing.B) {
	var items []SnapshotDeviceResponseInfo
	for i := range 5 {
		items = append(items, SnapshotDeviceResponseInfo{
			ConnectionIdentifier: ConnectionID{CallID: "0_99f261b" + string(rune('0'+i)), DeviceID: line},
			LocalCallState:       LocalCallState{Compound: []LocalConnectionState{LCSConnected, LCSHold}},
		})
	}
	benchRoundTrip(b, &SnapshotDeviceResponse{SnapshotData: &SnapshotData{Items: items}})
}
