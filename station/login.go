package station

import (
	"fmt"
	"strings"
	"sync"
)

// Service is the login service: it admits a Lync user (by domain account and
// line URI) to a station or a remote number under the rules of the
// administrator's guide, keeps stations exclusive to one user, and lets a
// reload replace the configuration while logins continue. It is safe for
// concurrent use.
type Service struct {
	mu       sync.Mutex
	cfg      *Config
	sessions map[string]*session // by grant key
	perUser  map[string]int      // user ID -> number of sessions
}

// session is one login shared by all its holders (a user's second Lync
// endpoint, a re-INVITE after failover).
type session struct {
	key     string
	account string // as first given
	lineURI string // as first given
	user    *User
	station *Station // nil for a remote-number login
	route   *Result  // the remote number as the dial plan reads it
	refs    int
	done    chan struct{}
	reason  error
}

// Login is one holder's handle on a login. Holders of the same login share
// its Done channel and EndReason.
type Login struct {
	svc      *Service
	s        *session
	released bool // guarded by svc.mu
}

// NewService returns a login service over a loaded configuration.
func NewService(cfg *Config) *Service {
	return &Service{cfg: cfg, sessions: map[string]*session{}, perUser: map[string]int{}}
}

// Config returns the configuration in force.
func (s *Service) Config() *Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// grant is what admission allows: a user on a station or on a remote number.
type grant struct {
	user    *User
	station *Station
	route   *Result
}

func (g grant) key() string {
	if g.station != nil {
		return "station\x00" + g.station.Name
	}
	return "remote\x00" + g.user.ID + "\x00" + g.route.Standardized
}

// admit applies the admission rule of the guide to one request, in this
// order: feature licence, exactly one user with the domain account, client
// licence, RCC user type, then the line URI (station, or remote number).
// It does not look at other logins.
func admit(cfg *Config, account, lineURI string) (grant, *LoginError) {
	e := &LoginError{Account: account, LineURI: lineURI}
	fail := func(code LogCode, format string, args ...any) (grant, *LoginError) {
		e.LogCode, e.Detail = code, fmt.Sprintf(format, args...)
		return grant{}, e
	}
	if !cfg.Licensing.HasFeature(FeatureLync) {
		return fail(CodeNoFeatureLicense, "licensing.features lacks %s", FeatureLync)
	}
	users := cfg.UsersByAccount(account)
	switch len(users) {
	case 0:
		return fail(CodeNoCicUser, "")
	case 1:
	default:
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		return fail(CodeAmbiguousCicUser, "users %s", strings.Join(ids, ", "))
	}
	u := users[0]
	e.UserID = u.ID
	if !u.ClientLicense {
		return fail(CodeNoClientLicense, "")
	}
	if u.Type != UserTypeRemoteCallControl {
		return fail(CodeNotRccUser, "user type %s", u.Type)
	}
	m, err := cfg.MatchLine(lineURI)
	if err != nil {
		return fail(CodeStationNotFound, "%v", err)
	}
	if m.Station != nil {
		e.Station = m.Station.Name
		if !m.Station.Active {
			return fail(CodeStationInactive, "")
		}
		return grant{user: u, station: m.Station}, nil
	}
	switch {
	case !u.RemoteNumberLogon:
		return fail(CodeStationNotFound, "no station has number %s and remote-number logon is off", m.URI.Number)
	case m.Route == nil:
		return fail(CodeStationNotFound, "remote number %s matches no dial-plan rule", m.URI.Number)
	case m.Route.Target != TargetTrunk:
		return fail(CodeStationNotFound, "remote number %s is not reachable (dial plan: %s, target %s)",
			m.URI.Number, m.Route.Rule.Name, m.Route.Target)
	}
	return grant{user: u, route: m.Route}, nil
}

