package csta

import (
	"bytes"
	"errors"
	"testing"
)

// slowErrorCode is what encoding/xml writes for e, the reference of encodeFast.
func slowErrorCode(t testing.TB, e *CSTAErrorCode) []byte {
	t.Helper()
	enc, err := encodePooled(e)
	if err != nil {
		t.Fatalf("encodePooled(%+v): %v", e, err)
	}
	return bytes.Clone(enc.buf.Bytes())
}

var errorValues = []string{
	"", OpGeneric, OpMissingParameter, ResourceOutOfService, SubscribedObjectMonitorLimitExceeded,
	`a&b<c>"d'e`, "tab\there", "line\nfeed\r", "café", "bad\x00byte", "\xff\xfe", "]]>", "\x7f", "\u2028", "\U0010FFFF",
}

// TestEncodeFastSameBytes: the hand-written CSTAErrorCode is byte for byte
// what encoding/xml writes, for every category and awkward text, through
// Encode and EncodeTo.
func TestEncodeFastSameBytes(t *testing.T) {
	for c := ErrorCategory(1); int(c) < len(errorCategoryTable.tokens); c++ {
		for _, v := range errorValues {
			e := &CSTAErrorCode{Category: c, Value: v}
			want := slowErrorCode(t, e)
			got, err := Encode(e)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("Encode(%v, %q) = %q, %v; want %q", c, v, got, err, want)
			}
			var buf bytes.Buffer
			buf.WriteString("prefix")
			if err := EncodeTo(&buf, e); err != nil || buf.String() != "prefix"+string(want) {
				t.Errorf("EncodeTo(%v, %q) = %q, %v; want %q", c, v, buf.String(), err, want)
			}
		}
	}
}

// TestEncodeFastRefuses: categories the encoder refuses are refused as before.
func TestEncodeFastRefuses(t *testing.T) {
	for _, c := range []ErrorCategory{ErrorCategoryUnknown, ErrorCategory(len(errorCategoryTable.tokens)), 200} {
		e := &CSTAErrorCode{Category: c, Value: "generic"}
		if _, err := Encode(e); err == nil || !errors.Is(err, ErrInvalidValue) && !errors.Is(err, ErrMissingChild) {
			t.Errorf("Encode(category %d) = %v; want a refusal", c, err)
		}
		var buf bytes.Buffer
		if err := EncodeTo(&buf, e); err == nil || buf.Len() != 0 {
			t.Errorf("EncodeTo(category %d) = %v, %d bytes; want a refusal and nothing written", c, err, buf.Len())
		}
	}
}

func FuzzEncodeFast(f *testing.F) {
	for i, v := range errorValues {
		f.Add(uint8(i%10), v)
	}
	f.Fuzz(func(t *testing.T, c uint8, v string) {
		e := &CSTAErrorCode{Category: ErrorCategory(c), Value: v}
		var buf bytes.Buffer
		if !encodeFast(&buf, e) {
			if c != 0 && int(c) < len(errorCategoryTable.tokens) {
				t.Fatalf("category %d refused", c)
			}
			return
		}
		if want := slowErrorCode(t, e); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("encodeFast(%d, %q) = %q; want %q", c, v, buf.Bytes(), want)
		}
		if _, err := Decode(buf.Bytes()); err != nil && plainText(v) {
			t.Fatalf("Decode(%q): %v", buf.Bytes(), err)
		}
	})
}

// BenchmarkEncodeErrorCode: the answer of a refused request, by hand
// (EncodeTo) and by encoding/xml (the encoder it replaced).
func BenchmarkEncodeErrorCode(b *testing.B) {
	e := ResourceError(ResourceOutOfService)
	b.Run("fast", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := EncodeTo(&buf, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xml", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			enc, err := encodePooled(e)
			if err != nil {
				b.Fatal(err)
			}
			buf.Write(enc.buf.Bytes())
			encoderPool.Put(enc)
		}
	})
}
