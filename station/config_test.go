package station

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

func TestLoadExample(t *testing.T) {
	c := exampleConfig(t)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if !c.Licensing.HasFeature("i3_feature_lync") || c.Licensing.ClientLicenses != 10 || c.ClientLicensesUsed() != 2 {
		t.Errorf("licensing %+v, used %d", c.Licensing, c.ClientLicensesUsed())
	}
	alice := c.UsersByAccount(`example\ALICE`)
	if len(alice) != 1 || alice[0].ID != "alice" || alice[0].Type != UserTypeRemoteCallControl || !alice[0].ClientLicense || alice[0].Extension != "1010" {
		t.Fatalf("alice: %+v", alice)
	}
	s := c.StationByExtension("1020")
	if s == nil || s.Name != "1020" || s.IdentificationAddress != "tel:+13175551020" || !s.Active ||
		s.AnswerMethod != AnswerTalkEvent || s.Connection.Kind != ConnectionRegistered ||
		s.Connection.Username != "1020" || s.Connection.Password != "demo-1020" {
		t.Fatalf("station 1020: %+v", s)
	}
	if c.StationByName("1010") == nil || c.UserByID("bob") == nil {
		t.Error("lookups")
	}
	if c.Trunk.Proxy != "127.0.0.1:5080" || c.Trunk.Transport != TransportUDP {
		t.Errorf("trunk %+v", c.Trunk)
	}
	if strings.Contains(s.Connection.String(), "demo-1020") {
		t.Errorf("Connection.String() shows the password: %s", s.Connection)
	}
}

