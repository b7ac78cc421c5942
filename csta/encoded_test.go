package csta_test

import (
	"bytes"
	"testing"

	. "github.com/rccserver/rccserver/csta"
)

func TestPreencode(t *testing.T) {
	msg := NewFeatures([]string{"makeCall", "holdCall"}, []string{"delivered"}, nil)
	want, err := Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Preencode(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(enc)
	if err != nil || !bytes.Equal(got, want) || enc.Root() != msg.Root() {
		t.Fatalf("Encode(Preencode(m)) = %q, %v (root %s); want %q", got, err, enc.Root(), want)
	}
	back, err := Decode(got)
	if _, ok := back.(*GetCSTAFeaturesResponse); err != nil || !ok {
		t.Fatalf("decoded back to %T, %v", back, err)
	}
	if _, err := Preencode(&MakeCall{}); err == nil {
		t.Error("an invalid message was pre-encoded")
	}
}

// BenchmarkGetCSTAFeaturesResponse compares encoding the features answer
// every time with sending the bytes encoded once.
func BenchmarkGetCSTAFeaturesResponse(b *testing.B) {
	msg := NewFeatures([]string{"makeCall", "answerCall", "clearConnection", "holdCall", "retrieveCall", "consultationCall",
		"transferCall", "singleStepTransferCall", "deflectCall", "generateDigits", "setForwarding", "setDoNotDisturb",
		"snapshotDevice", "monitorStart", "monitorStop"}, []string{"delivered", "established", "connectionCleared", "held",
		"retrieved", "transferred", "originated", "serviceInitiated", "failed", "diverted"}, nil)
	enc, err := Preencode(msg)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    Message
	}{{"Encode", msg}, {"Preencoded", enc}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(c.m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodeTo: EncodeTo appends what Encode returns, for a message encoded
// every time and for one encoded once, and leaves dst alone on an error.
func TestEncodeTo(t *testing.T) {
	msg := &MakeCallResponse{CallingDevice: ConnectionID{CallID: "c1", DeviceID: "tel:+13175551010"}}
	want, err := Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Preencode(NewFeatures([]string{"makeCall"}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	dst := bytes.NewBufferString("head|")
	if err := EncodeTo(dst, msg); err != nil {
		t.Fatal(err)
	}
	if err := EncodeTo(dst, enc); err != nil {
		t.Fatal(err)
	}
	if got := dst.String(); got != "head|"+string(want)+string(enc.Bytes()) {
		t.Fatalf("EncodeTo wrote %q", got)
	}
	n := dst.Len()
	if err := EncodeTo(dst, &MakeCall{}); err == nil || dst.Len() != n {
		t.Fatalf("invalid message: err %v, %d bytes written", err, dst.Len()-n)
	}
}
