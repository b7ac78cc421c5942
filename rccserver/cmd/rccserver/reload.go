package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/callcontrol"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
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
		if reflect.DeepEqual(d.cfg.file.Phones, cfg.file.Phones) {
			applied, pending := d.applyStations(d.cfg.station, cfg.station, cfg.file.Phones.Domain)
			r.Reloaded = append(r.Reloaded, applied...)
			r.NeedsRestart = append(r.NeedsRestart, pending...)
		}
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
	if !reflect.DeepEqual(old.file.Phones, new.file.Phones) {
		out = append(out, "phones (the switch's listeners and limits)")
	}
	if old.station.Trunk != new.station.Trunk {
		out = append(out, "trunk")
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
	if !reflect.DeepEqual(old.file.Cluster, new.file.Cluster) {
		out = append(out, "cluster")
	}
	return out
}

// applyStations brings the switch's stations in line with the reloaded
// configuration without a restart: a new (or newly active) station is
// added and can register at once; a removed (or deactivated) one has its
// calls cleared and is removed — its users' sessions were already ended
// with their login's reason; a changed one (credentials, contact, answer
// method) is updated in place, its calls going on (switching.UpdateStation).
// Stations that did not change, and their calls, are not touched.
func (d *daemon) applyStations(old, new *station.Config, domain string) (applied, pending []string) {
	before := map[string]switching.Station{}
	for _, st := range callcontrol.SwitchStations(old, domain) {
		before[st.Extension] = st
	}
	after := map[string]switching.Station{}
	for _, st := range callcontrol.SwitchStations(new, domain) {
		after[st.Extension] = st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	remove := func(ext string) error {
		calls, _ := d.sw.Snapshot(ext)
		for _, c := range calls {
			_ = d.sw.Clear(ctx, ext, c.CallID)
		}
		return d.sw.RemoveStation(ext)
	}
	for _, ext := range slices.Sorted(maps.Keys(before)) {
		was := before[ext]
		now, kept := after[ext]
		switch {
		case !kept:
			if err := remove(ext); err != nil {
				pending = append(pending, fmt.Sprintf("station %s not removed from the switch: %v", ext, err))
				continue
			}
			applied = append(applied, "station "+ext+" removed")
		case !reflect.DeepEqual(was, now):
			if err := d.sw.UpdateStation(now); err != nil {
				pending = append(pending, fmt.Sprintf("station %s not changed: %v", ext, err))
				continue
			}
			applied = append(applied, "station "+ext+" changed")
		}
	}
	for _, ext := range slices.Sorted(maps.Keys(after)) {
		if _, had := before[ext]; had {
			continue
		}
		if err := d.sw.AddStation(after[ext]); err != nil {
			pending = append(pending, fmt.Sprintf("station %s not added to the switch: %v", ext, err))
			continue
		}
		applied = append(applied, "station "+ext+" added")
	}
	return applied, pending
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
