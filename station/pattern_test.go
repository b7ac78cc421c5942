package station

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		list    []string
		input   string
		want    []string // nil: no match
	}{
		{"+1317555XXXZ", nil, "+13175551010", []string{"1", "0", "1", "0"}},
		{"+1317555XXXZ", nil, "+1317555101", nil}, // Z needs one character
		{"+1317555XXXZ", nil, "+131755510100", []string{"1", "0", "1", "00"}},
		{"+13175559XXX", nil, "+13175559123", []string{"1", "2", "3"}},
		{"+13175559XXX", nil, "+131755591234", nil}, // whole input
		{"NXXXXXXXXXXZ", nil, "4930123456789", []string{"4", "9", "3", "0", "1", "2", "3", "4", "5", "6", "7", "89"}},
		{"NXXXXXXXXXXZ", nil, "1930123456789", nil}, // N is 2-9
		{"Nxxxxxxxxxxz", nil, "4930123456789", []string{"4", "9", "3", "0", "1", "2", "3", "4", "5", "6", "7", "89"}},
		{"+1$$$NxxXXXZ", []string{"800", "888"}, "+18885551234", []string{"8", "8", "8", "5", "5", "5", "1", "2", "3", "4"}},
		{"+1$$$NxxXXXZ", []string{"800", "888"}, "+18775551234", nil},
		{"+1$$$NxxXXXZ", []string{"800"}, "+18001551234", nil}, // N
		{"sip:Z", nil, "sip:bob@example.com", []string{"bob@example.com"}},
		{"sip:Z", nil, "SIP:bob@example.com", []string{"bob@example.com"}}, // literal letters ignore case
		{"sip:Z", nil, "sip:", nil},
		{"tel:Z", nil, "tel:12;phone-context=example.com", []string{"12;phone-context=example.com"}},
		{"?@Z", nil, "alice@example.com", []string{"alice", "example.com"}},
		{"?@Z", nil, "@example.com", nil},
		{"?@Z", nil, "sip:alice@example.com", []string{"sip:alice", "example.com"}},
		{"911", nil, "911", []string{}},
		{"911", nil, "9110", nil},
		{`sip:"?"@"inin.com"`, nil, "sip:?@inin.com", []string{}}, // quoted literals
		{`sip:"?"@"inin.com"`, nil, "sip:x@inin.com", nil},
		{"1.2", nil, "1x2", nil},   // '.' is literal, not a regexp dot
		{"XXXX", nil, "١٢٣٤", nil}, // Arabic-Indic digits are not X
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern, tt.list)
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", tt.pattern, err)
		}
		got, ok := p.Match(tt.input)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("%q.Match(%q) = %q, %v; want %q", tt.pattern, tt.input, got, ok, tt.want)
		}
	}
}

func TestCompilePatternErrors(t *testing.T) {
	tests := []struct {
		pattern string
		list    []string
		problem string
	}{
		{"", nil, "empty"},
		{"+1 317", nil, "space"},
		{"XZX", nil, "Z must be the last"},
		{`sip:"abc`, nil, "unterminated"},
		{"{1}", nil, "braces"},
		{"+1$$$Z", nil, "no list"},
		{"+1XXXZ", []string{"800"}, "no $"},
		{"+1$$$Z", []string{"80"}, "not 3 digits"},
		{"+1$$$N$$Z", []string{"800"}, "different lengths"},
		{strings.Repeat("X", maxPatternLen+1), nil, "longer than"},
		{"\xff", nil, "UTF-8"},
	}
	for _, tt := range tests {
		_, err := CompilePattern(tt.pattern, tt.list)
		if err == nil || !errors.Is(err, ErrBadPattern) || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("CompilePattern(%q, %q) = %v, want %q", tt.pattern, tt.list, err, tt.problem)
		}
	}
}

