package callcontrol

import (
	"fmt"
	"strings"

	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
)

// Configs gives the contact-center configuration in force; a reload
// replaces it (station.Service implements it).
type Configs interface {
	Config() *station.Config
}

// DeviceNamer names a switch device as the client shows it.
type DeviceNamer interface {
	TelURI(device string) string
}

// DialPlan is the contact-center dial plan in the two shapes the product
// needs: the switch's router (switching.Router) and the client's device
// namer (DeviceNamer). It reads the configuration in force on every call,
// so a reload applies at once.
type DialPlan struct {
	Configs Configs
}

var (
	_ switching.Router = DialPlan{}
	_ DeviceNamer      = DialPlan{}
)

// Route resolves a dialled number to a station or the trunk; blocked
// numbers (target none) are never dialled.
func (p DialPlan) Route(dialled string) (switching.Target, error) {
	dp := p.Configs.Config().DialPlan
	if dp == nil {
		return switching.Target{}, station.ErrNoRule
	}
	r, err := dp.Resolve(dialled)
	if err != nil {
		return switching.Target{}, err
	}
	switch r.Target {
	case station.TargetStation:
		return switching.Target{Kind: switching.TargetStation, Extension: r.DialString}, nil
	case station.TargetTrunk:
		return switching.Target{Kind: switching.TargetTrunk, Dial: r.DialString}, nil
	}
	return switching.Target{}, fmt.Errorf("%q matched rule %q: not dialable", dialled, r.Rule.Name)
}

// TelURI names a switch device for the client: a remote-number line by its
// number, a station by its identification address, an outside number as
// E.164 when the dial plan standardises it to one (docs/protocol.md, "Device
// identifiers").
func (p DialPlan) TelURI(device string) string {
	if n, ok := strings.CutPrefix(device, remotePrefix); ok {
		return "tel:+" + n
	}
	cfg := p.Configs.Config()
	if st := cfg.StationByExtension(device); st != nil && st.IdentificationAddress != "" {
		return st.IdentificationAddress
	}
	e164 := ""
	if dp := cfg.DialPlan; dp != nil {
		if r, err := dp.Resolve(device); err == nil && strings.HasPrefix(r.Standardized, "+") {
			e164 = r.Standardized
		}
	}
	return TelURI(device, e164)
}

// SwitchStations maps the active contact-center stations onto the
// switch's stations (registered or static contact, answer method,
// auto-answer hints for domain).
func SwitchStations(cfg *station.Config, domain string) []switching.Station {
	var out []switching.Station
	for _, st := range cfg.Stations {
		if !st.Active {
			continue
		}
		s := switching.Station{Extension: st.Extension, AnswerMethod: answerMethod(st.AnswerMethod),
			AutoAnswer: switching.DefaultAutoAnswer(domain)}
		switch st.Connection.Kind {
		case station.ConnectionRegistered:
			s.Username, s.Password = st.Connection.Username, st.Connection.Password
		case station.ConnectionStatic:
			s.StaticContact = st.Connection.Address
		}
		out = append(out, s)
	}
	return out
}

func answerMethod(m station.AnswerMethod) switching.AnswerMethod {
	switch m {
	case station.AnswerTalkEvent:
		return switching.AnswerTalkEvent
	case station.AnswerUACSTA:
		return switching.AnswerUACSTA
	case station.AnswerAutoAnswerReoffer:
		return switching.AnswerAutoAnswerReoffer
	case station.AnswerNone:
		return switching.AnswerNone
	}
	return switching.AnswerUnknown
}
