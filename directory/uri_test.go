package directory

import "testing"

func TestNormalizeSIPAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sip:alice@example.com", "alice@example.com"},
		{"alice@example.com", "alice@example.com"},
		{"SIP:Alice@Example.COM", "alice@example.com"},
		{"sips:alice@example.com", "alice@example.com"},
		{"  <sip:alice@example.com;transport=tls>  ", "alice@example.com"},
		{"sip:alice@example.com?subject=x", "alice@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeSIPAddress(tt.in); got != tt.want {
			t.Errorf("NormalizeSIPAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeSIPAddressNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _ = NormalizeSIPAddress("sip:alice@example.com") })
	if allocs != 0 {
		t.Errorf("NormalizeSIPAddress allocates %v times for a lower-case address, want 0", allocs)
	}
}

func TestValidSIPAddress(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"sip:alice@example.com", true},
		{"SIP:Alice@Example.com", true},
		{"alice@example.com", true},
		{"", false},
		{"sip:alice", false},
		{"sip:@example.com", false},
		{"sip:alice@", false},
		{"mailto:alice@example.com", false},
		{"sip:al ice@example.com", false},
		{"sip:a@b@example.com", false},
	}
	for _, tt := range tests {
		if err := validSIPAddress(tt.in); (err == nil) != tt.ok {
			t.Errorf("validSIPAddress(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestNormalizeLineURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tel:+13175551010", "tel:+13175551010"},
		{"TEL:+13175551010", "tel:+13175551010"},
		{"tel:+1 (317) 555-1010", "tel:+13175551010"},
		{"tel:+1.317.555.1010", "tel:+13175551010"},
		{" tel:+1-317-555-1010 ", "tel:+13175551010"},
		{"tel:+13175551010;EXT=10", "tel:+13175551010;ext=10"},
		{"tel:1010;phone-context=Example.COM", "tel:1010;phone-context=example.com"},
		{"tel:7AB;phone-context=x", "tel:7ab;phone-context=x"},
		{"SIP:1060@PBX.example.com;user=phone", "sip:1060@pbx.example.com;user=phone"},
		{"+13175551010", "+13175551010"},
	}
	for _, tt := range tests {
		if got := NormalizeLineURI(tt.in); got != tt.want {
			t.Errorf("NormalizeLineURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidLineURI(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"tel:+13175551010", true},
		{"TEL:+1 (317) 555-1010", true},
		{"tel:+13175551010;ext=10", true},
		{"tel:1010;phone-context=dialstring", true},
		{"tel:*21#;phone-context=example.com", true},
		{"sip:1060@pbx.example.com;user=phone", true},
		{"sips:pbx.example.com", true},
		{"+13175551010", false},
		{"phone:5551234", false},
		{"tel:", false},
		{"tel:+", false},
		{"tel:+-", false},
		{"tel:+1317CALLME", false},
		{"tel:+1abc", false},
		{"tel:+13175551010;", false},
		{"tel:+13175551010;=x", false},
		{"sip:", false},
		{"sip:1060@", false},
		{"sip:10 60@pbx", false},
	}
	for _, tt := range tests {
		if err := validLineURI(tt.in); (err == nil) != tt.ok {
			t.Errorf("validLineURI(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}
