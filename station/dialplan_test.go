package station

import (
	"errors"
	"strings"
	"testing"
)

// TestExampleDialPlan runs the guide's examples through examples/station.yaml.
func TestExampleDialPlan(t *testing.T) {
	c := exampleConfig(t)
	tests := []struct {
		input        string
		rule         string // pattern of the matching rule
		standardized string
		class        Classification
		dial         string
		target       Target
		station      string
	}{
		{"tel:+13175551010", "+1317555XXXZ", "+13175551010", ClassIntercom, "1010", TargetStation, "1010"},
		{"+1 (317) 555-1020", "+1317555XXXZ", "+13175551020", ClassIntercom, "1020", TargetStation, "1020"},
		{"tel:+13175551030", "+1317555XXXZ", "+13175551030", ClassIntercom, "1030", TargetStation, ""}, // no such station
		{"tel:+13175559123", "+13175559XXX", "+13175559123", ClassLocal, "3175559123", TargetTrunk, ""},
		{"1020", "XXXX", "+13175551020", ClassIntercom, "1020", TargetStation, "1020"},
		{"tel:1010;phone-context=dialstring", "XXXX", "+13175551010", ClassIntercom, "1010", TargetStation, "1010"},
		{"sip:bob@example.com", "sip:Z", "sip:bob@example.com", ClassSIP, "sip:bob@example.com", TargetTrunk, ""},
		{"sips:bob@example.com", "sips:Z", "sips:bob@example.com", ClassSIP, "sips:bob@example.com", TargetTrunk, ""},
		{"bob@example.com", "?@Z", "sip:bob@example.com", ClassSIP, "sip:bob@example.com", TargetTrunk, ""},
		{"tel:5551234;phone-context=example.com", "tel:Z", "tel:5551234;phone-context=example.com", ClassTEL, "tel:5551234;phone-context=example.com", TargetTrunk, ""},
		{"911", "911", "911", ClassEmergency, "911", TargetTrunk, ""},
		{"411", "411", "411", ClassInformation, "411", TargetTrunk, ""},
		{"tel:+18005551234", "+1$$$NxxXXXZ", "+18005551234", ClassTollFree, "18005551234", TargetTrunk, ""},
		{"+1 888 555 1234", "+1$$$NxxXXXZ", "+18885551234", ClassTollFree, "18885551234", TargetTrunk, ""},
		{"+19005551234", "+1$$$NxxXXXZ", "+19005551234", ClassBlocked, "+19005551234", TargetNone, ""},
		{"+13178723000", "+1317NxxXXXZ", "+13178723000", ClassLocal, "3178723000", TargetTrunk, ""},
		{"tel:+12125550100", "+1NxxNxxXXXZ", "+12125550100", ClassLongDistance, "12125550100", TargetTrunk, ""},
		{"12125550100", "1NxxNxxXXXZ", "+12125550100", ClassLongDistance, "12125550100", TargetTrunk, ""},
		{"4930123456789", "NXXXXXXXXXXZ", "+4930123456789", ClassInternational, "0114930123456789", TargetTrunk, ""},
		{"tel:+4930123456", "+Z", "+4930123456", ClassInternational, "0114930123456", TargetTrunk, ""},
		{"hello", "Z", "hello", ClassOther, "hello", TargetNone, ""},
	}
	for _, tt := range tests {
		r, err := c.DialPlan.Resolve(tt.input)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.input, err)
			continue
		}
		got := []any{r.Rule.Pattern.String(), r.Standardized, r.Classification, r.DialString, r.Target, stationName(r.Station)}
		want := []any{tt.rule, tt.standardized, tt.class, tt.dial, tt.target, tt.station}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Resolve(%q) = %v, want %v", tt.input, got, want)
				break
			}
		}
		if r.Input != tt.input {
			t.Errorf("Input = %q", r.Input)
		}
	}
}

// TestFirstMatchWins: the same number reads differently when the order of
// two overlapping rules changes.
func TestFirstMatchWins(t *testing.T) {
	neighbour := "    - {pattern: \"+13175559XXX\", dial_string: 3175559XXX, classification: Local, target: trunk}\n"
	ours := "    - {pattern: \"+1317555XXXZ\", dial_string: XXXZ, classification: Intercom, target: station}\n"
	head := "trunk: {proxy: \"127.0.0.1:5080\"}\ndialplan:\n  rules:\n"
	for _, tt := range []struct {
		rules string
		class Classification
		index int
	}{
		{neighbour + ours, ClassLocal, 0},
		{ours + neighbour, ClassIntercom, 0},
	} {
		c := loadYAML(t, head+tt.rules)
		r, err := c.DialPlan.Resolve("+13175559123")
		if err != nil || r.Classification != tt.class || r.Rule.Index != tt.index {
			t.Errorf("rules\n%s: got %v rule %d (%v), want %v", tt.rules, r.Classification, r.Rule.Index, err, tt.class)
		}
	}
	if w := loadYAML(t, head+ours+ours).Warnings; !strings.Contains(strings.Join(w, "\n"), `dialplan.rules[1].pattern "+1317555XXXZ": never matches`) {
		t.Error("no warning for a rule that can never match")
	}
}

func TestResolveNoRule(t *testing.T) {
	c := loadYAML(t, "dialplan:\n  rules:\n    - {pattern: \"911\", classification: Emergency, target: none}\n")
	r, err := c.DialPlan.Resolve(" 9-1-2 ")
	if !errors.Is(err, ErrNoRule) || r.Normalized != "912" || r.Rule != nil {
		t.Errorf("Resolve = %+v, %v", r, err)
	}
	var nilPlan *DialPlan
	if _, err := nilPlan.Resolve("911"); !errors.Is(err, ErrNoRule) {
		t.Errorf("nil dial plan: %v", err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "I3_FEATURE_LYNC") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"tel:+13175551010":                   "+13175551010",
		"TEL:+1-317-555-1010;ext=1010":       "+13175551010",
		"tel:1010;phone-context=dialstring":  "1010",
		"tel:1010":                           "1010",
		"tel:1010;phone-context=example.com": "tel:1010;phone-context=example.com",
		"tel:garbage":                        "tel:garbage",
		" +1 (317) 555.1010 ":                "+13175551010",
		"sip:+1-317@example.com":             "sip:+1-317@example.com",
		"alice@example.com":                  "alice@example.com",
		"":                                   "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
