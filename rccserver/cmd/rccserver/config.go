package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/rs/zerolog"
	"github.com/spf13/viper"

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/directory"
	"github.com/rccserver/rccserver/examples"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/api"
	"github.com/rccserver/rccserver/rccserver/clock"
	"github.com/rccserver/rccserver/rccserver/sipedge"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/cluster"
)

// DefaultStateFile is state.file when a configuration file is given: in
// the working directory (the systemd unit's is /var/lib/rccserver).
const DefaultStateFile = "rccserver-state.db"

// fileConfig is the main YAML file. Times under session and phones are
// whole seconds, as the guide we model states them.
type fileConfig struct {
	Listen struct {
		Listeners []rccserver.Listener `mapstructure:"listeners"`
		Domains   []string             `mapstructure:"domains"`
		Access    []string             `mapstructure:"access"`
		FrontEnds []string             `mapstructure:"front_ends"`
		Limits    fileLimits           `mapstructure:"limits"`
	} `mapstructure:"listen"`
	Session struct {
		SessionExpires  int  `mapstructure:"session_expires"`
		MinSE           int  `mapstructure:"min_se"`
		KeepAlive       int  `mapstructure:"keepalive"`
		RequestTimeout  int  `mapstructure:"request_timeout"`
		QueueSize       int  `mapstructure:"queue_size"`
		EventWindow     int  `mapstructure:"event_window"`
		InitialWindow   int  `mapstructure:"initial_window"`
		ConnWindow      int  `mapstructure:"connection_window"`
		StrictKeepAlive bool `mapstructure:"strict_keepalive"`
		ShutdownTimeout int  `mapstructure:"shutdown_timeout"`
	} `mapstructure:"session"`
	Phones struct {
		Listen []struct {
			Network string `mapstructure:"network"`
			Addr    string `mapstructure:"addr"`
		} `mapstructure:"listen"`
		Domain          string `mapstructure:"domain"`
		AdvertiseHost   string `mapstructure:"advertise_host"`
		RingTimeout     int    `mapstructure:"ring_timeout"`
		NoAnswerTimeout int    `mapstructure:"no_answer_timeout"`
		// Access, the auth limit and leg probing: see switching.Config.
		Access            []string   `mapstructure:"access"`
		AuthMaxFailures   int        `mapstructure:"auth_max_failures"`
		AuthFailureWindow int        `mapstructure:"auth_failure_window"`
		LegProbeInterval  int        `mapstructure:"leg_probe_interval"`
		LegProbeTimeout   int        `mapstructure:"leg_probe_timeout"`
		Limits            fileLimits `mapstructure:"limits"`
	} `mapstructure:"phones"`
	Directory directory.Config `mapstructure:"directory"`
	Log       struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`
	Admin struct {
		// Listen is the admin HTTP listener (metrics, health, reload); "" disables it.
		Listen string `mapstructure:"listen"`
	} `mapstructure:"admin"`
	// API is the HTTP API for other systems and the operator page (rccserver/api).
	API   api.Config `mapstructure:"api"`
	State struct {
		// File is the local state file (station/state): registrations,
		// forwarding, DND and calls kept across a restart; "" keeps them in
		// memory only. Default DefaultStateFile with -config, none for the
		// embedded default.
		File string `mapstructure:"file"`
	} `mapstructure:"state"`
	// Cluster is station ownership across nodes in etcd (docs/cluster.md);
	// without cluster.etcd the server is a single node as before.
	Cluster fileCluster `mapstructure:"cluster"`
	// Other holds the remaining top-level sections: station's (users,
	// stations, …) and, if any, typos — which loadConfig reports.
	Other map[string]any `mapstructure:",remain"`
}

// fileCluster is the cluster section; times in whole seconds.
type fileCluster struct {
	Etcd        []string `mapstructure:"etcd"`         // etcd client URLs; none: single node
	NodeID      string   `mapstructure:"node_id"`      // unique among live nodes; default the host name
	LeaseTTL    int      `mapstructure:"lease_ttl"`    // default 6
	DialTimeout int      `mapstructure:"dial_timeout"` // connect and per-request bound; default 2
	Prefix      string   `mapstructure:"prefix"`       // key prefix; default /rcc/
	// SIPAddress is this node's ip:port for calls between nodes; default
	// the first UDP phones listener with a specific IP (clusterSIPAddr).
	SIPAddress string `mapstructure:"sip_address"`
	// TLS to etcd (https:// endpoints): the CA that signed the members'
	// certificates (default the system's CAs) and an optional client
	// certificate with its key, PEM files.
	TLS struct {
		CA   string `mapstructure:"ca"`
		Cert string `mapstructure:"cert"`
		Key  string `mapstructure:"key"`
	} `mapstructure:"tls"`
}

// secure reports whether the endpoints are https:// (validate refuses a mix).
func (f fileCluster) secure() bool {
	return len(f.Etcd) > 0 && strings.HasPrefix(f.Etcd[0], "https://")
}

// tlsConfig loads the client's TLS configuration for https:// endpoints;
// nil for http://. Errors name the key and the file, never the content.
func (f fileCluster) tlsConfig() (*tls.Config, error) {
	if !f.secure() {
		return nil, nil
	}
	c, err := certs.ClientConfig(f.TLS.CA, f.TLS.Cert, f.TLS.Key, clock.System{}.Now())
	if err != nil {
		return nil, fmt.Errorf("cluster.tls (ca %q, cert %q, key %q): %w", f.TLS.CA, f.TLS.Cert, f.TLS.Key, err)
	}
	return c, nil
}

// enabled reports whether cluster.etcd names any endpoint.
func (f fileCluster) enabled() bool { return len(f.Etcd) > 0 }

// config returns the station/cluster configuration (Log is set by the daemon).
func (f fileCluster) config() cluster.Config {
	node := f.NodeID
	if node == "" {
		node, _ = os.Hostname()
	}
	return cluster.Config{Endpoints: f.Etcd, Node: node, Prefix: f.Prefix,
		LeaseTTL: time.Duration(f.LeaseTTL) * time.Second, RequestTimeout: time.Duration(f.DialTimeout) * time.Second}
}

// validate checks the cluster keys without connecting.
func (f fileCluster) validate() error {
	if !f.enabled() {
		if f.NodeID != "" || f.LeaseTTL != 0 || f.DialTimeout != 0 || f.Prefix != "" || f.SIPAddress != "" || f.TLS.CA != "" || f.TLS.Cert != "" || f.TLS.Key != "" {
			return errors.New("cluster: keys set without cluster.etcd (no etcd endpoints: single node)")
		}
		return nil
	}
	var errs []error
	for i, e := range f.Etcd {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("cluster.etcd[%d]: %q: want http://host:port or https://host:port", i, e))
		}
	}
	var plain, secure int
	for _, e := range f.Etcd {
		if strings.HasPrefix(e, "https://") {
			secure++
		} else {
			plain++
		}
	}
	switch {
	case plain > 0 && secure > 0:
		errs = append(errs, errors.New("cluster.etcd: mixes http:// and https:// endpoints: use https:// for every member (a member reached in clear undoes the others' TLS)"))
	case secure == 0 && (f.TLS.CA != "" || f.TLS.Cert != "" || f.TLS.Key != ""):
		errs = append(errs, errors.New("cluster.tls: set but cluster.etcd lists http:// endpoints: use https:// (the keys would be unused)"))
	case secure > 0:
		if _, err := f.tlsConfig(); err != nil {
			errs = append(errs, err)
		}
	}
	if f.LeaseTTL < 0 || f.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster.lease_ttl %d, cluster.dial_timeout %d: want positive seconds (0: default)", f.LeaseTTL, f.DialTimeout))
	}
	if err := f.config().Validate(); err != nil && plain*secure == 0 {
		errs = append(errs, fmt.Errorf("cluster (keys etcd, node_id, lease_ttl): %w", err))
	}
	if a := f.SIPAddress; a != "" {
		if ap, err := netip.ParseAddrPort(a); err != nil || ap.Addr().IsUnspecified() || ap.Port() == 0 {
			errs = append(errs, fmt.Errorf("cluster.sip_address: %q: want a specific ip:port (the other nodes recognise calls by it)", a))
		}
	}
	return errors.Join(errs...)
}

// fileLimits are listen.limits and phones.limits (sipedge.Limits), times
// in whole seconds like the rest of the file; 0 takes the default.
type fileLimits struct {
	MaxMessageBytes     int `mapstructure:"max_message_bytes"`
	MaxConnections      int `mapstructure:"max_connections"`
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	IdleTimeout         int `mapstructure:"idle_timeout"`
	MessageTimeout      int `mapstructure:"message_timeout"`
}

func (f fileLimits) limits() sipedge.Limits {
	return sipedge.Limits{MaxMessageBytes: f.MaxMessageBytes, MaxConnections: f.MaxConnections,
		MaxConnectionsPerIP: f.MaxConnectionsPerIP, IdleTimeout: time.Duration(f.IdleTimeout) * time.Second,
		MessageTimeout: time.Duration(f.MessageTimeout) * time.Second}
}

// config is the loaded, validated configuration of the daemon.
type config struct {
	file     fileConfig
	sip      rccserver.Config
	station  *station.Config
	embedded bool     // loaded from the embedded default (examples/)
	path     string   // the file given with -config, "" for the embedded default
	sets     []string // -set key=value overrides, re-applied on reload
	source   string   // for logs
}

// loadConfig reads path, or the embedded default when path is empty, with
// RCC_… environment overrides (RCC_SESSION_KEEPALIVE=0) and -set key=value
// flags above them, and validates it. The error lists every problem, each
// naming its key.
func loadConfig(path string, sets ...string) (*config, error) {
	v := viper.NewWithOptions(viper.ExperimentalBindStruct())
	v.SetConfigType("yaml")
	v.SetEnvPrefix("RCC")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.AllowEmptyEnv(true) // RCC_ADMIN_LISTEN= switches the admin listener off
	// keepalive 0 switches keep-alive off, so its default must be explicit.
	v.SetDefault("session.keepalive", int(rccserver.DefaultConfig().KeepAlive/time.Second))
	v.SetDefault("admin.listen", DefaultAdminListen)
	if path != "" {
		v.SetDefault("state.file", DefaultStateFile) // the demo writes nothing
	}
	c := &config{source: path, path: path, sets: sets}
	if path == "" {
		c.embedded, c.source = true, "embedded default (examples/rccserver.yaml, station.yaml, directory.yaml)"
		for i, name := range []string{"rccserver.yaml", "station.yaml"} {
			b, err := fs.ReadFile(examples.FS, name)
			if err != nil {
				return nil, err
			}
			read := v.MergeConfig
			if i == 0 {
				read = v.ReadConfig
			}
			if err := read(bytes.NewReader(b)); err != nil {
				return nil, fmt.Errorf("embedded %s: %w", name, err)
			}
		}
	} else {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	var errs []error
	for _, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			errs = append(errs, fmt.Errorf("-set %q: want key=value, e.g. session.keepalive=0", kv))
			continue
		}
		v.Set(strings.TrimSpace(key), value) // flags win over the file and the environment
	}
	// Unknown keys are errors that name the key: a typo must not silently
	// fall back to a default.
	if err := v.Unmarshal(&c.file, func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true }); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", c.source, err))
	}
	for key := range c.file.Other {
		if !slices.Contains(station.Sections, key) {
			errs = append(errs, fmt.Errorf("%s: unknown top-level key %q", c.source, key))
		}
	}
	if lvl := c.file.Log.Level; lvl != "" {
		if _, err := zerolog.ParseLevel(lvl); err != nil {
			errs = append(errs, fmt.Errorf("log.level: %q: not one of trace, debug, info, warn, error", lvl))
		}
	}
	if f := c.file.Log.Format; f != "" && f != "json" && f != "console" {
		errs = append(errs, fmt.Errorf("log.format: %q: not json or console", f))
	}
	c.sip = sipConfig(c.file)
	if err := c.sip.Validate(); err != nil {
		errs = append(errs, err)
	}
	st, err := station.LoadConfig(v)
	if err != nil {
		errs = append(errs, err)
	}
	c.station = st
	if err := c.file.Directory.Validate(); err != nil {
		errs = append(errs, err)
	}
	for i, l := range c.sip.Listeners {
		// Load certificates now, so -check finds a missing or mismatched
		// file instead of the start-up.
		if t := strings.ToLower(l.Transport); t == "tls" || t == "mtls" {
			if _, err := certs.NewManager(certs.ManagerOptions{Config: l.Config, Mutual: t == "mtls", Log: zerolog.Nop()}); err != nil {
				errs = append(errs, fmt.Errorf("listen.listeners[%d]: %w", i, err))
			}
		}
	}
	if st != nil {
		// The phones' side as the switch will see it; its keys are under phones.
		if err := switchConfig(c, fixedConfigs{st}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("phones/trunk: %w", err))
		}
	}
	if a := c.file.Admin.Listen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("admin.listen: %q: %w", a, err))
		}
	}
	if err := c.file.API.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.file.Cluster.validate(); err != nil {
		errs = append(errs, err)
	}
	if f := c.file.State.File; f != "" {
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			errs = append(errs, fmt.Errorf("state.file: %q is a directory", f))
		}
	}
	return c, errors.Join(errs...)
}

func sipConfig(f fileConfig) rccserver.Config {
	c := rccserver.DefaultConfig()
	if len(f.Listen.Listeners) > 0 {
		c.Listeners = f.Listen.Listeners
	}
	if len(f.Listen.Domains) > 0 {
		c.Domains = f.Listen.Domains
	}
	c.Access = f.Listen.Access
	c.FrontEnds = f.Listen.FrontEnds
	c.Limits = f.Listen.Limits.limits()
	sec := func(dst *time.Duration, n int) {
		if n != 0 {
			*dst = time.Duration(n) * time.Second
		}
	}
	sec(&c.SessionExpires, f.Session.SessionExpires)
	sec(&c.MinSE, f.Session.MinSE)
	sec(&c.RequestTimeout, f.Session.RequestTimeout)
	sec(&c.ShutdownTimeout, f.Session.ShutdownTimeout)
	// keepalive 0 means off, so it is taken as written.
	c.KeepAlive = time.Duration(f.Session.KeepAlive) * time.Second
	if f.Session.QueueSize != 0 {
		c.QueueSize = f.Session.QueueSize
	}
	if f.Session.EventWindow != 0 {
		c.EventWindow = f.Session.EventWindow
	}
	c.InitialWindow = f.Session.InitialWindow // 0: none
	if f.Session.ConnWindow != 0 {
		c.ConnectionWindow = f.Session.ConnWindow
	}
	c.StrictKeepAlive = f.Session.StrictKeepAlive
	return c
}

// fixedConfigs is one contact-center configuration as callcontrol.Configs
// (for -check, before any reload can happen).
type fixedConfigs struct{ c *station.Config }

func (f fixedConfigs) Config() *station.Config { return f.c }
