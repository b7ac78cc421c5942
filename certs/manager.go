package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// ExpiryWarning is how close to its end a certificate must be for the
// manager to log a warning at every load and once a day.
const ExpiryWarning = 30 * 24 * time.Hour

// ManagerOptions are what NewManager needs.
type ManagerOptions struct {
	Config Config
	// Mutual turns on the client-certificate Policy (an mtls listener).
	Mutual bool
	// Name labels the manager's log lines (e.g. "mtls 0.0.0.0:11001").
	Name string
	Log  zerolog.Logger
	// Now is the clock for expiry and verification (nil: time.Now).
	Now func() time.Time
}

// Manager holds one listener's current TLS configuration and replaces it
// on Reload. Handshakes read it through GetConfigForClient, so a reload
// applies to the next connection and never to a live one.
type Manager struct {
	cfg    Config
	mutual bool
	name   string
	log    zerolog.Logger
	now    func() time.Time
	base   *tls.Config

	cur atomic.Pointer[snapshot]

	mu         sync.Mutex // serialises loads
	stamp      string     // fingerprint of the files at the last good load
	failed     string     // fingerprint whose load failed (already logged)
	lastExpiry time.Time  // last daily expiry check
}

// snapshot is one loaded generation.
type snapshot struct {
	cert   *tls.Certificate
	config *tls.Config
	loaded time.Time
}

// NewManager checks and loads the configuration; it fails if anything
// cannot be loaded.
func NewManager(o ManagerOptions) (*Manager, error) {
	if probs := o.Config.Problems(o.Mutual); len(probs) > 0 {
		return nil, probs[0]
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{cfg: o.Config, mutual: o.Mutual, name: o.Name, now: o.Now,
		log: o.Log.With().Str("listener", o.Name).Logger()}
	m.base = &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return m.cur.Load().config, nil
		},
	}
	if err := m.reload("start"); err != nil {
		return nil, err
	}
	if m.mutual && len(m.cfg.AllowedPeers) == 0 {
		m.log.Warn().Msg("mtls without allowed_peers: any certificate issued by client_ca is trusted")
	}
	if m.mutual && !m.cfg.RequiresClientAuthEKU() {
		m.log.Warn().Msg("mtls with require_client_auth_eku off: client certificates without the clientAuth EKU are trusted")
	}
	return m, nil
}

// TLSConfig returns the listener's configuration. It serves whatever the
// latest successful load produced: TLS 1.2 or later and, for MTLS, a
// request for a client certificate verified by the Policy.
func (m *Manager) TLSConfig() *tls.Config { return m.base }

// Reload re-reads every file now (on SIGHUP or -reload). On failure the
// previous certificate stays in service and the error is returned.
func (m *Manager) Reload() error { return m.reload("reload") }

// Run polls the files every ReloadInterval and reloads when one changed
// (modification time or size), until ctx is done. Polling avoids fsnotify
// and its pitfalls with editors' renames and Kubernetes' symlink swaps. It
// returns at once if polling is off.
func (m *Manager) Run(ctx context.Context) {
	interval := m.cfg.pollInterval()
	if interval == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		st := m.fingerprint()
		changed := st != m.stamp && st != m.failed
		if !changed && m.now().Sub(m.lastExpiry) >= 24*time.Hour {
			m.logExpiry(m.cur.Load().cert.Leaf)
		}
		m.mu.Unlock()
		if changed {
			_ = m.reload("file_change")
		}
	}
}

func (m *Manager) reload(trigger string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.fingerprint()
	snap, err := m.load()
	if err != nil {
		if st != m.failed || trigger != "file_change" {
			m.log.Error().Err(err).Str("trigger", trigger).Msg("TLS certificate not loaded; the previous one stays in service")
		}
		m.failed = st
		return err
	}
	m.cur.Store(snap)
	m.stamp, m.failed = st, ""
	leaf := snap.cert.Leaf
	m.log.Info().Str("trigger", trigger).Str("subject", leaf.Subject.String()).Str("issuer", leaf.Issuer.String()).
		Str("serial", leaf.SerialNumber.Text(16)).Time("not_after", leaf.NotAfter).Int("days_left", m.daysLeft(leaf)).
		Strs("names", PeerNames(leaf)).Msg("TLS certificate loaded")
	m.logExpiry(leaf)
	return nil
}

