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
