package rccserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/station"
)

// Logins is the part of the contact-center login service admission uses.
type Logins interface {
	Login(domainAccount, lineURI string) (*station.Login, error)
	Logout(l *station.Login)
}

// LoginAdmission admits a sign-in as the guide we model does
// (architecture.md §1 and §4): the SIP identity is looked up in the
// directory, which must enable it for RCC; its domain account must map to
// exactly one licensed contact-center user; the line must name a free station
// (or a remote number). No I3_FEATURE_LYNC licence answers systemStatus disabled.
type LoginAdmission struct {
	Directory directory.Directory
	Logins    Logins
}

// Admit implements Admission.
func (a *LoginAdmission) Admit(_ context.Context, req AdmitRequest) (*Grant, error) {
	entry, err := a.Directory.LookupSIP(req.User)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, &Refusal{Status: 403, Code: CodeUserNotFound, Reason: "the directory has no user " + req.User}
	}
	if err != nil {
		return nil, fmt.Errorf("directory lookup %s: %w", req.User, err)
	}
	if !entry.Enabled || !entry.RCCEnabled {
		return nil, &Refusal{Status: 403, Code: CodeUserNotFound,
			Reason: fmt.Sprintf("%s is not enabled for remote call control in the directory (%s)", req.User, entry.DN)}
	}
	line := req.Line
	switch {
	case line == "":
		// A client that sends no lcs:line controls the line the directory gives it.
		line = entry.LineURI
	case entry.LineURI != "" && directory.NormalizeLineURI(line) != directory.NormalizeLineURI(entry.LineURI):
		return nil, &Refusal{Status: 403, Code: CodeUserNotFound,
			Reason: fmt.Sprintf("line %s is not %s's line %s in the directory", line, req.User, entry.LineURI)}
	}
	if line == "" {
		return nil, &Refusal{Status: 403, Code: CodeUserNotFound, Reason: req.User + " has no line URI in the directory"}
	}
	login, err := a.Logins.Login(entry.Account.String(), line)
	if err != nil {
		code := station.CodeOf(err)
		if code == "" {
			return nil, fmt.Errorf("login %s on %s: %w", entry.Account, line, err)
		}
		if code == station.CodeNoFeatureLicense {
			return &Grant{Status: csta.StatusDisabled, Code: CodeNoFeatureLicense, Account: entry.Account.String()}, nil
		}
		status := 403
		if code == station.CodeStationNotFound {
			status = 404
		}
		return nil, &Refusal{Status: status, Code: LogCode(code), Reason: err.Error()}
	}
	return &Grant{
		Status:  csta.StatusNormal,
		Account: entry.Account.String(),
		Release: func() { a.Logins.Logout(login) },
		Value:   login,
	}, nil
}
