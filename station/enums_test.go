package station

import "testing"

// TestEnums: every enum round-trips through String and its parser, has an
// Unknown zero value, and refuses unknown names.
func TestEnums(t *testing.T) {
	type enum struct {
		names []string
		str   func(int) string
		parse func(string) (int, error)
	}
	enums := map[string]enum{
		"UserType": {userTypeNames, func(i int) string { return UserType(i).String() },
			func(s string) (int, error) { v, err := ParseUserType(s); return int(v), err }},
		"AnswerMethod": {answerMethodNames, func(i int) string { return AnswerMethod(i).String() },
			func(s string) (int, error) { v, err := ParseAnswerMethod(s); return int(v), err }},
		"ConnectionKind": {connectionKindNames, func(i int) string { return ConnectionKind(i).String() },
			func(s string) (int, error) { v, err := ParseConnectionKind(s); return int(v), err }},
		"Transport": {transportNames, func(i int) string { return Transport(i).String() },
			func(s string) (int, error) { v, err := ParseTransport(s); return int(v), err }},
		"UserState": {userStateNames, func(i int) string { return UserState(i).String() },
			func(s string) (int, error) { v, err := ParseUserState(s); return int(v), err }},
		"Classification": {classificationNames, func(i int) string { return Classification(i).String() },
			func(s string) (int, error) { v, err := ParseClassification(s); return int(v), err }},
		"Target": {targetNames, func(i int) string { return Target(i).String() },
			func(s string) (int, error) { v, err := ParseTarget(s); return int(v), err }},
		"MatchMethod": {matchMethodNames, func(i int) string { return MatchMethod(i).String() },
			func(s string) (int, error) { v, err := ParseMatchMethod(s); return int(v), err }},
	}
	for name, e := range enums {
		if e.str(0) != "Unknown" || e.str(len(e.names)) != "Unknown" || e.str(-1) != "Unknown" {
			t.Errorf("%s: zero or out-of-range value is not Unknown", name)
		}
		for i := 1; i < len(e.names); i++ {
			s := e.str(i)
			if got, err := e.parse(s); err != nil || got != i {
				t.Errorf("%s: parse(%q) = %d, %v", name, s, got, err)
			}
		}
		for _, bad := range []string{"", "Unknown", "bogus"} {
			if _, err := e.parse(bad); err == nil {
				t.Errorf("%s: parse(%q) accepted", name, bad)
			}
		}
	}
	if c, err := ParseClassification("long distance"); err != nil || c != ClassLongDistance {
		t.Errorf("ParseClassification(long distance) = %v, %v", c, err)
	}
	if m, err := ParseAnswerMethod("TALK_EVENT"); err != nil || m != AnswerTalkEvent {
		t.Errorf("ParseAnswerMethod(TALK_EVENT) = %v, %v", m, err)
	}
}
