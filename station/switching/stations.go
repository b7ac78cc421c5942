package switching

import "fmt"

// stationByExt returns the station with extension ext, or nil.
func (sw *Switch) stationByExt(ext string) *Station {
	sw.stMu.RLock()
	defer sw.stMu.RUnlock()
	return sw.stations[ext]
}

// stationByUser returns the station whose digest user name or extension is u, or nil.
func (sw *Switch) stationByUser(u string) *Station {
	sw.stMu.RLock()
	defer sw.stMu.RUnlock()
	return sw.byUser[u]
}

// AddStation adds a station while the switch runs. It is how a remote
// number becomes controllable: a static-contact station whose contact is
// the number at the trunk (the contact-center "remote number" logon).
func (sw *Switch) AddStation(st Station) error {
	if st.Extension == "" {
		return fmt.Errorf("%w: station without extension", ErrInvalidArgument)
	}
	st, err := sw.completeStation(st)
	if err != nil {
		return err
	}
	sw.stMu.Lock()
	if sw.stations[st.Extension] != nil || sw.byUser[st.Username] != nil {
		sw.stMu.Unlock()
		return fmt.Errorf("%w: station %q exists", ErrInvalidArgument, st.Extension)
	}
	s := &st
	sw.stations[s.Extension] = s
	sw.byUser[s.Username] = s
	sw.byUser[s.Extension] = s
	sw.stMu.Unlock()
	m := sw.model
	m.mu.Lock()
	m.devices[s.Extension] = &deviceState{forwarding: map[ForwardType]Forwarding{}}
	m.mu.Unlock()
	return nil
}

// RemoveStation removes a station added with AddStation. A station still in
// a call is not removed (ErrInvalidState): clear its calls first.
func (sw *Switch) RemoveStation(ext string) error {
	m := sw.model
	m.mu.Lock()
	for _, c := range m.calls {
		if cn := c.conn(ext); cn != nil && !cn.gone {
			m.mu.Unlock()
			return fmt.Errorf("%w: station %q is in call %s", ErrInvalidState, ext, c.id)
		}
	}
	delete(m.devices, ext)
	m.mu.Unlock()
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	s := sw.stations[ext]
	if s == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDevice, ext)
	}
	delete(sw.stations, ext)
	delete(sw.byUser, s.Username)
	delete(sw.byUser, s.Extension)
	sw.reg.drop(ext)
	return nil
}

// UpdateStation replaces the settings of the existing station
// st.Extension (answer method, credentials, static contact, auto-answer
// hints) in place. Its calls go on. Its registration is kept when the
// username and password are unchanged; otherwise it is dropped, so the phone
// must register again with the new credentials (RFC 3261 §10.3).
func (sw *Switch) UpdateStation(st Station) error {
	st, err := sw.completeStation(st)
	if err != nil {
		return err
	}
	sw.stMu.Lock()
	old := sw.stations[st.Extension]
	if old == nil {
		sw.stMu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownDevice, st.Extension)
	}
	if o := sw.byUser[st.Username]; o != nil && o != old {
		sw.stMu.Unlock()
		return fmt.Errorf("%w: username %q belongs to station %q", ErrInvalidArgument, st.Username, o.Extension)
	}
	s := &st
	delete(sw.byUser, old.Username)
	sw.stations[s.Extension] = s
	sw.byUser[s.Username] = s
	sw.byUser[s.Extension] = s
	sw.stMu.Unlock()
	if old.Username != s.Username || old.Password != s.Password || old.StaticContact != s.StaticContact {
		sw.reg.drop(s.Extension)
	}
	return nil
}

// completeStation fills a station's defaults (username = extension, the
// switch's auto-answer hints) and validates it as Config would.
func (sw *Switch) completeStation(st Station) (Station, error) {
	if st.Username == "" {
		st.Username = st.Extension
	}
	if len(st.AutoAnswer) == 0 {
		st.AutoAnswer = DefaultAutoAnswer(sw.cfg.Domain)
	}
	check := Config{Stations: []Station{st}}
	return st, check.validate()
}
