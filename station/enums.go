package station

import (
	"fmt"
	"strings"
)

// The typed enums of the configuration model. Each has an Unknown zero value
// (so a missing YAML key is detectable), a String method and a parser that
// accepts the documented names case-insensitively.

// UserType is the contact-center user's kind of Lync integration.
type UserType int

// User types. Only RemoteCallControl users may log in through RCC.
const (
	UserTypeUnknown UserType = iota
	UserTypeEnterpriseVoice
	UserTypeRemoteCallControl
	UserTypeIMOnly
)

var userTypeNames = []string{"Unknown", "EnterpriseVoice", "RemoteCallControl", "IMOnly"}

func (t UserType) String() string { return enumName(userTypeNames, int(t)) }

// ParseUserType parses EnterpriseVoice, RemoteCallControl or IMOnly.
func ParseUserType(s string) (UserType, error) {
	i, err := parseEnum("user type", userTypeNames, s)
	return UserType(i), err
}

// AnswerMethod is how the switch makes a ringing phone answer when Lync asks
// (docs/configuration.md, stations[].answer_method).
type AnswerMethod int

// Answer methods.
const (
	AnswerUnknown           AnswerMethod = iota
	AnswerTalkEvent                      // NOTIFY Event: talk
	AnswerUACSTA                         // uaCSTA AnswerCall to the phone
	AnswerAutoAnswerReoffer              // re-offer with Call-Info answer-after=0 / Alert-Info
	AnswerNone                           // the phone cannot be answered remotely
)

var answerMethodNames = []string{"Unknown", "talkEvent", "uaCSTA", "autoAnswerReoffer", "none"}

func (m AnswerMethod) String() string { return enumName(answerMethodNames, int(m)) }

// ParseAnswerMethod parses talkEvent, uaCSTA, autoAnswerReoffer or none.
func ParseAnswerMethod(s string) (AnswerMethod, error) {
	i, err := parseEnum("answer method", answerMethodNames, s)
	return AnswerMethod(i), err
}

// ConnectionKind is how the switch reaches a station's phone.
type ConnectionKind int

// Connection kinds.
const (
	ConnectionUnknown    ConnectionKind = iota
	ConnectionRegistered                // the phone REGISTERs with digest credentials
	ConnectionStatic                    // the phone has a fixed SIP address
)

var connectionKindNames = []string{"Unknown", "registered", "static"}

func (k ConnectionKind) String() string { return enumName(connectionKindNames, int(k)) }

// ParseConnectionKind parses registered or static.
func ParseConnectionKind(s string) (ConnectionKind, error) {
	i, err := parseEnum("connection kind", connectionKindNames, s)
	return ConnectionKind(i), err
}

// Transport is a SIP transport.
type Transport int

// Transports.
const (
	TransportUnknown Transport = iota
	TransportUDP
	TransportTCP
	TransportTLS
)

var transportNames = []string{"Unknown", "udp", "tcp", "tls"}

func (t Transport) String() string { return enumName(transportNames, int(t)) }

// ParseTransport parses udp, tcp or tls.
func ParseTransport(s string) (Transport, error) {
	i, err := parseEnum("transport", transportNames, s)
	return Transport(i), err
}

// UserState is a contact-center user's RCC state.
type UserState int

// User states. UserStateUnknown is returned for a user ID not in the configuration.
const (
	UserStateUnknown UserState = iota
	UserStateLoggedOut
	UserStateLoggedInToRCC
)

var userStateNames = []string{"Unknown", "LoggedOut", "LoggedInToRCC"}

func (s UserState) String() string { return enumName(userStateNames, int(s)) }

// ParseUserState parses LoggedOut or LoggedInToRCC.
func ParseUserState(s string) (UserState, error) {
	i, err := parseEnum("user state", userStateNames, s)
	return UserState(i), err
}

func enumName(names []string, i int) string {
	if i <= 0 || i >= len(names) {
		return names[0]
	}
	return names[i]
}

// parseEnum finds s among names[1:], ignoring case and the separators
// '-', '_' and ' ' (so "long distance" finds LongDistance).
func parseEnum(what string, names []string, s string) (int, error) {
	key := foldName(s)
	for i := 1; i < len(names); i++ {
		if foldName(names[i]) == key {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want one of %s)", what, s, strings.Join(names[1:], ", "))
}

func foldName(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.TrimSpace(s)))
}