// load reads every file into a new snapshot.
func (m *Manager) load() (*snapshot, error) {
	cert, err := LoadCertificate(m.cfg)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLoad, err)
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}}
	if m.mutual {
		pool, _, err := LoadCAPool(m.cfg.ClientCA)
		if err != nil {
			return nil, err
		}
		policy := &Policy{Roots: pool, RequireClientAuthEKU: m.cfg.RequiresClientAuthEKU(), AllowedPeers: m.cfg.AllowedPeers, Now: m.now}
		// RequestClientCert, not RequireAndVerifyClientCert: crypto/tls would
		// refuse a missing certificate or EKU itself with an untyped error;
		// the Policy refuses every case with a reason. ClientCAs is sent in
		// the CertificateRequest so the client picks a certificate from our
		// CA (RFC 5246 §7.4.4, RFC 8446 §4.2.4).
		cfg.ClientAuth = tls.RequestClientCert
		cfg.ClientCAs = pool
		cfg.VerifyConnection = policy.VerifyConnection
	}
	return &snapshot{cert: cert, config: cfg, loaded: m.now()}, nil
}

// logExpiry warns inside ExpiryWarning and errs once expired. Called with mu held.
func (m *Manager) logExpiry(leaf *x509.Certificate) {
	m.lastExpiry = m.now()
	days := m.daysLeft(leaf)
	switch {
	case !m.now().Before(leaf.NotAfter):
		m.log.Error().Time("not_after", leaf.NotAfter).Int("days_left", days).Msg("TLS certificate has expired: clients will refuse it")
	case leaf.NotAfter.Sub(m.now()) < ExpiryWarning:
		m.log.Warn().Time("not_after", leaf.NotAfter).Int("days_left", days).Msg("TLS certificate expires soon: renew it (it is reloaded without a restart)")
	}
}

// fingerprint summarises the files' sizes and modification times.
func (m *Manager) fingerprint() string {
	var b strings.Builder
	for _, f := range []string{m.cfg.Cert, m.cfg.Key, m.cfg.Chain, m.cfg.PKCS12, m.cfg.ClientCA} {
		if f == "" {
			continue
		}
		if fi, err := os.Stat(f); err != nil {
			fmt.Fprintf(&b, "%s:missing;", f)
		} else {
			fmt.Fprintf(&b, "%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// Status describes the certificate in service.
type Status struct {
	Subject  string
	Serial   string // hexadecimal
	NotAfter time.Time
	DaysLeft int // whole days until NotAfter, negative once expired
	Loaded   time.Time
}

// Status returns the certificate in service, for logs, metrics and health.
func (m *Manager) Status() Status {
	s := m.cur.Load()
	leaf := s.cert.Leaf
	return Status{Subject: leaf.Subject.String(), Serial: leaf.SerialNumber.Text(16), NotAfter: leaf.NotAfter,
		DaysLeft: m.daysLeft(leaf), Loaded: s.loaded}
}

// Certificate returns the leaf certificate in service.
func (m *Manager) Certificate() *x509.Certificate { return m.cur.Load().cert.Leaf }

// DaysUntilExpiry returns the whole days until the certificate in service
// expires (rounded down; negative once expired).
func (m *Manager) DaysUntilExpiry() int { return m.daysLeft(m.Certificate()) }

func (m *Manager) daysLeft(leaf *x509.Certificate) int {
	return int(math.Floor(leaf.NotAfter.Sub(m.now()).Hours() / 24))
}
