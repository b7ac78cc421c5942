package station

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// FeatureLync is the feature licence the server needs for RCC (the guide:
// "the Lync RCC implementation now checks for this license").
const FeatureLync = "I3_FEATURE_LYNC"

// Config is the contact-center side of the configuration: the users,
// stations, licensing, trunk and dial plan sections of the YAML file,
// validated and indexed. A Config is immutable once loaded; a reload builds
// a new one and hands it to (*Service).Replace.
type Config struct {
	Users     []*User
	Stations  []*Station
	Licensing Licensing
	Trunk     Trunk
	DialPlan  *DialPlan
	// Warnings are problems that do not stop loading (e.g. two users with
	// one domain account: only their logins are refused).
	Warnings []string

	usersByID      map[string]*User
	usersByAccount map[string][]*User // by lower-cased domain account
	stationsByName map[string]*Station
	stationsByExt  map[string]*Station
	stationsByAddr map[string]*Station // by the identification address's number ("+1317…")
}

// User is a contact-center (CIC) user.
type User struct {
	ID                string
	DisplayName       string
	DomainAccount     string // DOMAIN\account, compared case-insensitively
	Extension         string
	ClientLicense     bool
	Type              UserType
	RemoteNumberLogon bool // the user may log on to a number that is not a station
}

// Station is a phone the switch controls.
type Station struct {
	Name                  string
	Extension             string
	IdentificationAddress string // "tel:+13175551010", or ""
	Connection            Connection
	Manufacturer          string
	Model                 string
	AnswerMethod          AnswerMethod
	Active                bool
}

// Connection is how the switch reaches a station's phone.
type Connection struct {
	Kind     ConnectionKind
	Username string // registered: digest user name
	Password string // registered: digest password (never printed)
	Address  string // static: SIP address, e.g. "sip:1030@192.0.2.30:5060"
}

// String describes the connection without its password.
func (c Connection) String() string {
	if c.Kind == ConnectionStatic {
		return "static " + c.Address
	}
	return fmt.Sprintf("%s username=%q password=[redacted]", c.Kind, c.Username)
}

// Licensing is the server's licences.
type Licensing struct {
	Features       []string // feature licences, e.g. I3_FEATURE_LYNC
	ClientLicenses int      // client licences; users with ClientLicense count against it
}

