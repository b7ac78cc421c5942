package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/callcontrol"
	"github.com/rccserver/rccserver/station"
)

// reloadReport says what a reload did; `rccserver -reload` prints it.
type reloadReport struct {
	Trigger      string   `json:"trigger"`
	Reloaded     []string `json:"reloaded"`
	NeedsRestart []string `json:"needs_restart,omitempty"`
	EndedLogins  []string `json:"ended_logins,omitempty"`
	Errors       []string `json:"errors,omitempty"`
}

// reload refreshes what can change live — the directory cache, the
// contact-center model (users, stations, licences, dial plan) and the log
// level — and reports what changed but needs a restart (listeners,
// session timers, the phones' side). Sessions survive; only sessions whose
// login the new model ends are closed, with the login's reason.
func (d *daemon) reload(ctx context.Context, trigger string) reloadReport {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	_, _ = sd.SdNotify(false, sd.SdNotifyReloading)
	defer func() { _, _ = sd.SdNotify(false, sd.SdNotifyReady) }()
	r := reloadReport{Trigger: trigger}
	cfg, err := loadConfig(d.cfg.path, d.cfg.sets...)
	if err != nil {
		r.Errors = append(r.Errors, "configuration not reloaded: "+err.Error())
	} else {
		r.NeedsRestart = restartNeeded(d.cfg, cfg)
		lvl, _ := zerolog.ParseLevel(cfg.file.Log.Level)
		if cfg.file.Log.Level == "" {
			lvl = zerolog.InfoLevel
		}
		zerolog.SetGlobalLevel(lvl)
		r.Reloaded = append(r.Reloaded, "log.level="+lvl.String())
		for _, e := range d.logins.Replace(cfg.station) {
			r.EndedLogins = append(r.EndedLogins, fmt.Sprintf("%s on %s: %v", e.UserID, orDash(e.Station, e.RemoteNumber), e.Reason))
		}
		d.closeEndedSessions()
		r.Reloaded = append(r.Reloaded, "users, stations, licensing, dial plan")
		d.cfg.station, d.cfg.file.Log = cfg.station, cfg.file.Log
	}
	if err := d.rcc.Reload(); err != nil {
		r.Errors = append(r.Errors, "certificates: "+err.Error())
	} else if n := len(d.rcc.TLSStatus()); n > 0 {
		r.Reloaded = append(r.Reloaded, fmt.Sprintf("certificates (%d TLS listeners)", n))
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := d.dir.Reload(rctx); err != nil {
		r.Errors = append(r.Errors, "directory: "+err.Error())
	} else {
		r.Reloaded = append(r.Reloaded, fmt.Sprintf("directory (%d entries)", d.dir.Stats().Entries))
	}
	ev := d.log.Info()
	if len(r.Errors) > 0 {
		ev = d.log.Warn().Strs("errors", r.Errors)
	}
	ev.Str("trigger", trigger).Strs("reloaded", r.Reloaded).Strs("needs_restart", r.NeedsRestart).
		Strs("ended_logins", r.EndedLogins).Msg("reload")
	return r
}

func orDash(a, b string) string {
	if a != "" {
		return a
	}
	if b != "" {
		return b
	}
	return "-"
}

// closeEndedSessions ends the sessions a reload made stale (callcontrol.EndStaleSessions).
func (d *daemon) closeEndedSessions() {
	callcontrol.EndStaleSessions(d.rcc.Sessions(), d.logins.Config())
}

// restartNeeded lists the sections that changed but only take effect on restart.
func restartNeeded(old, new *config) []string {
	var out []string
	if !reflect.DeepEqual(old.sip, new.sip) {
		out = append(out, "listen, session")
	}
	if !reflect.DeepEqual(old.file.Phones, new.file.Phones) || !sameStations(old.station, new.station) {
		out = append(out, "phones and station connections (the switch)")
	}
	if !reflect.DeepEqual(old.file.Directory, new.file.Directory) {
		out = append(out, "directory connection settings")
	}
	if old.file.Admin != new.file.Admin {
		out = append(out, "admin")
	}
	if !reflect.DeepEqual(old.file.API, new.file.API) {
		out = append(out, "api (listener and tokens)")
	}
	if old.file.State != new.file.State {
		out = append(out, "state")
	}
	return out
}

// sameStations compares what the switch was built from.
func sameStations(a, b *station.Config) bool {
	key := func(c *station.Config) []string {
		var k []string
		for _, s := range c.Stations {
			k = append(k, fmt.Sprintf("%s|%v|%s|%s|%s|%v|%v", s.Extension, s.Connection.Kind, s.Connection.Username,
				s.Connection.Password, s.Connection.Address, s.AnswerMethod, s.Active))
		}
		return k
	}
	return reflect.DeepEqual(key(a), key(b)) && a.Trunk == b.Trunk
}

// requestReload is `rccserver -reload`: it asks the running server through
// its admin listener and prints the report. No answer is a failure.
func requestReload(cfg *config, stdout, stderr io.Writer) int {
	addr := cfg.file.Admin.Listen
	if addr == "" {
		fmt.Fprintln(stderr, "rccserver -reload: admin.listen is off in the configuration; send SIGHUP to the server instead")
		return 1
	}
	client := &http.Client{Timeout: 90 * time.Second}
	res, err := client.Post("http://"+addr+"/reload", "application/json", nil)
	if err != nil {
		fmt.Fprintf(stderr, "rccserver -reload: no server answered at %s: %v\n", addr, err)
		return 1
	}
	defer res.Body.Close()
	var r reloadReport
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "rccserver -reload: bad answer from %s: %s %v\n", addr, res.Status, err)
		return 1
	}
	fmt.Fprintf(stdout, "reloaded: %s\n", strings.Join(r.Reloaded, "; "))
	if len(r.NeedsRestart) > 0 {
		fmt.Fprintf(stdout, "changed but needs a restart: %s\n", strings.Join(r.NeedsRestart, "; "))
	}
	for _, e := range r.EndedLogins {
		fmt.Fprintf(stdout, "login ended: %s\n", e)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(stderr, "errors: %s\n", strings.Join(r.Errors, "; "))
		return 1
	}
	return 0
}
