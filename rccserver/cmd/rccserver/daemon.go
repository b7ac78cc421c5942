package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/examples"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/api"
	"github.com/rccserver/rccserver/rccserver/callcontrol"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/state"
	"github.com/rccserver/rccserver/station/switching"
)

var sipLoggerOnce sync.Once

// newLogger builds the daemon's logger: JSON by default, console on request.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	// The level is global so that a reload can change it (log.level).
	zerolog.SetGlobalLevel(lvl)
	return zerolog.New(w).With().Timestamp().Str("service", "rccserver").Logger()
}

// daemon is the running server: directory, logins, switch, and the SIP side.
type daemon struct {
	cfg     *config
	log     zerolog.Logger
	dir     *directory.Cache
	logins  *station.Service
	sw      *switching.Switch
	csta    *callcontrol.Service
	rcc     *rccserver.Server
	api     *api.Server // nil when api.listen is off
	store   state.Store // the state file, or etcd with a cluster; nil when off; closed after the switch
	own     *ownership  // nil without cluster.etcd; the node leaves last
	pause   *pauseGuard // with own: may the node send in its sessions (sessions.go)
	started chan struct{}
	// adminAddr is the bound admin listener, "" when off.
	adminAddr string
	// apiAddr is the bound API listener, "" when off.
	apiAddr string

	reloadMu sync.Mutex
	stopping atomic.Bool
}

func newDaemon(cfg *config, log zerolog.Logger) (*daemon, error) {
	// sipgo logs through log/slog into a package global: set it once.
	sipLoggerOnce.Do(func() {
		sip.SetDefaultLogger(slog.New(zerolog.NewSlogHandler(log.With().Str("component", "sipgo").Logger().Level(zerolog.WarnLevel))))
	})
	d := &daemon{cfg: cfg, log: log, started: make(chan struct{})}
	for _, w := range cfg.station.Warnings {
		log.Warn().Str("warning", w).Msg("configuration")
	}
	var err error
	if d.dir, err = openDirectory(cfg, log); err != nil {
		return nil, err
	}
	d.logins = station.NewService(cfg.station)
	// The switch and the CSTA service read the dial plan and stations
	// through the login service, so a reload reaches them.
	sc := switchConfig(cfg, d.logins)
	// With a cluster the node joins first: its etcd store replaces the
	// state file (docs/cluster.md), and the switch reads it when built.
	if cfg.file.Cluster.enabled() {
		sipAddr := clusterSIPAddr(cfg)
		if d.own, err = joinCluster(context.Background(), cfg.file.Cluster, sipAddr, log); err != nil {
			return nil, err
		}
		st := d.own.node.Store()
		d.store, sc.Store = st, st
		if sipAddr != "" {
			sc.Peers = d.own.node // a node the others cannot recognise must not send them calls
		} else {
			log.Warn().Str("component", "cluster").Msg("no cluster.sip_address and no UDP phones listener on a specific IP: calls to stations served by other nodes are rung from here")
		}
		log.Info().Str("state.file", cfg.file.State.File).Msg("state shared in etcd (cluster.etcd): state.file not used")
	} else if f := cfg.file.State.File; f != "" {
		b, err := state.OpenBolt(f)
		if err != nil {
			return nil, fmt.Errorf("state.file: %w", err)
		}
		d.store, sc.Store = b, b
		log.Info().Str("file", b.Path()).Msg("state kept across restarts")
	}
	if d.sw, err = switching.New(sc, log.With().Str("component", "switch").Logger()); err != nil {
		d.closeStore()
		d.leaveCluster()
		return nil, err
	}
	if d.own != nil {
		d.own.node.OnDeadLegs(d.clearDeadLegs)
	}
	d.csta = callcontrol.NewService(d.sw, callcontrol.DialPlan{Configs: d.logins}, log.With().Str("component", "csta").Logger())
	opts := rccserver.Options{
		Config: cfg.sip,
		Log:    log,
		Admission: &callcontrol.LoginAdmission{Directory: d.dir, Logins: d.logins,
			Remote:    callcontrol.NewRemoteLines(d.sw, d.logins, log.With().Str("component", "remote").Logger()),
			Ownership: d.ownership()},
		Handler: d.csta,
	}
	d.sessionOptions(&opts)
	d.rcc, err = rccserver.New(opts)
	if err != nil {
		d.abandon()
		return nil, err
	}
	d.registerAdoption()
	if cfg.file.API.Listen != "" {
		d.api, err = api.New(api.Options{Config: cfg.file.API, Switch: d.sw, Views: apiViews{d}, Log: log})
		if err != nil {
			d.abandon()
			return nil, err
		}
	}
	return d, nil
}

// openDirectory builds the directory; the embedded default reads its user
// file from examples/.
func openDirectory(cfg *config, log zerolog.Logger) (*directory.Cache, error) {
	dc := cfg.file.Directory
	if cfg.embedded && (dc.Kind == "" || dc.Kind == directory.KindFile) && !filepath.IsAbs(dc.File) {
		b, err := fs.ReadFile(examples.FS, dc.File)
		if err != nil {
			return nil, fmt.Errorf("embedded directory %s: %w", dc.File, err)
		}
		return directory.NewCache(directory.NewBytesSource("examples/"+dc.File, b),
			dc.CacheOptions(), log), nil
	}
	return directory.New(dc, log)
}