// HasFeature reports whether the feature licence is present (case-insensitive).
func (l Licensing) HasFeature(name string) bool {
	for _, f := range l.Features {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// Trunk is the SIP trunk calls to the outside go through. The switching
// function uses it; here it is only the model.
type Trunk struct {
	Proxy     string // outbound proxy host:port
	Transport Transport
}

// Sections are the top-level keys of the main YAML file that LoadConfig reads.
var Sections = []string{"users", "stations", "licensing", "trunk", "dialplan"}

// rawConfig mirrors the YAML; enums are strings until validated.
type rawConfig struct {
	Users     []rawUser    `mapstructure:"users"`
	Stations  []rawStation `mapstructure:"stations"`
	Licensing rawLicensing `mapstructure:"licensing"`
	Trunk     rawTrunk     `mapstructure:"trunk"`
	DialPlan  rawDialPlan  `mapstructure:"dialplan"`
}

type rawUser struct {
	ID                string `mapstructure:"id"`
	DisplayName       string `mapstructure:"display_name"`
	DomainAccount     string `mapstructure:"domain_account"`
	Extension         string `mapstructure:"extension"`
	ClientLicense     bool   `mapstructure:"client_license"`
	UserType          string `mapstructure:"user_type"`
	RemoteNumberLogon bool   `mapstructure:"remote_number_logon"`
}

type rawStation struct {
	Name                  string        `mapstructure:"name"`
	Extension             string        `mapstructure:"extension"`
	IdentificationAddress string        `mapstructure:"identification_address"`
	Connection            rawConnection `mapstructure:"connection"`
	Manufacturer          string        `mapstructure:"manufacturer"`
	Model                 string        `mapstructure:"model"`
	AnswerMethod          string        `mapstructure:"answer_method"`
	Active                *bool         `mapstructure:"active"`
}

type rawConnection struct {
	Kind     string `mapstructure:"kind"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	Address  string `mapstructure:"address"`
}

type rawLicensing struct {
	Features       []string `mapstructure:"features"`
	ClientLicenses int      `mapstructure:"client_licenses"`
}

type rawTrunk struct {
	Proxy     string `mapstructure:"proxy"`
	Transport string `mapstructure:"transport"`
}

type rawDialPlan struct {
	Rules []rawRule `mapstructure:"rules"`
}

type rawRule struct {
	Name           string   `mapstructure:"name"`
	Pattern        string   `mapstructure:"pattern"`
	List           []string `mapstructure:"list"`
	Standardized   string   `mapstructure:"standardized"`
	DialString     string   `mapstructure:"dial_string"`
	Classification string   `mapstructure:"classification"`
	Target         string   `mapstructure:"target"`
}

// LoadConfig decodes and validates the users, stations, licensing, trunk and
// dialplan sections of v (other sections are the daemon's and are ignored).
// Unknown keys inside these sections are errors, to catch typos. It returns
// every problem found, joined with errors.Join; Problems splits them again.
func LoadConfig(v *viper.Viper) (*Config, error) {
	var raw rawConfig
	var errs []error
	outs := map[string]any{"users": &raw.Users, "stations": &raw.Stations,
		"licensing": &raw.Licensing, "trunk": &raw.Trunk, "dialplan": &raw.DialPlan}
	for _, key := range Sections {
		if !v.IsSet(key) {
			continue
		}
		if err := v.UnmarshalKey(key, outs[key], strict); err != nil {
			errs = append(errs, decodeProblems(key, err)...)
		}
	}
	// UnmarshalKey of a section does not see environment or flag overrides
	// of its keys (viper returns the file's map, or only the override's), so
	// the scalar keys are read again one by one.
	for _, leaf := range []struct {
		key string
		out any
	}{
		{"licensing.features", &raw.Licensing.Features},
		{"licensing.client_licenses", &raw.Licensing.ClientLicenses},
		{"trunk.proxy", &raw.Trunk.Proxy},
		{"trunk.transport", &raw.Trunk.Transport},
	} {
		if v.IsSet(leaf.key) {
			if err := v.UnmarshalKey(leaf.key, leaf.out); err != nil {
				errs = append(errs, decodeProblems(leaf.key, err)...)
			}
		}
	}
	cfg, problems := build(&raw)
	errs = append(errs, problems...)
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	return cfg, nil
}

// dedupe drops repeated problems (a bad scalar is decoded twice).
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	out := errs[:0]
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// LoadFile reads a YAML file (any file viper reads, by extension) and loads it.
func LoadFile(path string) (*Config, error) {
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return LoadConfig(v)
}

// LoadYAML reads YAML from r and loads it (for embedded defaults and tests).
func LoadYAML(r io.Reader) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(r); err != nil {
		return nil, fmt.Errorf("read YAML: %w", err)
	}
	return LoadConfig(v)
}

// strict makes unknown keys errors.
func strict(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true }

// decodeProblems turns mapstructure's errors into ConfigErrors keyed like the YAML.
func decodeProblems(section string, err error) []error {
	var out []error
	for _, e := range Problems(err) {
		key, value, problem := section, "", e.Error()
		var de *mapstructure.DecodeError
		var pe *mapstructure.ParseError
		if errors.As(e, &pe) {
			value = fmt.Sprint(pe.Value)
			problem = "cannot be read as " + pe.Expected.Type().String()
			switch pe.Expected.Kind() {
			case reflect.Bool:
				problem = "not true or false"
			case reflect.Int:
				problem = "not a whole number"
			}
		}
		if errors.As(e, &de) {
			name := de.Name()
			switch {
			case name == "":
			case strings.HasPrefix(name, "["):
				key += name
			default:
				key += "." + name
			}
			if pe == nil {
				problem = de.Unwrap().Error()
			}
		}
		out = append(out, &ConfigError{Key: key, Value: value, Problem: problem})
	}
	return out
}

// UserByID returns the user with the ID, or nil.
func (c *Config) UserByID(id string) *User { return c.usersByID[id] }

// UsersByAccount returns the users carrying the domain account (compared
// case-insensitively). More than one is a configuration mistake that refuses
// their logins with Cs_AmbiguousCicUser.
func (c *Config) UsersByAccount(account string) []*User {
	return c.usersByAccount[strings.ToLower(strings.TrimSpace(account))]
}

// StationByName returns the station with the name, or nil.
func (c *Config) StationByName(name string) *Station { return c.stationsByName[name] }

// StationByExtension returns the station with the extension, or nil.
func (c *Config) StationByExtension(ext string) *Station { return c.stationsByExt[ext] }

// ClientLicensesUsed counts the users that hold a client licence.
func (c *Config) ClientLicensesUsed() int {
	n := 0
	for _, u := range c.Users {
		if u.ClientLicense {
			n++
		}
	}
	return n
}
