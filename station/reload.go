package station

import (
	"fmt"
	"sort"
)

// Ended is a login that a reload ended.
type Ended struct {
	UserID       string
	Station      string // the station's name, or "" for a remote-number login
	RemoteNumber string // the standardized remote number, or ""
	LineURI      string
	Reason       *LoginError
}

// Replace puts a new configuration in force while logins continue. Every
// login is admitted again under the new configuration, as if its user logged
// in once more; a login that would now be refused, or would now land on
// another station or number, ends: its Done channel closes and EndReason
// returns the *LoginError (Cs_StationNotFound for a station that is gone,
// Cs_StationInactive, Cs_NoClientLicense, …). The ended logins are returned
// in a stable order for the caller to log and act on (e.g. end the RCC
// session). A nil cfg changes nothing.
func (s *Service) Replace(cfg *Config) []Ended {
	if cfg == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	keys := make([]string, 0, len(s.sessions))
	for k := range s.sessions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ended []Ended
	for _, k := range keys {
		ss := s.sessions[k]
		reason := readmit(cfg, ss)
		if reason == nil {
			continue
		}
		e := Ended{UserID: ss.user.ID, LineURI: ss.lineURI, Reason: reason}
		if ss.station != nil {
			e.Station = ss.station.Name
		} else {
			e.RemoteNumber = ss.route.Standardized
		}
		s.end(ss, reason)
		ended = append(ended, e)
	}
	return ended
}

// readmit checks one session against cfg and, if it stays, points it at the
// new configuration's user, station and route.
func readmit(cfg *Config, ss *session) *LoginError {
	g, lerr := admit(cfg, ss.account, ss.lineURI)
	stationTrouble := lerr != nil && (lerr.LogCode == CodeStationNotFound || lerr.LogCode == CodeStationInactive)
	if lerr != nil && !stationTrouble {
		return lerr
	}
	newID := g.user
	if lerr != nil {
		newID = cfg.UserByID(lerr.UserID)
	}
	fail := func(code LogCode, format string, args ...any) *LoginError {
		return &LoginError{LogCode: code, Account: ss.account, UserID: ss.user.ID, LineURI: ss.lineURI,
			Station: stationName(ss.station), Detail: fmt.Sprintf(format, args...)}
	}
	if newID == nil || newID.ID != ss.user.ID {
		return fail(CodeNoCicUser, "the domain account no longer belongs to user %q", ss.user.ID)
	}
	if ss.station != nil {
		switch ns := cfg.StationByName(ss.station.Name); {
		case ns == nil:
			return fail(CodeStationNotFound, "the station was removed")
		case !ns.Active:
			return fail(CodeStationInactive, "the station was made inactive")
		}
	}
	if lerr != nil {
		lerr.UserID = ss.user.ID
		return lerr
	}
	if g.key() != ss.key {
		var now string
		if g.station != nil {
			now = fmt.Sprintf("station %q", g.station.Name)
		} else {
			now = "remote number " + g.route.Standardized
		}
		return fail(CodeStationNotFound, "the line URI now names %s; log in again", now)
	}
	ss.user, ss.station, ss.route = g.user, g.station, g.route
	return nil
}

func stationName(st *Station) string {
	if st == nil {
		return ""
	}
	return st.Name
}