// run starts everything, serves until ctx ends, then stops in reverse order.
func (d *daemon) run(ctx context.Context) error {
	if err := d.dir.Start(ctx); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if err := d.rcc.Listen(); err != nil {
		return err
	}
	var adminLn net.Listener
	if a := d.cfg.file.Admin.Listen; a != "" {
		var err error
		if adminLn, err = net.Listen("tcp", a); err != nil {
			return fmt.Errorf("admin.listen: %w", err)
		}
	}
	var apiLn net.Listener
	if d.api != nil {
		var err error
		if apiLn, err = net.Listen("tcp", d.cfg.file.API.Listen); err != nil {
			return fmt.Errorf("api.listen: %w", err)
		}
		if err := d.api.Start(); err != nil {
			_ = apiLn.Close()
			return fmt.Errorf("api: %w", err)
		}
		defer d.api.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 5)
	if apiLn != nil {
		d.apiAddr = apiLn.Addr().String()
		wg.Go(func() {
			if err := d.api.Serve(ctx, apiLn); err != nil {
				errc <- fmt.Errorf("api: %w", err)
			}
		})
	}
	if adminLn != nil {
		d.adminAddr = adminLn.Addr().String()
		wg.Go(func() {
			if err := d.serveAdmin(ctx, adminLn); err != nil {
				errc <- fmt.Errorf("admin: %w", err)
			}
		})
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.reload(ctx, "SIGHUP")
			}
		}
	})
	wg.Go(func() { d.watchdog(ctx) })
	if d.own != nil {
		wg.Go(func() { d.watchLease(ctx) })
		wg.Go(func() { d.pause.run(ctx) })
		// From the revision the switch read at start: no change is missed.
		// Dead nodes' sessions reach registerAdoption's hook, then their legs clearDeadLegs.
		d.own.node.Watch(d.own.node.Store().Revision()+1, d.applyShared)
	}
	wg.Go(func() { d.dir.Run(ctx) })
	wg.Go(func() {
		if err := d.sw.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("switch: %w", err)
		}
	})
	wg.Go(func() {
		if err := d.rcc.Serve(ctx); err != nil {
			errc <- fmt.Errorf("rcc: %w", err)
		}
	})
	close(d.started)
	_, _ = sd.SdNotify(false, sd.SdNotifyReady)
	d.log.Info().Str("config", d.cfg.source).Str("admin", d.adminAddr).Str("api", d.apiAddr).Msg("rccserver running")
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		d.log.Error().Err(err).Msg("stopping after a failure")
	}
	d.stopping.Store(true)
	_, _ = sd.SdNotify(false, sd.SdNotifyStopping)
	cancel()
	wg.Wait()
	d.csta.Close()
	_ = d.sw.Close()
	d.closeStore()
	d.leaveCluster()
	return err
}

// abandon undoes a newDaemon that failed after the switch was built: the
// CSTA service and the switch are closed, then the state file (its lock
// is released).
func (d *daemon) abandon() {
	d.csta.Close()
	_ = d.sw.Close()
	d.closeStore()
	d.leaveCluster()
}

// ownership is the admission's callcontrol.Ownership: nil without a cluster
// (a nil *ownership in the interface would not be nil).
func (d *daemon) ownership() callcontrol.Ownership {
	if d.own == nil {
		return nil
	}
	return d.own
}

// leaveCluster closes the cluster node (its lease is revoked, so its
// stations are free at once).
func (d *daemon) leaveCluster() {
	if d.own == nil {
		return
	}
	_ = d.own.node.Close()
	d.own = nil
}

// closeStore closes the state file once the switch wrote its last change.
func (d *daemon) closeStore() {
	if d.store == nil {
		return
	}
	if err := d.store.Close(); err != nil {
		d.log.Warn().Err(err).Msg("state.file: close")
	}
	d.store = nil
}

// watchdog pings systemd's watchdog at half its interval while the daemon
// is ready (no-op without WatchdogSec).
func (d *daemon) watchdog(ctx context.Context) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d.ready() == nil {
				_, _ = sd.SdNotify(false, sd.SdNotifyWatchdog)
			}
		}
	}
}

// switchConfig is the phones.* keys and the contact-center stations as the
// switch's configuration; routing reads the dial plan in force (configs).
func switchConfig(cfg *config, configs callcontrol.Configs) switching.Config {
	p := cfg.file.Phones
	sc := switching.Config{
		Domain:          p.Domain,
		AdvertiseHost:   p.AdvertiseHost,
		RingTimeout:     time.Duration(p.RingTimeout) * time.Second,
		NoAnswerTimeout: time.Duration(p.NoAnswerTimeout) * time.Second,
		Limits:          p.Limits.limits(),
		// phones.access and the limits below: 0 means the switch's default,
		// a negative auth_max_failures or leg_probe_interval switches it off.
		Access:            p.Access,
		AuthMaxFailures:   p.AuthMaxFailures,
		AuthFailureWindow: time.Duration(p.AuthFailureWindow) * time.Second,
		LegProbeInterval:  time.Duration(p.LegProbeInterval) * time.Second,
		LegProbeTimeout:   time.Duration(p.LegProbeTimeout) * time.Second,
		Stations:          callcontrol.SwitchStations(cfg.station, p.Domain),
		Router:            callcontrol.DialPlan{Configs: configs},
	}
	for _, l := range p.Listen {
		sc.Listen = append(sc.Listen, switching.Listener{Network: l.Network, Addr: l.Addr})
	}
	if t := cfg.station.Trunk; t.Proxy != "" {
		sc.Trunk = &switching.Trunk{Addr: t.Proxy, Transport: strings.ToLower(t.Transport.String())}
	}
	return sc
}
