package callcontrol

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
)

// remotePrefix names the switch devices that stand for remote numbers.
const remotePrefix = "remote-"

// remoteLines makes a remote-number logon controllable: the number becomes
// a static-contact station of the switch whose contact is the number at the
// trunk, so MakeCall rings the user's remote phone first, like a desk phone
// (docs/station.md "Remote-number logon"). Several sessions
// of one number share the station.
type remoteLines struct {
	sw      *switching.Switch
	configs Configs
	log     zerolog.Logger
	mu      sync.Mutex
	refs    map[string]int
}

// NewRemoteLines returns the RemoteLines that attach remote numbers to sw
// as static-contact stations at the trunk of the configuration in force.
func NewRemoteLines(sw *switching.Switch, configs Configs, log zerolog.Logger) RemoteLines {
	return &remoteLines{sw: sw, configs: configs, log: log, refs: map[string]int{}}
}

// Attach implements RemoteLines.
func (r *remoteLines) Attach(login *station.Login) (string, func(), error) {
	route := login.Route()
	trunk := r.configs.Config().Trunk
	if route == nil || route.DialString == "" || trunk.Proxy == "" {
		return "", nil, errors.New("no trunk route for the remote number")
	}
	ext := remotePrefix + digits(login.RemoteNumber())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs[ext] == 0 {
		contact := fmt.Sprintf("sip:%s@%s;transport=%s", route.DialString, trunk.Proxy, strings.ToLower(trunk.Transport.String()))
		// A remote phone cannot be answered from Lync, and auto-answer hints
		// mean nothing to a mobile: the user answers it.
		st := switching.Station{Extension: ext, StaticContact: contact, AnswerMethod: switching.AnswerNone,
			AutoAnswer: []switching.Header{{Name: "X-RCC-Remote", Value: "1"}}}
		if err := r.sw.AddStation(st); err != nil {
			return "", nil, err
		}
		r.log.Info().Str("device", ext).Str("contact", contact).Msg("remote number attached")
	}
	r.refs[ext]++
	var once sync.Once
	return ext, func() { once.Do(func() { r.detach(ext) }) }, nil
}

func (r *remoteLines) detach(ext string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs[ext]--; r.refs[ext] > 0 {
		return
	}
	delete(r.refs, ext)
	if err := r.sw.RemoveStation(ext); err != nil {
		// Still in a call: the station stays until a later logon detaches it.
		r.log.Warn().Err(err).Str("device", ext).Msg("remote number kept")
		return
	}
	r.log.Info().Str("device", ext).Msg("remote number detached")
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
