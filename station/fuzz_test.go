package station

import (
	"strings"
	"testing"
)

// FuzzCompilePattern: compiling any pattern (and the input as a template
// against it) and matching any input must not panic; a match yields one
// value per wildcard, and a compiled template expands.
func FuzzCompilePattern(f *testing.F) {
	for _, s := range [][2]string{
		{"+1317555XXXZ", "+13175551010"}, {"?@Z", "alice@example.com"}, {"+1$$$NxxXXXZ", "+18005551234"},
		{`sip:"?"@"inin.com"`, "sip:?@inin.com"}, {"XZX", "{1-3}"}, {"911", "911"},
		{"sip:Z", "\u017fIP:alice"}, {"Kx", "\u212a1"}, {"tel:Z", "TEL:+1"}, {"a@Z", "A@b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, input string) {
		var list []string
		if n := strings.Count(pattern, "$"); n > 0 && n <= 8 {
			list = []string{strings.Repeat("8", n), strings.Repeat("0", n)}
		}
		p, err := CompilePattern(pattern, list)
		if err != nil {
			return
		}
		values, ok := p.Match(input)
		if ok != p.re.MatchString(input) {
			t.Fatalf("%q on %q: Match %v, the regexp alone %v (prefix %q, required %q)", pattern, input, ok, !ok, p.prefix, p.required)
		}
		if ok && len(values) != len(p.Wildcards()) {
			t.Fatalf("%q on %q: %d values for %d wildcards", pattern, input, len(values), len(p.Wildcards()))
		}
		if tpl, err := compileTemplate(input, p); err == nil {
			_ = tpl.expand(make([]string, len(p.Wildcards())))
		}
	})
}

// FuzzParseLineURI: parsing any line URI must not panic, and a parsed URI
// re-parses from its canonical form to the same number.
func FuzzParseLineURI(f *testing.F) {
	for _, s := range []string{"tel:+13175551010", "tel:1010;phone-context=dialstring", "tel:+13175551010;ext=1010",
		"tel:73124;phone-context=dialstring;partition=BE_BRS_INT", "sip:alice@example.com", "*72#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseLineURI(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(u.Context, ";") {
			return // a context can't be re-serialised unescaped; nothing to compare
		}
		again, err := ParseLineURI(u.String())
		if err != nil || again.Number != u.Number || again.Ext != u.Ext {
			t.Fatalf("%q -> %q -> %+v, %v", s, u.String(), again, err)
		}
		_ = Normalize(s)
	})
}
