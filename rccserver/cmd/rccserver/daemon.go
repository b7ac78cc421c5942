package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/examples"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station"
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
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("service", "rccserver").Logger()
}

// daemon is the running server: directory, logins, switch, and the SIP side.
type daemon struct {
	cfg     *config
	log     zerolog.Logger
	dir     *directory.Cache
	logins  *station.Service
	sw      *switching.Switch
	csta    *rccserver.Service
	rcc     *rccserver.Server
	started chan struct{}
}

func newDaemon(cfg *config, log zerolog.Logger) (*daemon, error) {
	// sipgo logs through log/slog into a package global: set it once.
	sipLoggerOnce.Do(func() {
		sip.SetDefaultLogger(slog.New(zerolog.NewSlogHandler(log.With().Str("component", "sipgo").Logger().Level(zerolog.WarnLevel))))
	})
	d := &daemon{cfg: cfg, log: log, started: make(chan struct{})}
	var err error
	if d.dir, err = openDirectory(cfg, log); err != nil {
		return nil, err
	}
	d.logins = station.NewService(cfg.station)
	if d.sw, err = switching.New(switchConfig(cfg), log.With().Str("component", "switch").Logger()); err != nil {
		return nil, err
	}
	dialPlan := cfg.station.DialPlan
	d.csta = rccserver.NewService(d.sw, func(device string) string { return telURI(cfg.station, dialPlan, device) },
		log.With().Str("component", "csta").Logger())
	d.rcc, err = rccserver.New(rccserver.Options{
		Config:    cfg.sip,
		Log:       log,
		Admission: &rccserver.LoginAdmission{Directory: d.dir, Logins: d.logins},
		Handler:   d.csta,
	})
	if err != nil {
		return nil, err
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
			directory.CacheOptions{Refresh: dc.Refresh, Snapshot: dc.Snapshot}, log), nil
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
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
	d.log.Info().Str("config", d.cfg.source).Msg("rccserver running")
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		d.log.Error().Err(err).Msg("stopping after a failure")
	}
	cancel()
	wg.Wait()
	d.csta.Close()
	_ = d.sw.Close()
	return err
}

// switchConfig maps the contact-center station model onto the switch.
func switchConfig(cfg *config) switching.Config {
	p := cfg.file.Phones
	sc := switching.Config{
		Domain:          p.Domain,
		AdvertiseHost:   p.AdvertiseHost,
		RingTimeout:     time.Duration(p.RingTimeout) * time.Second,
		NoAnswerTimeout: time.Duration(p.NoAnswerTimeout) * time.Second,
	}
	for _, l := range p.Listen {
		sc.Listen = append(sc.Listen, switching.Listener{Network: l.Network, Addr: l.Addr})
	}
	for _, st := range cfg.station.Stations {
		if !st.Active {
			continue
		}
		s := switching.Station{Extension: st.Extension, AnswerMethod: answerMethod(st.AnswerMethod),
			AutoAnswer: switching.DefaultAutoAnswer(p.Domain)}
		switch st.Connection.Kind {
		case station.ConnectionRegistered:
			s.Username, s.Password = st.Connection.Username, st.Connection.Password
		case station.ConnectionStatic:
			s.StaticContact = st.Connection.Address
		}
		sc.Stations = append(sc.Stations, s)
	}
	if t := cfg.station.Trunk; t.Proxy != "" {
		sc.Trunk = &switching.Trunk{Addr: t.Proxy, Transport: strings.ToLower(t.Transport.String())}
	}
	dp := cfg.station.DialPlan
	sc.Route = func(dialled string) (switching.Target, error) {
		if dp == nil {
			return switching.Target{}, station.ErrNoRule
		}
		r, err := dp.Resolve(dialled)
		if err != nil {
			return switching.Target{}, err
		}
		if r.Target == station.TargetStation {
			return switching.Target{Kind: switching.TargetStation, Extension: r.DialString}, nil
		}
		return switching.Target{Kind: switching.TargetTrunk, Dial: r.DialString}, nil
	}
	return sc
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

// telURI names a switch device for the client: a station by its
// identification address, an outside number as E.164 when the dial plan
// standardises it to one (protocol.md §6).
func telURI(cfg *station.Config, dp *station.DialPlan, device string) string {
	if st := cfg.StationByExtension(device); st != nil && st.IdentificationAddress != "" {
		return st.IdentificationAddress
	}
	e164 := ""
	if dp != nil {
		if r, err := dp.Resolve(device); err == nil && strings.HasPrefix(r.Standardized, "+") {
			e164 = r.Standardized
		}
	}
	return rccserver.TelURI(device, e164)
}
