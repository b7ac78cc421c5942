package csta_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	. "github.com/rccserver/rccserver/csta"
)

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to a
// document that decodes to the same value and re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"golden", "lync"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.xml"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`<CSTAErrorCode><systemResourceAvailability>x</systemResourceAvailability></CSTAErrorCode>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := Decode(body)
		if err != nil {
			var e *Error
			if msg != nil || !errors.As(err, &e) {
				t.Fatalf("error %v (%T) with value %#v", err, err, msg)
			}
			return
		}
		out, err := Encode(msg)
		if err != nil {
			// Accepted input must be writable: a decoded value is a valid value.
			t.Fatalf("decoded %#v but cannot encode: %v", msg, err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if diff := cmp.Diff(msg, again, cmpOpts); diff != "" {
			t.Fatalf("re-decode differs (-first +second):\n%s\nfrom %s", diff, out)
		}
		out2, err := Encode(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encode not stable: %v\n%s\n%s", err, out, out2)
		}
	})
}

// FuzzParseDeviceID: no panics; an accepted identifier keeps its raw form and
// a normalised number is idempotent.
func FuzzParseDeviceID(f *testing.F) {
	for _, s := range []string{"tel:+13175551010;ext=1010", "tel:1010;phone-context=dialstring", "sip:a@b;user=phone",
		"1010", "+1 (317) 555-1010", "sips:x;y@z?h=1", "tel:;;;", "sip:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDeviceID(s)
		if d.Raw != s {
			t.Fatalf("Raw %q, want %q", d.Raw, s)
		}
		if err != nil {
			if !errors.Is(err, ErrBadDeviceID) {
				t.Fatalf("error kind %v", err)
			}
			return
		}
		if n := NormalizeNumber(d.Number); d.Kind != DeviceSIP && n != d.Number {
			t.Fatalf("number %q not normalised (%q)", d.Number, n)
		}
		_ = d.Key()
		_ = d.IsE164()
	})
}