// Login admits the user with the domain account to the line URI's station,
// or (with remote-number logon) to the number it names. The same user logging
// in again to the same station or number shares the login; another user gets
// Cs_StationInUseByAnotherUser. A refusal is a *LoginError.
func (s *Service) Login(domainAccount, lineURI string) (*Login, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, lerr := admit(s.cfg, domainAccount, lineURI)
	if lerr != nil {
		return nil, lerr
	}
	key := g.key()
	if ss := s.sessions[key]; ss != nil {
		if ss.user.ID != g.user.ID {
			return nil, &LoginError{LogCode: CodeStationInUseByAnotherUser, Account: domainAccount,
				UserID: g.user.ID, LineURI: lineURI, Station: g.station.Name, Holder: ss.user.ID}
		}
		ss.refs++
		return &Login{svc: s, s: ss}, nil
	}
	ss := &session{key: key, account: domainAccount, lineURI: lineURI, user: g.user,
		station: g.station, route: g.route, refs: 1, done: make(chan struct{})}
	s.sessions[key] = ss
	s.perUser[g.user.ID]++
	return &Login{svc: s, s: ss}, nil
}

// Logout releases the holder's handle. When the last holder leaves, the login
// ends (EndReason ErrLoggedOut) and its station is free. Logging out twice,
// or after a reload ended the login, does nothing.
func (s *Service) Logout(l *Login) {
	if l == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.released || l.s.reason != nil {
		l.released = true
		return
	}
	l.released = true
	if l.s.refs--; l.s.refs == 0 {
		s.end(l.s, ErrLoggedOut)
	}
}

// end ends a session; s.mu must be held.
func (s *Service) end(ss *session, reason error) {
	ss.reason = reason
	close(ss.done)
	if s.sessions[ss.key] == ss {
		delete(s.sessions, ss.key)
		if s.perUser[ss.user.ID]--; s.perUser[ss.user.ID] <= 0 {
			delete(s.perUser, ss.user.ID)
		}
	}
}

// UserState returns LoggedInToRCC while the user holds any login, LoggedOut
// otherwise, and UserStateUnknown for an ID not in the configuration.
func (s *Service) UserState(userID string) UserState {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.perUser[userID] > 0:
		return UserStateLoggedInToRCC
	case s.cfg.UserByID(userID) != nil:
		return UserStateLoggedOut
	}
	return UserStateUnknown
}

// StationHolder returns the ID of the user logged in to the named station.
func (s *Service) StationHolder(name string) (userID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions["station\x00"+name]; ss != nil {
		return ss.user.ID, true
	}
	return "", false
}

// User returns the logged-in user (as of the latest configuration).
func (l *Login) User() *User {
	l.svc.mu.Lock()
	defer l.svc.mu.Unlock()
	return l.s.user
}

// Station returns the station, or nil for a remote-number login.
func (l *Login) Station() *Station {
	l.svc.mu.Lock()
	defer l.svc.mu.Unlock()
	return l.s.station
}

// Route returns the dial plan's reading of the remote number (its standardized
// number, dial string and classification), or nil for a station login.
func (l *Login) Route() *Result {
	l.svc.mu.Lock()
	defer l.svc.mu.Unlock()
	return l.s.route
}

// RemoteNumber returns the standardized remote number, or "" for a station login.
func (l *Login) RemoteNumber() string {
	if r := l.Route(); r != nil {
		return r.Standardized
	}
	return ""
}

// LineURI returns the line URI the login was first made with.
func (l *Login) LineURI() string { return l.s.lineURI }

// Done is closed when the login ends: its last holder logged out, or a reload
// ended it (see EndReason).
func (l *Login) Done() <-chan struct{} { return l.s.done }

// EndReason is nil while the login lasts; then ErrLoggedOut, or the
// *LoginError with which a reload ended it.
func (l *Login) EndReason() error {
	l.svc.mu.Lock()
	defer l.svc.mu.Unlock()
	return l.s.reason
}

// String describes the login for logs, e.g. `alice on station "1010"`.
func (l *Login) String() string {
	l.svc.mu.Lock()
	defer l.svc.mu.Unlock()
	if l.s.station != nil {
		return fmt.Sprintf("%s on station %q", l.s.user.ID, l.s.station.Name)
	}
	return fmt.Sprintf("%s on remote number %s", l.s.user.ID, l.s.route.Standardized)
}