// TestLoadConfigFromMainFile: the daemon's file has other sections; LoadConfig
// reads only its own.
func TestLoadConfigFromMainFile(t *testing.T) {
	example, err := os.ReadFile("../examples/station.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rccserver.yaml")
	main := "listen:\n  tcp: ':11001'\nsession:\n  keepalive_seconds: 60\nlog: {level: info}\n" + string(example)
	if err := os.WriteFile(path, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 2 || len(c.Stations) != 2 || len(c.DialPlan.Rules) == 0 {
		t.Errorf("loaded %d users, %d stations, %d rules", len(c.Users), len(c.Stations), len(c.DialPlan.Rules))
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("LoadFile of a missing file")
	}
}

// TestEmptyConfig: no sections at all is valid (and warns about the licence).
func TestEmptyConfig(t *testing.T) {
	c := loadYAML(t, "log: {level: debug}\n")
	if len(c.Users)+len(c.Stations)+len(c.DialPlan.Rules) != 0 || c.Trunk.Transport != TransportUDP {
		t.Errorf("%+v", c)
	}
	if _, err := NewService(c).Login(`EXAMPLE\alice`, "tel:+13175551010"); CodeOf(err) != CodeNoFeatureLicense {
		t.Errorf("login: %v", err)
	}
}

const validBase = `licensing: {features: [I3_FEATURE_LYNC], client_licenses: 2}
users:
  - {id: alice, domain_account: 'EXAMPLE\alice', extension: "1010", client_license: true, user_type: RemoteCallControl}
stations:
  - name: "1010"
    extension: "1010"
    identification_address: tel:+13175551010
    connection: {kind: registered, username: "1010", password: secret-1010}
    answer_method: talkEvent
trunk: {proxy: "127.0.0.1:5080", transport: udp}
dialplan:
  rules:
    - {pattern: "+1317555XXXZ", dial_string: XXXZ, classification: Intercom, target: station}
`

// TestValidation: each kind of problem names its key and value.
func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		old  string // replaced in validBase
		new  string
		want string // the problem as printed
	}{
		{"user id missing", "{id: alice, ", "{", `users[0].id: required`},
		{"duplicate user id", "user_type: RemoteCallControl}\n", "user_type: RemoteCallControl}\n  - {id: alice, domain_account: 'EXAMPLE\\al', user_type: IMOnly}\n", `users[1].id "alice": duplicate user ID`},
		{"account missing", `domain_account: 'EXAMPLE\alice', `, "", `users[0].domain_account: required`},
		{"account malformed", `'EXAMPLE\alice'`, `alice@example.com`, `users[0].domain_account "alice@example.com": not DOMAIN\account`},
		{"account with two backslashes", `'EXAMPLE\alice'`, `'A\B\C'`, `users[0].domain_account "A\\B\\C": not DOMAIN\account`},
		{"user extension", `extension: "1010", client`, `extension: "10a0", client`, `users[0].extension "10a0": not digits`},
		{"user type missing", ", user_type: RemoteCallControl}", "}", `users[0].user_type: required`},
		{"user type unknown", "user_type: RemoteCallControl", "user_type: Voice", `users[0].user_type "Voice": unknown`},
		{"station name", `- name: "1010"`, `- name: ""`, `stations[0].name: required`},
		{"station extension", `extension: "1010"` + "\n    identification", `extension: "10a0"` + "\n    identification", `stations[0].extension "10a0": not digits`},
		{"station extension missing", `    extension: "1010"` + "\n    identification", `    identification`, `stations[0].extension: required`},
		{"identification address", "tel:+13175551010\n", "tel:1010;phone-context=dialstring\n", `stations[0].identification_address "tel:1010;phone-context=dialstring": not a tel:+E.164 URI`},
		{"identification address not tel", "tel:+13175551010\n", "\"+13175551010\"\n", `stations[0].identification_address "+13175551010": not a tel:+E.164 URI`},
		{"connection kind missing", "kind: registered, ", "", `stations[0].connection.kind: required`},
		{"connection kind unknown", "kind: registered", "kind: sip", `stations[0].connection.kind "sip": unknown`},
		{"password missing", ", password: secret-1010}", "}", `stations[0].connection.password: required for a registered station`},
		{"username missing", `username: "1010", `, "", `stations[0].connection.username: required`},
		{"static without address", `{kind: registered, username: "1010", password: secret-1010}`, `{kind: static}`, `stations[0].connection.address: required for a static station`},
		{"static address", `{kind: registered, username: "1010", password: secret-1010}`, `{kind: static, address: "192.0.2.1"}`, `stations[0].connection.address "192.0.2.1": not a sip: or sips: URI`},
		{"static with password", `{kind: registered, username: "1010", password: secret-1010}`, `{kind: static, address: "sip:1010@192.0.2.1", password: secret-1010}`, `stations[0].connection.password: only for a registered station`},
		{"answer method", "answer_method: talkEvent", "answer_method: ring", `stations[0].answer_method "ring": unknown`},
		{"answer method missing", "    answer_method: talkEvent\n", "", `stations[0].answer_method: required`},
		{"active not bool", "    answer_method: talkEvent\n", "    answer_method: talkEvent\n    active: maybe\n", `stations[0].active "maybe": not true or false`},
		{"unknown key", "    answer_method: talkEvent\n", "    answer_method: talkEvent\n    answer_mode: none\n", `stations[0]: has invalid keys: answer_mode`},
		{"licence over-allocation", "client_licenses: 2", "client_licenses: 0", `licensing.client_licenses "0": 1 users have client_license: true, more than the licences`},
		{"negative licences", "client_licenses: 2", "client_licenses: -1", `licensing.client_licenses "-1": negative`},
		{"feature name", "features: [I3_FEATURE_LYNC]", "features: [I3_FEATURE_LYNC, \"\"]", `licensing.features[1]: not a licence name`},
		{"trunk proxy", `proxy: "127.0.0.1:5080"`, `proxy: "127.0.0.1"`, `trunk.proxy "127.0.0.1": not host:port`},
		{"trunk port", `proxy: "127.0.0.1:5080"`, `proxy: "127.0.0.1:65536"`, `trunk.proxy "127.0.0.1:65536": not host:port`},
		{"trunk transport", "transport: udp", "transport: sctp", `trunk.transport "sctp": unknown`},
		{"pattern missing", `{pattern: "+1317555XXXZ", `, "{", `dialplan.rules[0].pattern: required`},
		{"pattern", `"+1317555XXXZ"`, `"+1317555ZXXX"`, `dialplan.rules[0].pattern "+1317555ZXXX": Z must be the last character`},
		{"dial string", "dial_string: XXXZ", "dial_string: XXXX", `dialplan.rules[0].dial_string "XXXX": wildcards XXXX differ from the pattern's XXXZ`},
		{"standardized", "dial_string: XXXZ", "standardized: \"{9}\"", `dialplan.rules[0].standardized "{9}": ordinal {9} is outside 1..4`},
		{"classification", "classification: Intercom", "classification: Internal", `dialplan.rules[0].classification "Internal": unknown`},
		{"classification missing", "classification: Intercom, ", "", `dialplan.rules[0].classification: required`},
		{"target", "target: station", "target: phone", `dialplan.rules[0].target "phone": unknown`},
		{"list entry", `{pattern: "+1317555XXXZ"`, `{pattern: "+1$$$Z", list: ["800", "8x8"]`, `dialplan.rules[0].list[1] "8x8": not digits as long as list[0]`},
		{"list without $", `{pattern: "+1317555XXXZ"`, `{pattern: "+1317555XXXZ", list: ["800"]`, `dialplan.rules[0].pattern "+1317555XXXZ": a list is given but the pattern has no $`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadYAML(strings.NewReader(edit(t, validBase, tt.old, tt.new)))
			if err == nil {
				t.Fatalf("loaded; want %s", tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("errors.Is(ErrInvalidConfig) = false for %v", err)
			}
			found := false
			for _, p := range Problems(err) {
				if strings.HasPrefix(p.Error(), tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems:\n%v\nwant one starting %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-1010") {
				t.Errorf("a problem shows the password: %v", err)
			}
		})
	}
}

