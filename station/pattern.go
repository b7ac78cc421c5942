package station

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPatternLen bounds patterns and templates; real ones are a few dozen bytes.
const maxPatternLen = 256

// Pattern is a compiled dial-plan input pattern in the syntax of the
// administrator's guide (docs/dialplan.md): X any digit, N a digit 2–9,
// Z one or more characters up to the end, ? one or more characters other
// than '@', a run of $ one entry of the rule's list, "…" literal text, and
// every other character literal (letters case-insensitive). A pattern must
// match the whole input.
type Pattern struct {
	src  string
	re   *regexp.Regexp
	wild []wildcard // one per wildcard character, in order
	// prefix and required let Match refuse most inputs without the
	// regexp, which tries every rule in order on each MakeCall: prefix is
	// the pattern's leading literal text (lower case), as long as no
	// character of it has a case-fold partner outside ASCII ('k' and
	// 's' do: U+212A, U+017F); required holds the ASCII characters
	// without case that the pattern has anywhere as literals.
	prefix   string
	required string
}

// wildcard is one wildcard character of a pattern and where its match is.
type wildcard struct {
	kind   byte // 'X', 'N', 'Z', '?' or '$'
	group  int  // regexp submatch index
	offset int  // for '$': the character's position in its run; otherwise -1
}

// CompilePattern compiles an input pattern. list holds the entries a run of
// '$' may stand for (the guide's "Add Many" lists, e.g. toll-free area codes);
// it must be given if and only if the pattern has a '$'.
func CompilePattern(pattern string, list []string) (*Pattern, error) {
	if err := checkText(pattern); err != nil {
		return nil, err
	}
	p := &Pattern{src: pattern}
	var re strings.Builder
	re.WriteString(`^(?is:`)
	group := 0
	dollarRun := 0
	var prefix, required []byte
	inPrefix := true
	literal := func(text string) {
		for _, r := range text {
			if inPrefix && asciiFold(r) {
				prefix = append(prefix, lowerASCII(byte(r)))
			} else {
				inPrefix = false
			}
			if r < utf8.RuneSelf && unicode.SimpleFold(r) == r && !slices.Contains(required, byte(r)) {
				required = append(required, byte(r))
			}
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch c {
		case '"':
			end := strings.IndexByte(pattern[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quoted literal at offset %d", ErrBadPattern, i)
			}
			re.WriteString(regexp.QuoteMeta(pattern[i+1 : i+1+end]))
			literal(pattern[i+1 : i+1+end])
			i += end + 2
			continue
		case 'X', 'x':
			group++
			re.WriteString(`([0-9])`)
			p.wild = append(p.wild, wildcard{kind: 'X', group: group, offset: -1})
		case 'N', 'n':
			group++
			re.WriteString(`([2-9])`)
			p.wild = append(p.wild, wildcard{kind: 'N', group: group, offset: -1})
		case 'Z', 'z':
			if i != len(pattern)-1 {
				return nil, fmt.Errorf("%w: Z must be the last character", ErrBadPattern)
			}
			group++
			re.WriteString(`(.+)`)
			p.wild = append(p.wild, wildcard{kind: 'Z', group: group, offset: -1})
		case '?':
			group++
			re.WriteString(`([^@]+)`)
			p.wild = append(p.wild, wildcard{kind: '?', group: group, offset: -1})
		case '$':
			n := len(pattern[i:]) - len(strings.TrimLeft(pattern[i:], "$"))
			if dollarRun != 0 && n != dollarRun {
				return nil, fmt.Errorf("%w: runs of $ have different lengths (%d and %d)", ErrBadPattern, dollarRun, n)
			}
			dollarRun = n
			group++
			re.WriteString(`(`)
			for j, e := range list {
				if j > 0 {
					re.WriteByte('|')
				}
				re.WriteString(regexp.QuoteMeta(e))
			}
			re.WriteString(`)`)
			for k := range n {
				p.wild = append(p.wild, wildcard{kind: '$', group: group, offset: k})
			}
			i += n
			continue
		case '{', '}':
			return nil, fmt.Errorf("%w: braces are for {n} ordinals in templates, not in patterns", ErrBadPattern)
		default:
			_, size := utf8.DecodeRuneInString(pattern[i:])
			re.WriteString(regexp.QuoteMeta(pattern[i : i+size]))
			literal(pattern[i : i+size])
			i += size
			continue
		}
		inPrefix = false // a wildcard
		i++
	}
	re.WriteString(`)$`)
	p.prefix, p.required = string(prefix), string(required)
	if err := checkList(list, dollarRun); err != nil {
		return nil, err
	}
	compiled, err := regexp.Compile(re.String())
	if err != nil { // not expected: every piece is quoted or fixed
		return nil, fmt.Errorf("%w: %v", ErrBadPattern, err)
	}
	p.re = compiled
	return p, nil
}

// checkText rejects empty, over-long, non-UTF-8 text and text with spaces or
// control characters, for patterns and templates alike.
func checkText(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrBadPattern)
	case len(s) > maxPatternLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrBadPattern, maxPatternLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadPattern)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: contains space or control character %q", ErrBadPattern, r)
		}
	}
	return nil
}

