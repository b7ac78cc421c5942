package station

import (
	"fmt"
	"strings"
)

// Classification is a dial-plan rule's phone number classification (the
// guide's "Default Classification"), used for dialling privileges.
type Classification int

// Classifications.
const (
	ClassUnknown Classification = iota
	ClassIntercom
	ClassLocal
	ClassLongDistance
	ClassInternational
	ClassEmergency
	ClassInformation
	ClassTollFree
	ClassOperator
	ClassBlocked
	ClassSIP
	ClassTEL
	ClassOther
)

var classificationNames = []string{"Unknown", "Intercom", "Local", "LongDistance", "International",
	"Emergency", "Information", "TollFree", "Operator", "Blocked", "SIP", "TEL", "Other"}

func (c Classification) String() string { return enumName(classificationNames, int(c)) }

// ParseClassification parses a classification name; case, spaces, '-' and
// '_' are ignored ("long distance" is LongDistance).
func ParseClassification(s string) (Classification, error) {
	i, err := parseEnum("classification", classificationNames, s)
	return Classification(i), err
}

// Target is where a resolved number goes.
type Target int

// Targets.
const (
	TargetUnknown Target = iota
	TargetStation        // the dial string is a station extension
	TargetTrunk          // the dial string goes out through the SIP trunk
	TargetNone           // not dialable (blocked numbers)
)

var targetNames = []string{"Unknown", "station", "trunk", "none"}

func (t Target) String() string { return enumName(targetNames, int(t)) }

// ParseTarget parses station, trunk or none.
func ParseTarget(s string) (Target, error) {
	i, err := parseEnum("target", targetNames, s)
	return Target(i), err
}

// Rule is one compiled dial-plan rule.
type Rule struct {
	Index          int    // position in dialplan.rules; the first match wins
	Name           string // as configured, or the pattern
	Pattern        *Pattern
	List           []string // what a run of $ stands for
	Standardized   string   // template as written; "" means the input as matched
	DialString     string   // template as written; "" means the standardized number
	Classification Classification
	Target         Target

	std, dial *template
}

// DialPlan is the ordered list of rules that tells what a number is.
type DialPlan struct {
	Rules []*Rule

	stations map[string]*Station // by extension, for TargetStation results
}

// Result is one resolved number: each step of the dial plan.
type Result struct {
	Input          string   // as given
	Normalized     string   // what the patterns were matched against
	Rule           *Rule    // the rule that matched
	Matches        []string // what each wildcard character of the pattern matched
	Standardized   string
	Classification Classification
	DialString     string
	Target         Target
	Station        *Station // for TargetStation: the station whose extension is DialString, if any
}

// Normalize prepares a number for matching, as the guide strips formatting
// characters: a tel: URI with a global number, phone-context=dialstring or
// no phone-context becomes its number; a plain number loses its visual
// separators; SIP addresses and other tel: URIs are left as written.
func Normalize(input string) string {
	s := strings.TrimSpace(input)
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		u, err := ParseLineURI(s)
		if err == nil && (u.Global() || u.Context == "" || strings.EqualFold(u.Context, "dialstring")) {
			return u.Number
		}
		return s
	}
	if !strings.ContainsAny(s, ":@") {
		return stripVisual(s)
	}
	return s
}

// Resolve runs number through the rules in order; the first whose pattern
// matches the normalised number decides. Without a match it returns ErrNoRule
// and a Result holding only Input and Normalized.
func (d *DialPlan) Resolve(number string) (Result, error) {
	r := Result{Input: number, Normalized: Normalize(number)}
	if d == nil {
		return r, fmt.Errorf("%w %q (empty dial plan)", ErrNoRule, r.Normalized)
	}
	for _, rule := range d.Rules {
		values, ok := rule.Pattern.Match(r.Normalized)
		if !ok {
			continue
		}
		r.Rule, r.Matches = rule, values
		r.Standardized = r.Normalized
		if rule.std != nil {
			r.Standardized = rule.std.expand(values)
		}
		r.DialString = r.Standardized
		if rule.dial != nil {
			r.DialString = rule.dial.expand(values)
		}
		r.Classification, r.Target = rule.Classification, rule.Target
		if r.Target == TargetStation {
			r.Station = d.stations[r.DialString]
		}
		return r, nil
	}
	return r, fmt.Errorf("%w %q", ErrNoRule, r.Normalized)
}