func TestValidationTrunkNeeded(t *testing.T) {
	_, err := LoadYAML(strings.NewReader("dialplan:\n  rules:\n    - {pattern: \"+Z\", classification: International, target: trunk}\n"))
	if err == nil || err.Error() != "trunk.proxy: required: dialplan.rules[0] sends calls to the trunk" {
		t.Errorf("err = %v", err)
	}
}

// TestValidationCollectsAll: every problem is reported, not only the first.
func TestValidationCollectsAll(t *testing.T) {
	text := `licensing: {client_licenses: 0}
users:
  - {id: alice, domain_account: 'EXAMPLE\alice', client_license: true, user_type: Robot}
  - {id: alice, domain_account: nobody, user_type: IMOnly}
stations:
  - {name: a, extension: "1010", connection: {kind: registered, username: a, password: p}, answer_method: talkEvent}
  - {name: a, extension: "1010", connection: {kind: registered, username: a, password: p}, answer_method: talkEvent}
  - {name: c, extension: "10a0", connection: {kind: registered, username: c, password: p}, answer_method: talkEvent}
dialplan:
  rules:
    - {pattern: "XZX", classification: Nope, target: trunk}
`
	_, err := LoadYAML(strings.NewReader(text))
	want := []string{
		`users[0].user_type "Robot": unknown`,
		`users[1].id "alice": duplicate user ID`,
		`users[1].domain_account "nobody": not DOMAIN\account`,
		`stations[1].name "a": duplicate station name`,
		`stations[1].extension "1010": also the extension of station "a"`,
		`stations[2].extension "10a0": not digits`,
		`licensing.client_licenses "0": 1 users have client_license: true`,
		`dialplan.rules[0].pattern "XZX": Z must be the last character`,
		`dialplan.rules[0].classification "Nope": unknown`,
		`trunk.proxy: required: dialplan.rules[0] sends calls to the trunk`,
	}
	problems := Problems(err)
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			found = found || strings.HasPrefix(p.Error(), w)
		}
		if !found {
			t.Errorf("missing %s", w)
		}
	}
}

func TestProblemsOfNil(t *testing.T) {
	if Problems(nil) != nil {
		t.Error("Problems(nil)")
	}
}

// TestLoadConfigOverrides: environment variables override the scalar keys of
// licensing and trunk, as for the daemon's other sections.
func TestLoadConfigOverrides(t *testing.T) {
	t.Setenv("RCC_TRUNK_PROXY", "192.0.2.9:5060")
	t.Setenv("RCC_LICENSING_CLIENT_LICENSES", "20")
	v := viper.New()
	v.SetEnvPrefix("RCC")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetConfigFile("../examples/station.yaml")
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	v.Set("trunk.transport", "tcp") // as a flag would
	c, err := LoadConfig(v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trunk.Proxy != "192.0.2.9:5060" || c.Trunk.Transport != TransportTCP || c.Licensing.ClientLicenses != 20 ||
		!c.Licensing.HasFeature(FeatureLync) {
		t.Errorf("trunk %+v, licensing %+v", c.Trunk, c.Licensing)
	}
	t.Setenv("RCC_LICENSING_CLIENT_LICENSES", "ten")
	_, err = LoadConfig(v)
	if p := Problems(err); len(p) != 1 || p[0].Error() != `licensing.client_licenses "ten": not a whole number` {
		t.Errorf("problems %q", p)
	}
}