// checkList validates the $ list against the length of the pattern's $ runs
// (0: the pattern has none).
func checkList(list []string, run int) error {
	switch {
	case run == 0 && len(list) > 0:
		return fmt.Errorf("%w: a list is given but the pattern has no $", ErrBadPattern)
	case run > 0 && len(list) == 0:
		return fmt.Errorf("%w: the pattern has $ but no list to draw from", ErrBadPattern)
	}
	for _, e := range list {
		if len(e) != run || !isDigits(e) {
			return fmt.Errorf("%w: list entry %q is not %d digits like the $ run", ErrBadPattern, e, run)
		}
	}
	return nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Wildcards returns the pattern's wildcard characters in order, e.g. "XXXZ"
// for +1317555XXXZ.
func (p *Pattern) Wildcards() string { return wildKinds(p.wild) }

// Match matches s as a whole. On success it returns what each wildcard
// character matched, in order (one entry per X, N or $; the rest for Z or ?).
func (p *Pattern) Match(s string) ([]string, bool) {
	if !p.mayMatch(s) {
		return nil, false
	}
	m := p.re.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	values := make([]string, len(p.wild))
	for i, w := range p.wild {
		if w.offset >= 0 {
			values[i] = m[w.group][w.offset : w.offset+1]
		} else {
			values[i] = m[w.group]
		}
	}
	return values, true
}

// mayMatch is false when s cannot match: it lacks the literal prefix or
// one of the required characters.
func (p *Pattern) mayMatch(s string) bool {
	if len(s) < len(p.prefix) {
		return false
	}
	for i := 0; i < len(p.prefix); i++ {
		if lowerASCII(s[i]) != p.prefix[i] {
			return false
		}
	}
	for i := 0; i < len(p.required); i++ {
		if strings.IndexByte(s, p.required[i]) < 0 {
			return false
		}
	}
	return true
}

// asciiFold reports whether r and every rune that case-folds to it
// (unicode.SimpleFold's orbit, what the regexp's (?i) matches) are ASCII.
func asciiFold(r rune) bool {
	if r >= utf8.RuneSelf {
		return false
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func wildKinds(ws []wildcard) string {
	b := make([]byte, len(ws))
	for i, w := range ws {
		b[i] = w.kind
	}
	return string(b)
}

// template is a compiled output template (standardized number, dial string):
// literal text, wildcard characters that take the pattern's matches in order,
// and {n} / {n-m} ordinals that pick the n-th (to m-th) match.
type template struct {
	src   string
	parts []tpart
}

type tpart struct {
	lit      string
	seq      int // index into the pattern's matches for a wildcard character, or -1
	from, to int // 0-based inclusive ordinal range, or -1
}

// compileTemplate compiles src against pattern p. Following the guide, if
// the template uses wildcard characters they must be exactly the pattern's
// wildcard characters, in the same order; ordinals may pick any subset.
func compileTemplate(src string, p *Pattern) (*template, error) {
	if err := checkText(src); err != nil {
		return nil, err
	}
	t := &template{src: src}
	var kinds []byte
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			end := strings.IndexByte(src[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quoted literal at offset %d", ErrBadPattern, i)
			}
			t.parts = append(t.parts, tpart{lit: src[i+1 : i+1+end], seq: -1, from: -1})
			i += end + 2
		case c == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated {ordinal} at offset %d", ErrBadPattern, i)
			}
			from, to, err := parseOrdinal(src[i+1:i+end], len(p.wild))
			if err != nil {
				return nil, err
			}
			t.parts = append(t.parts, tpart{seq: -1, from: from, to: to})
			i += end + 1
		case c == '}':
			return nil, fmt.Errorf("%w: unmatched } at offset %d", ErrBadPattern, i)
		case strings.IndexByte("XxNnZz?$", c) >= 0:
			k := c
			if 'a' <= k && k <= 'z' {
				k -= 'a' - 'A'
			}
			t.parts = append(t.parts, tpart{seq: len(kinds), from: -1})
			kinds = append(kinds, k)
			i++
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			t.parts = append(t.parts, tpart{lit: src[i : i+size], seq: -1, from: -1})
			i += size
		}
	}
	if len(kinds) > 0 && string(kinds) != p.Wildcards() {
		return nil, fmt.Errorf("%w: wildcards %s differ from the pattern's %s (use them all in order, or {n} ordinals)",
			ErrBadPattern, kinds, orNone(p.Wildcards()))
	}
	return t, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// parseOrdinal parses "n" or "n-m" (1-based) for a pattern with count wildcards.
func parseOrdinal(s string, count int) (from, to int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	from, err1 := strconv.Atoi(a)
	to = from
	var err2 error
	if isRange {
		to, err2 = strconv.Atoi(b)
	}
	switch {
	case err1 != nil || err2 != nil || !isDigits(a) || (isRange && !isDigits(b)):
		return 0, 0, fmt.Errorf("%w: ordinal {%s} is not {n} or {n-m}", ErrBadPattern, s)
	case from < 1 || to < from || to > count:
		return 0, 0, fmt.Errorf("%w: ordinal {%s} is outside 1..%d (the pattern's wildcards)", ErrBadPattern, s, count)
	}
	return from - 1, to - 1, nil
}

// expand fills the template with a pattern's matches.
func (t *template) expand(values []string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.seq >= 0:
			b.WriteString(values[p.seq])
		case p.from >= 0:
			for _, v := range values[p.from : p.to+1] {
				b.WriteString(v)
			}
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
