package station

import (
	"errors"
	"testing"
)

// loginAll logs alice in to 1010, bob to 1020 and frank to a remote number.
func loginAll(t *testing.T, s *Service) (alice, bob, frank *Login) {
	t.Helper()
	var err error
	if alice, err = s.Login(`EXAMPLE\alice`, "tel:+13175551010"); err != nil {
		t.Fatal(err)
	}
	if bob, err = s.Login(`EXAMPLE\bob`, "tel:+13175551020"); err != nil {
		t.Fatal(err)
	}
	if frank, err = s.Login(`EXAMPLE\frank`, "tel:+13125550100"); err != nil {
		t.Fatal(err)
	}
	return alice, bob, frank
}

func ended(l *Login) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

func TestReload(t *testing.T) {
	base := readTestdata(t, "login.yaml")
	station1020 := `  - name: "1020"
    extension: "1020"
    identification_address: tel:+13175551020
    connection: {kind: registered, username: "1020", password: demo-1020}
    answer_method: uaCSTA
`
	tests := []struct {
		name     string
		edit     func(string) string
		endAlice LogCode // "": alice's login stays
		endBob   LogCode
		endFrank LogCode
	}{
		{"nothing changed", func(s string) string { return s }, "", "", ""},
		{"station removed", func(s string) string { return edit(t, s, station1020, "") }, "", CodeStationNotFound, ""},
		{"station made inactive", func(s string) string {
			return edit(t, s, "answer_method: uaCSTA\n", "answer_method: uaCSTA\n    active: false\n")
		}, "", CodeStationInactive, ""},
		{"client licence withdrawn", func(s string) string {
			return edit(t, s, `'EXAMPLE\alice', extension: "1010", client_license: true`, `'EXAMPLE\alice', extension: "1010", client_license: false`)
		}, CodeNoClientLicense, "", ""},
		{"feature licence withdrawn", func(s string) string {
			return edit(t, s, "features: [I3_FEATURE_LYNC]", "features: []")
		}, CodeNoFeatureLicense, CodeNoFeatureLicense, CodeNoFeatureLicense},
		{"user removed", func(s string) string {
			return edit(t, s, `  - {id: bob, domain_account: 'EXAMPLE\bob', extension: "1020", client_license: true, user_type: RemoteCallControl}`+"\n", "")
		}, "", CodeNoCicUser, ""},
		{"user type changed", func(s string) string {
			return edit(t, s, `extension: "1020", client_license: true, user_type: RemoteCallControl`, `extension: "1020", client_license: true, user_type: IMOnly`)
		}, "", CodeNotRccUser, ""},
		{"remote-number logon withdrawn", func(s string) string {
			return edit(t, s, "remote_number_logon: true", "remote_number_logon: false")
		}, "", "", CodeStationNotFound},
		{"line URI now names another station", func(s string) string {
			return edit(t, edit(t, s, "identification_address: tel:+13175551020", "identification_address: tel:+13175551099"),
				`name: lobby`+"\n    extension: \"1040\"", `name: lobby`+"\n    extension: \"1040\"\n    identification_address: tel:+13175551020")
		}, "", CodeStationNotFound, ""},
		{"remote number became a station", func(s string) string {
			return edit(t, s, "identification_address: tel:+13175551020", "identification_address: tel:+13125550100")
		}, "", "", CodeStationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewService(loadYAML(t, base))
			alice, bob, frank := loginAll(t, s)
			got := s.Replace(loadYAML(t, tt.edit(base)))
			want := 0
			for _, c := range []struct {
				who  string
				l    *Login
				code LogCode
			}{{"alice", alice, tt.endAlice}, {"bob", bob, tt.endBob}, {"frank", frank, tt.endFrank}} {
				if c.code == "" {
					if ended(c.l) || c.l.EndReason() != nil {
						t.Errorf("%s: login ended: %v", c.who, c.l.EndReason())
					}
					if s.UserState(c.who) != UserStateLoggedInToRCC {
						t.Errorf("%s: state %v", c.who, s.UserState(c.who))
					}
					continue
				}
				want++
				if !ended(c.l) {
					t.Errorf("%s: login not ended", c.who)
				}
				if CodeOf(c.l.EndReason()) != c.code || !errors.Is(c.l.EndReason(), c.code.Err()) {
					t.Errorf("%s: end reason %v, want %s", c.who, c.l.EndReason(), c.code)
				}
				found := false
				for _, e := range got {
					if e.UserID == c.who && e.Reason.LogCode == c.code && e.LineURI == c.l.LineURI() {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: not in Replace's result %+v", c.who, got)
				}
			}
			if len(got) != want {
				t.Errorf("Replace returned %d ended logins, want %d: %+v", len(got), want, got)
			}
		})
	}
}

// TestReloadKeepsLoginsUpToDate: a login that stays sees the new station
// data, and a station freed by a reload can be logged in to again.
func TestReloadKeepsLoginsUpToDate(t *testing.T) {
	base := readTestdata(t, "login.yaml")
	s := NewService(loadYAML(t, base))
	alice, bob, _ := loginAll(t, s)
	next := edit(t, base, "answer_method: talkEvent", "answer_method: uaCSTA\n    model: VVX 411")
	cfg := loadYAML(t, edit(t, next, "identification_address: tel:+13175551020\n", "identification_address: tel:+13175551020\n    active: false\n"))
	ended := s.Replace(cfg)
	if len(ended) != 1 || ended[0].UserID != "bob" || ended[0].Station != "1020" {
		t.Fatalf("ended %+v", ended)
	}
	if st := alice.Station(); st.Model != "VVX 411" || st.AnswerMethod != AnswerUACSTA {
		t.Errorf("alice's station not updated: %+v", st)
	}
	if s.Config() != cfg {
		t.Error("Config() is not the new configuration")
	}
	s.Logout(bob) // after the reload ended it: no effect
	if _, err := s.Login(`EXAMPLE\bob`, "tel:+13175551020"); CodeOf(err) != CodeStationInactive {
		t.Errorf("login to the inactive station: %v", err)
	}
}
