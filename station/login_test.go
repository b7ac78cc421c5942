package station

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func newLoginService(t *testing.T) *Service {
	t.Helper()
	return NewService(loadYAML(t, readTestdata(t, "login.yaml")))
}

// TestAdmission covers every admission outcome and its log code
// (docs/station.md "Admission").
func TestAdmission(t *testing.T) {
	tests := []struct {
		name     string
		account  string
		line     string
		code     LogCode
		sentinel error
		station  string // on success: the station, or "" for a remote number
		remote   string // on success: the remote number
	}{
		{"E.164 line URI", `EXAMPLE\alice`, "tel:+13175551010", "", nil, "1010", ""},
		{"dialstring line URI, account case-insensitive", `example\ALICE`, "tel:1010;phone-context=dialstring", "", nil, "1010", ""},
		{"ext parameter", `EXAMPLE\alice`, "tel:+13175559999;ext=1010", "", nil, "1010", ""},
		{"number through the dial plan", `EXAMPLE\alice`, "tel:+13175551040", "", nil, "lobby", ""},
		{"remote-number logon", `EXAMPLE\frank`, "tel:+1 (312) 555-0100", "", nil, "", "+13125550100"},
		{"no user", `EXAMPLE\nobody`, "tel:+13175551010", CodeNoCicUser, ErrNoCicUser, "", ""},
		{"two users with the account", `EXAMPLE\twin`, "tel:+13175551010", CodeAmbiguousCicUser, ErrAmbiguousCicUser, "", ""},
		{"no client licence", `EXAMPLE\carol`, "tel:+13175551010", CodeNoClientLicense, ErrNoClientLicense, "", ""},
		{"IM-only user", `EXAMPLE\dave`, "tel:+13175551010", CodeNotRccUser, ErrNotRccUser, "", ""},
		{"Enterprise Voice user", `EXAMPLE\erin`, "tel:+13175551010", CodeNotRccUser, ErrNotRccUser, "", ""},
		{"inactive station", `EXAMPLE\alice`, "tel:1030;phone-context=dialstring", CodeStationInactive, ErrStationInactive, "", ""},
		{"no station, remote logon off", `EXAMPLE\alice`, "tel:+13125550100", CodeStationNotFound, ErrStationNotFound, "", ""},
		{"extension with no station", `EXAMPLE\alice`, "tel:+13175550199", CodeStationNotFound, ErrStationNotFound, "", ""},
		{"malformed line URI", `EXAMPLE\alice`, "sip:alice@example.com", CodeStationNotFound, ErrStationNotFound, "", ""},
		{"remote number that is an extension without station", `EXAMPLE\frank`, "tel:+13175550199", CodeStationNotFound, ErrStationNotFound, "", ""},
		{"remote number that is blocked", `EXAMPLE\frank`, "tel:+19005550100", CodeStationNotFound, ErrStationNotFound, "", ""},
		{"remote number without rule", `EXAMPLE\frank`, "tel:12;phone-context=dialstring", CodeStationNotFound, ErrStationNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLoginService(t)
			l, err := s.Login(tt.account, tt.line)
			if tt.code != "" {
				if l != nil {
					t.Fatalf("login succeeded: %v", l)
				}
				var le *LoginError
				if !errors.As(err, &le) || le.LogCode != tt.code || le.Code() != string(tt.code) {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				if !errors.Is(err, tt.sentinel) || CodeOf(err) != tt.code {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
				}
				if !strings.HasPrefix(err.Error(), string(tt.code)+": ") {
					t.Errorf("message %q does not start with the code", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if got := stationName(l.Station()); got != tt.station {
				t.Errorf("station = %q, want %q", got, tt.station)
			}
			if got := l.RemoteNumber(); got != tt.remote {
				t.Errorf("remote number = %q, want %q", got, tt.remote)
			}
			if tt.remote != "" && (l.Route().Target != TargetTrunk || l.Route().DialString != tt.remote[1:]) {
				t.Errorf("route = %+v", l.Route())
			}
			if st := s.UserState(l.User().ID); st != UserStateLoggedInToRCC {
				t.Errorf("user state %v", st)
			}
		})
	}
}

func TestNoFeatureLicense(t *testing.T) {
	text := edit(t, readTestdata(t, "login.yaml"), "features: [I3_FEATURE_LYNC]", "features: [I3_FEATURE_OTHER]")
	c := loadYAML(t, text)
	if !strings.Contains(strings.Join(c.Warnings, "\n"), `licensing.features "I3_FEATURE_OTHER": no I3_FEATURE_LYNC`) {
		t.Errorf("warnings %q, want one about licensing.features", c.Warnings)
	}
	_, err := NewService(c).Login(`EXAMPLE\alice`, "tel:+13175551010")
	if CodeOf(err) != CodeNoFeatureLicense || !errors.Is(err, ErrNoFeatureLicense) {
		t.Fatalf("err = %v, want %s", err, CodeNoFeatureLicense)
	}
}

func TestStationInUseByAnotherUser(t *testing.T) {
	s := newLoginService(t)
	alice, err := s.Login(`EXAMPLE\alice`, "tel:+13175551010")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Login(`EXAMPLE\bob`, "tel:1010;phone-context=dialstring")
	var le *LoginError
	if !errors.As(err, &le) || le.LogCode != CodeStationInUseByAnotherUser || le.Holder != "alice" || le.Station != "1010" {
		t.Fatalf("err = %#v, want %s held by alice", err, CodeStationInUseByAnotherUser)
	}
	if !errors.Is(err, ErrStationInUse) {
		t.Errorf("errors.Is(ErrStationInUse) = false")
	}
	if holder, _ := s.StationHolder("1010"); holder != "alice" {
		t.Errorf("holder %q", holder)
	}
	s.Logout(alice)
	if _, err := s.Login(`EXAMPLE\bob`, "tel:+13175551010"); err != nil {
		t.Fatalf("bob after alice logged out: %v", err)
	}
}

// TestSharedLogin: a second Lync endpoint (or a re-INVITE after failover) of
// the same user shares the login; the station is freed when the last leaves.
func TestSharedLogin(t *testing.T) {
	s := newLoginService(t)
	first, err := s.Login(`EXAMPLE\alice`, "tel:+13175551010")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Login(`example\alice`, "tel:+13175551010;ext=1010")
	if err != nil {
		t.Fatal(err)
	}
	if first.Done() != second.Done() {
		t.Fatal("the two holders do not share the login")
	}
	s.Logout(first)
	s.Logout(first) // twice: no effect on the other holder
	select {
	case <-second.Done():
		t.Fatal("login ended while a holder remains")
	default:
	}
	if st := s.UserState("alice"); st != UserStateLoggedInToRCC {
		t.Fatalf("state %v", st)
	}
	s.Logout(second)
	select {
	case <-second.Done():
	default:
		t.Fatal("login still active after the last holder left")
	}
	if !errors.Is(second.EndReason(), ErrLoggedOut) {
		t.Errorf("end reason %v", second.EndReason())
	}
	if st := s.UserState("alice"); st != UserStateLoggedOut {
		t.Errorf("state %v, want LoggedOut", st)
	}
	if st := s.UserState("nobody"); st != UserStateUnknown {
		t.Errorf("state of unknown user %v", st)
	}
	if _, ok := s.StationHolder("1010"); ok {
		t.Error("station still held")
	}
}

func TestRemoteLoginsAreNotExclusive(t *testing.T) {
	text := edit(t, readTestdata(t, "login.yaml"), "user_type: RemoteCallControl, remote_number_logon: true}",
		"user_type: RemoteCallControl, remote_number_logon: true}\n  - {id: gina, domain_account: 'EXAMPLE\\gina', client_license: true, user_type: RemoteCallControl, remote_number_logon: true}")
	s := NewService(loadYAML(t, text))
	f, err := s.Login(`EXAMPLE\frank`, "tel:+13125550100")
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Login(`EXAMPLE\gina`, "tel:+13125550100")
	if err != nil {
		t.Fatalf("a shared home number: %v", err)
	}
	if f.Done() == g.Done() {
		t.Error("two users share one login")
	}
	if got := f.String(); got != "frank on remote number +13125550100" {
		t.Errorf("String() = %q", got)
	}
}

// TestLoginRace: many users log in to one station at once; exactly one wins.
func TestLoginRace(t *testing.T) {
	const n = 64
	var b strings.Builder
	fmt.Fprintf(&b, "licensing: {features: [I3_FEATURE_LYNC], client_licenses: %d}\nusers:\n", n)
	for i := range n {
		fmt.Fprintf(&b, "  - {id: u%d, domain_account: 'EXAMPLE\\u%d', client_license: true, user_type: RemoteCallControl}\n", i, i)
	}
	b.WriteString(`stations:
  - {name: "1010", extension: "1010", identification_address: "tel:+13175551010", answer_method: talkEvent,
     connection: {kind: registered, username: "1010", password: x}}
`)
	s := NewService(loadYAML(t, b.String()))
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		errs   = make([]error, n)
		logins = make([]*Login, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			logins[i], errs[i] = s.Login(fmt.Sprintf(`EXAMPLE\u%d`, i), "tel:+13175551010")
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if holder, _ := s.StationHolder("1010"); holder != fmt.Sprintf("u%d", i) {
				t.Errorf("winner u%d, holder %s", i, holder)
			}
		case CodeOf(err) != CodeStationInUseByAnotherUser:
			t.Errorf("u%d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners, want 1", winners)
	}
}

func TestLogCodes(t *testing.T) {
	for code := range codeSentinels {
		got, err := ParseLogCode(strings.ToLower(string(code)))
		if err != nil || got != code || code.String() != string(code) {
			t.Errorf("ParseLogCode(%q) = %v, %v", code, got, err)
		}
	}
	if _, err := ParseLogCode("Cs_Nope"); err == nil {
		t.Error("ParseLogCode accepted Cs_Nope")
	}
	if LogCodeUnknown.String() != "Unknown" || LogCodeUnknown.Err() != nil || CodeOf(errors.New("x")) != LogCodeUnknown {
		t.Error("unknown log code")
	}
}
