package callcontrol

import (
	"context"
	"errors"
	"fmt"
	"github.com/rccserver/rccserver/rccserver"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/station"
)

// Line is what an admitted session controls: one device of the switch (a
// station, or a remote number made a station by RemoteLines) and the login
// that holds it. It is the Grant's Value.
type Line struct {
	Ext   string // the switch's device; "" when the login controls nothing
	Login *station.Login
}

// RemoteLines makes a remote-number logon controllable (the guide's second
// logon kind): Attach returns the switch device standing for the number and
// a function that undoes it when the session ends.
type RemoteLines interface {
	Attach(login *station.Login) (ext string, release func(), err error)
}

// Logins is the part of the contact-center login service admission uses.
type Logins interface {
	Login(domainAccount, lineURI string) (*station.Login, error)
	Logout(l *station.Login)
}

// LoginAdmission admits a sign-in as the guide we model does
// (docs/station.md "Admission"): the SIP identity is looked up in the
// directory, which must enable it for RCC and whose Windows account must
// not be disabled; its domain account must map to
// exactly one licensed contact-center user; the line must name a free station
// (or a remote number). No I3_FEATURE_LYNC licence answers systemStatus disabled.
type LoginAdmission struct {
	Directory directory.Directory
	Logins    Logins
	Remote    RemoteLines // nil: remote-number logons are admitted but control nothing
	// Ownership, when set, takes the station across nodes after the local
	// login (docs/cluster.md); nil: single node, the local login decides.
	Ownership Ownership
}

// Admit implements Admission.
func (a *LoginAdmission) Admit(_ context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
	entry, err := a.Directory.LookupSIP(req.User)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeUserNotFound, Reason: "user not in the directory"}
	}
	if err != nil {
		return nil, fmt.Errorf("directory lookup %s: %w", req.User, err)
	}
	if entry.AccountDisabled {
		// userAccountControl ACCOUNTDISABLE: the person may have left; the
		// Lync attributes are often left as they were ([MS-ADTS] 2.2.16).
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeAccountDisabled, Reason: "the Windows account is disabled",
			Detail: fmt.Sprintf("%s (%s): account %s is disabled in the directory (userAccountControl ACCOUNTDISABLE)", req.User, entry.DN, entry.Account)}
	}
	if !entry.Enabled || !entry.RCCEnabled {
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeUserNotFound, Reason: "user not enabled for remote call control",
			Detail: fmt.Sprintf("%s (%s): enabled=%v rcc=%v", req.User, entry.DN, entry.Enabled, entry.RCCEnabled)}
	}
	line := req.Line
	switch {
	case line == "":
		// A client that sends no lcs:line controls the line the directory gives it.
		line = entry.LineURI
	case entry.LineURI != "" && directory.NormalizeLineURI(line) != directory.NormalizeLineURI(entry.LineURI):
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeUserNotFound, Reason: "line is not the user's line in the directory",
			Detail: fmt.Sprintf("%s asked for %s; the directory has %s (%s)", req.User, line, entry.LineURI, entry.DN)}
	}
	if line == "" {
		return nil, &rccserver.Refusal{Status: 403, Code: rccserver.CodeUserNotFound, Reason: "user has no line in the directory", Detail: entry.DN}
	}
	login, err := a.Logins.Login(entry.Account.String(), line)
	if err != nil {
		code := station.CodeOf(err)
		if code == "" {
			return nil, fmt.Errorf("login %s on %s: %w", entry.Account, line, err)
		}
		if code == station.CodeNoFeatureLicense {
			return &rccserver.Grant{Status: csta.StatusDisabled, Code: rccserver.CodeNoFeatureLicense, Account: entry.Account.String()}, nil
		}
		status := 403
		if code == station.CodeStationNotFound {
			status = 404
		}
		return nil, &rccserver.Refusal{Status: status, Code: rccserver.LogCode(code), Reason: loginReasons[code], Detail: err.Error()}
	}
	ln := &Line{Login: login}
	release := func() { a.Logins.Logout(login) }
	switch {
	case login.Station() != nil:
		ln.Ext = login.Station().Extension
		if a.Ownership != nil {
			user := entry.Account.String()
			if err := a.Ownership.Take(ln.Ext, user); err != nil {
				a.Logins.Logout(login)
				return nil, ownershipRefusal(ln.Ext, err)
			}
			ext := ln.Ext
			release = func() { a.Ownership.Release(ext, user); a.Logins.Logout(login) }
		}
	case login.RemoteNumber() != "" && a.Remote != nil:
		ext, detach, err := a.Remote.Attach(login)
		if err != nil {
			a.Logins.Logout(login)
			return nil, fmt.Errorf("remote number %s: %w", login.RemoteNumber(), err)
		}
		ln.Ext = ext
		release = func() { detach(); a.Logins.Logout(login) }
	}
	return &rccserver.Grant{
		Status:  csta.StatusNormal,
		Account: entry.Account.String(),
		Release: release,
		Value:   ln,
	}, nil
}

// loginReasons are what the client is told for each login refusal: enough to
// act on, nothing about other users (the log has the detail).
var loginReasons = map[station.LogCode]string{
	station.CodeNoCicUser:                 "no contact-center user has this domain account",
	station.CodeAmbiguousCicUser:          "several contact-center users have this domain account",
	station.CodeNoClientLicense:           "the contact-center user has no client licence",
	station.CodeNotRccUser:                "the contact-center user is not a remote call control user",
	station.CodeStationNotFound:           "the line names no station",
	station.CodeStationInactive:           "the station is not active",
	station.CodeStationInUseByAnotherUser: "the station is in use by another user",
}

// EndStaleSessions ends, after a reload, the sessions whose login the
// reload ended (the client learns it at once by BYE instead of failing on
// its next request), and the sessions signed in without the feature
// licence once it is present (so they sign in again and get service).
func EndStaleSessions(sessions []*rccserver.Session, cfg *station.Config) {
	licensed := cfg.Licensing.HasFeature(station.FeatureLync)
	for _, s := range sessions {
		var login *station.Login
		if ln, _ := s.Grant().Value.(*Line); ln != nil {
			login = ln.Login
		}
		if login == nil {
			if licensed && s.Grant().Code == rccserver.CodeNoFeatureLicense {
				s.Close(fmt.Errorf("%w: feature licence now present", rccserver.ErrClosedByServer))
			}
			continue
		}
		select {
		case <-login.Done():
			s.Close(fmt.Errorf("%w: %v", rccserver.ErrClosedByServer, login.EndReason()))
		default:
		}
	}
}
