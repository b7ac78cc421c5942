package station

import (
	"errors"
	"testing"
)

func TestParseLineURI(t *testing.T) {
	tests := []struct {
		in      string
		want    LineURI // Raw is filled in from in
		problem bool
	}{
		{"tel:+13175551010", LineURI{Number: "+13175551010"}, false},
		{"TEL:+1-317-555-1010", LineURI{Number: "+13175551010"}, false},
		{"tel:1010;phone-context=dialstring", LineURI{Number: "1010", Context: "dialstring"}, false},
		{"tel:+13175551010;ext=1010", LineURI{Number: "+13175551010", Ext: "1010"}, false},
		{"tel:73124;phone-context=dialstring;partition=BE_BRS_INT", LineURI{Number: "73124", Context: "dialstring"}, false},
		{"tel:+14255550100;EXT=1-0-0", LineURI{Number: "+14255550100", Ext: "100"}, false},
		{" +13175551010 ", LineURI{Number: "+13175551010"}, false},
		{"*72#", LineURI{Number: "*72#"}, false},
		{"sip:alice@example.com", LineURI{}, true},
		{"alice@example.com", LineURI{}, true},
		{"tel:", LineURI{}, true},
		{"tel:+", LineURI{}, true},
		{"tel:+1*2", LineURI{}, true},
		{"tel:12a", LineURI{}, true},
		{"tel:1010;;ext=1", LineURI{}, true},
		{"tel:1010;ext=", LineURI{}, true},
		{"tel:1010;ext", LineURI{}, true},
		{"tel:1010;ext=1;ext=2", LineURI{}, true},
		{"tel:1010;phone-context=", LineURI{}, true},
		{"tel:+123456789012345678901234567890123", LineURI{}, true}, // 33 digits
	}
	for _, tt := range tests {
		got, err := ParseLineURI(tt.in)
		if tt.problem {
			if err == nil || !errors.Is(err, ErrBadLineURI) {
				t.Errorf("ParseLineURI(%q) = %+v, %v; want an error", tt.in, got, err)
			}
			continue
		}
		tt.want.Raw = tt.in
		if err != nil || got != tt.want {
			t.Errorf("ParseLineURI(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	u, _ := ParseLineURI("tel:+1-317-555-1010;ext=1010;phone-context=dialstring")
	if s := u.String(); s != "tel:+13175551010;ext=1010;phone-context=dialstring" {
		t.Errorf("String() = %q", s)
	}
}

// TestMatchLine: the three forms Lync and gateways use all find station 1010.
func TestMatchLine(t *testing.T) {
	c := loadYAML(t, readTestdata(t, "login.yaml"))
	tests := []struct {
		line    string
		station string
		method  MatchMethod
	}{
		{"tel:+13175551010", "1010", MatchAddress},
		{"tel:1010;phone-context=dialstring", "1010", MatchExtension},
		{"tel:+13175551010;ext=1010", "1010", MatchAddress},
		{"tel:+13175559999;ext=1010", "1010", MatchExtParam},
		{"tel:1010", "1010", MatchExtension},
		{"tel:+13175551040", "lobby", MatchDialPlan},        // no identification address: the dial plan finds extension 1040
		{"tel:+13175551099", "", MatchUnknown},              // an extension with no station
		{"tel:+13125550100", "", MatchUnknown},              // a number outside
		{"tel:+13175551010;ext=1020", "1010", MatchAddress}, // the address wins over ext
	}
	for _, tt := range tests {
		m, err := c.MatchLine(tt.line)
		if err != nil {
			t.Fatalf("MatchLine(%q): %v", tt.line, err)
		}
		if stationName(m.Station) != tt.station || m.Method != tt.method {
			t.Errorf("MatchLine(%q) = %q by %v, want %q by %v", tt.line, stationName(m.Station), m.Method, tt.station, tt.method)
		}
	}
	m, _ := c.MatchLine("tel:+13125550100")
	if m.Route == nil || m.Route.Classification != ClassLongDistance {
		t.Errorf("route of an outside number: %+v", m.Route)
	}
	if _, err := c.MatchLine("sip:1010@example.com"); !errors.Is(err, ErrBadLineURI) {
		t.Errorf("sip line URI: %v", err)
	}
}
