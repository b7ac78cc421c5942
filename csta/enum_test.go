package csta_test

import (
	"errors"
	"testing"

	. "github.com/rccserver/rccserver/csta"
)

// enumCase round-trips every token of one enumeration through its parser,
// String and MarshalText.
type enumCase struct {
	name   string
	tokens []string
	parse  func(string) (string, error) // returns String() of the parsed value
	zero   string
}

func TestEnums(t *testing.T) {
	cases := []enumCase{
		{"LocalConnectionState", []string{"null", "initiated", "alerting", "connected", "hold", "queued", "fail"},
			func(s string) (string, error) { v, err := ParseLocalConnectionState(s); return v.String(), err },
			LocalConnectionStateUnknown.String()},
		{"SystemStatus", []string{"initializing", "enabled", "normal", "messagesLost", "disabled", "partiallyDisabled",
			"overloadImminent", "overloadReached", "overloadRelieved"},
			func(s string) (string, error) { v, err := ParseSystemStatus(s); return v.String(), err },
			SystemStatusUnknown.String()},
		{"ForwardingType", []string{"forwardImmediate", "forwardBusy", "forwardNoAns", "forwardDND", "forwardBusyInt",
			"forwardBusyExt", "forwardNoAnsInt", "forwardNoAnsExt", "forwardImmInt", "forwardImmExt", "forwardDNDInt", "forwardDNDExt"},
			func(s string) (string, error) { v, err := ParseForwardingType(s); return v.String(), err },
			ForwardingTypeUnknown.String()},
		{"EventCause", []string{"newCall", "normalClearing", "makeCall", "consultation", "transfer", "singleStepTransfer",
			"conference", "redirected", "busy", "destNotObtainable", "callForwardImmediate", "callForwardBusy",
			"callForwardNoAnswer", "doNotDisturb", "normal", "alternate", "unauthorisedBearerService", "interdigitTimeout", "aCDBusy"},
			func(s string) (string, error) { v, err := ParseEventCause(s); return v.String(), err },
			EventCauseUnknown.String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.zero != "Unknown" {
				t.Errorf("zero value prints %q", c.zero)
			}
			for _, tok := range c.tokens {
				got, err := c.parse(tok)
				if err != nil || got != tok {
					t.Errorf("parse(%q) = %q, %v", tok, got, err)
				}
			}
			for _, bad := range []string{"", "Unknown", "NORMAL", "bogus"} {
				if _, err := c.parse(bad); !errors.Is(err, ErrInvalidValue) {
					t.Errorf("parse(%q) err = %v, want ErrInvalidValue", bad, err)
				}
			}
		})
	}
}

func TestEventCauseCount(t *testing.T) {
	// The full ECMA-269 §12.2.15 list: every value parses back to itself.
	n := 0
	for v := EventCause(1); v.String() != "Unknown"; v++ {
		back, err := ParseEventCause(v.String())
		if err != nil || back != v {
			t.Fatalf("%d %q: %v", v, v.String(), err)
		}
		n++
	}
	if n < 120 {
		t.Fatalf("only %d causes", n)
	}
}

func TestEventCauseMisspellingsAccepted(t *testing.T) {
	v, err := ParseEventCause("unauthorizedBeaererService")
	if err != nil || v != CauseUnauthorisedBearerService {
		t.Fatalf("%v %v", v, err)
	}
	b, _ := v.MarshalText()
	if string(b) != "unauthorisedBearerService" {
		t.Fatalf("writes %q", b)
	}
}

func TestUnknownCannotBeWritten(t *testing.T) {
	if _, err := LocalConnectionStateUnknown.MarshalText(); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("err = %v", err)
	}
}
