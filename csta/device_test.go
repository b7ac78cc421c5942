package csta_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	. "github.com/rccserver/rccserver/csta"
)

func TestParseDeviceID(t *testing.T) {
	tests := []struct {
		in         string
		want       DeviceID
		e164, dial bool
		key        string
	}{
		// The line forms of docs/protocol.md "Device identifiers".
		{in: "tel:73124;phone-context=dialstring;partition=BE_BRS_INT",
			want: DeviceID{Kind: DeviceTel, Number: "73124", PhoneContext: "dialstring", Partition: "BE_BRS_INT"}, dial: true, key: "73124"},
		{in: "tel:73124;phone-context=dialstring",
			want: DeviceID{Kind: DeviceTel, Number: "73124", PhoneContext: "dialstring"}, dial: true, key: "73124"},
		{in: "tel:+14255550100", want: DeviceID{Kind: DeviceTel, Number: "+14255550100"}, e164: true, key: "+14255550100"},
		{in: "tel:+13175551010;ext=1010", want: DeviceID{Kind: DeviceTel, Number: "+13175551010", Ext: "1010"}, e164: true, key: "+13175551010"},
		{in: "TEL:+1-317-555-1010;EXT=1010", want: DeviceID{Kind: DeviceTel, Number: "+13175551010", Ext: "1010"}, e164: true, key: "+13175551010"},
		// Visual separators Lync strips (spaces, parentheses, dashes, dots).
		{in: "tel:+1 (317) 555.1010", want: DeviceID{Kind: DeviceTel, Number: "+13175551010"}, e164: true, key: "+13175551010"},
		{in: "tel:1010;phone-context=+1317555", want: DeviceID{Kind: DeviceTel, Number: "1010", PhoneContext: "+1317555"}, dial: true, key: "1010"},
		{in: "tel:*72#", want: DeviceID{Kind: DeviceTel, Number: "*72#"}, dial: true, key: "*72#"},
		// SIP forms: user part, host, parameters and headers dropped from the key.
		{in: "sip:alice@Example.COM", want: DeviceID{Kind: DeviceSIP, Number: "alice", Host: "example.com"}, key: "alice@example.com"},
		{in: "sip:+13175551010@gw.example.com;user=phone", want: DeviceID{Kind: DeviceSIP, Number: "+13175551010", Host: "gw.example.com"}, key: "+13175551010@gw.example.com"},
		{in: "sips:1010;isub=1@pbx.example.com?subject=x", want: DeviceID{Kind: DeviceSIP, Number: "1010", Host: "pbx.example.com"}, key: "1010@pbx.example.com"},
		{in: "sip:pbx.example.com", want: DeviceID{Kind: DeviceSIP, Host: "pbx.example.com"}, key: "pbx.example.com"},
		// Bare numbers, as uaCSTA phones send them.
		{in: "1010", want: DeviceID{Kind: DeviceBare, Number: "1010"}, dial: true, key: "1010"},
		{in: "+49 30 123456", want: DeviceID{Kind: DeviceBare, Number: "+4930123456"}, e164: true, key: "+4930123456"},
		// Too long for E.164 (16 digits) is still a number.
		{in: "tel:+1234567890123456", want: DeviceID{Kind: DeviceTel, Number: "+1234567890123456"}, key: "+1234567890123456"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDeviceID(tc.in)
			if err != nil {
				t.Fatalf("ParseDeviceID: %v", err)
			}
			tc.want.Raw = tc.in
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if got.IsE164() != tc.e164 {
				t.Errorf("IsE164 = %v", got.IsE164())
			}
			if got.IsDialString() != tc.dial {
				t.Errorf("IsDialString = %v", got.IsDialString())
			}
			if got.Key() != tc.key {
				t.Errorf("Key = %q, want %q", got.Key(), tc.key)
			}
		})
	}
}

func TestParseDeviceIDErrors(t *testing.T) {
	for _, in := range []string{"", "tel:", "tel:abc", "mailto:a@b", "sip:alice@", "tel:+", "12x4", "http://x"} {
		if d, err := ParseDeviceID(in); !errors.Is(err, ErrBadDeviceID) {
			t.Errorf("ParseDeviceID(%q) = %+v, %v; want ErrBadDeviceID", in, d, err)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	tests := map[string]string{
		"+1 (317) 555-1010": "+13175551010",
		"317.555.1010":      "3175551010",
		"1010":              "1010",
		"":                  "",
		"\t+49-30-12\t":     "+493012",
	}
	for in, want := range tests {
		if got := NormalizeNumber(in); got != want {
			t.Errorf("NormalizeNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