func TestTemplates(t *testing.T) {
	tests := []struct {
		pattern, template, input, want string
		problem                        string
	}{
		{"+1317555XXXZ", "XXXZ", "+13175551010", "1010", ""},
		{"+1317555XXXZ", "xxxz", "+13175551010", "1010", ""}, // lower case is the same wildcard
		{"+1317555XXXZ", "{1-4}", "+13175551010", "1010", ""},
		{"+1317555XXXZ", "9{4}{3}", "+13175551010", "901", ""},
		{"+1$$$NxxXXXZ", "1$$$NxxXXXZ", "+18005551234", "18005551234", ""},
		{"?@Z", "sip:?@Z", "alice@example.com", "sip:alice@example.com", ""},
		{"?@Z", `"sips"://Z`, "alice@example.com", "", "differ"},
		{"XXXX", `"Xtn"{1-4}`, "1010", "Xtn1010", ""},
		{"+1317555XXXZ", "XXXX", "", "", "wildcards XXXX differ from the pattern's XXXZ"},
		{"+1317555XXXZ", "XXX", "", "", "differ"},
		{"911", "X", "", "", "(none)"},
		{"+1317555XXXZ", "{5}", "", "", "outside 1..4"},
		{"+1317555XXXZ", "{0}", "", "", "outside"},
		{"+1317555XXXZ", "{2-1}", "", "", "outside"},
		{"+1317555XXXZ", "{a}", "", "", "not {n}"},
		{"+1317555XXXZ", "{1", "", "", "unterminated"},
		{"+1317555XXXZ", "1}", "", "", "unmatched"},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern, []string{"800"}[:strings.Count(tt.pattern, "$")/3])
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := compileTemplate(tt.template, p)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("template %q for %q: err %v, want %q", tt.template, tt.pattern, err, tt.problem)
			}
			continue
		}
		if err != nil {
			t.Fatalf("template %q: %v", tt.template, err)
		}
		values, ok := p.Match(tt.input)
		if !ok {
			t.Fatalf("%q does not match %q", tt.pattern, tt.input)
		}
		if got := tpl.expand(values); got != tt.want {
			t.Errorf("template %q on %q = %q, want %q", tt.template, tt.input, got, tt.want)
		}
	}
}

// TestPatternPrefilter: Match's check before the regexp refuses only what
// the regexp refuses, including letters whose case partner is not ASCII
// (the regexp's (?i) matches U+017F to s and U+212A to k).
func TestPatternPrefilter(t *testing.T) {
	tests := []struct {
		pattern, input string
		want           bool
	}{
		{"sip:Z", "SIP:alice", true},
		{"sip:Z", "\u017fip:alice", true},
		{"sip:Z", "sips:alice", false},
		{"kx", "\u212a1", true},
		{"Tel:Z", "tEL:5", true},
		{"+1317555XXXZ", "+13175551020", true},
		{"+1317555XXXZ", "+13175591020", false},
		{"?@Z", "+13175551020", false},
		{"?@Z", "bob@example.com", true},
		{`"+"1XXX`, "+1234", true},
		{`"+"1XXX`, "1234", false},
		{"XX-X", "12-3", true},
		{"XX-X", "1213", false},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern, nil)
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", tt.pattern, err)
		}
		_, ok := p.Match(tt.input)
		if ok != tt.want || p.re.MatchString(tt.input) != tt.want {
			t.Errorf("%q.Match(%q) = %v, regexp %v; want %v (prefix %q, required %q)", tt.pattern, tt.input, ok, p.re.MatchString(tt.input), tt.want, p.prefix, p.required)
		}
	}
}

// BenchmarkResolve: the dial plan of examples/station.yaml on the number a
// MakeCall of the load dials (its fifth rule matches).
func BenchmarkResolve(b *testing.B) {
	dp := exampleConfig(b).DialPlan
	b.ReportAllocs()
	for b.Loop() {
		if r, err := dp.Resolve("+13175551020"); err != nil || r.DialString != "1020" {
			b.Fatalf("%+v %v", r, err)
		}
	}
}
