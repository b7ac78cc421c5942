package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station"
	"github.com/rccserver/rccserver/station/switching"
)

// DefaultAdminListen is where the admin listener binds unless configured.
const DefaultAdminListen = "127.0.0.1:9110"

// admin serves /metrics, /healthz, /readyz, read-only JSON views and the
// reload endpoint `rccserver -reload` calls. It binds to loopback by
// default: nothing here is meant for the network.
func (d *daemon) adminHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{d}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := d.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /debug/sessions", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, d.sessionsView()) })
	mux.HandleFunc("GET /debug/calls", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, d.callsView()) })
	mux.HandleFunc("GET /debug/logins", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, d.loginsView()) })
	mux.HandleFunc("GET /debug/stations", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, d.stationsView()) })
	// Go's profiler, for performance work (docs/performance.md); loopback only, like the rest.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, d.reload(r.Context(), "admin"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// serveAdmin runs the admin listener until ctx ends.
func (d *daemon) serveAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: d.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ready reports why the daemon is not ready to serve, or nil.
func (d *daemon) ready() error {
	select {
	case <-d.started:
	default:
		return errors.New("starting")
	}
	if d.stopping.Load() {
		return errors.New("stopping")
	}
	if st := d.dir.Stats(); st.Entries == 0 && st.Syncs == 0 && !st.FromSnapshot {
		return errors.New("directory not loaded")
	}
	return nil
}

type sessionView struct {
	Ref      string            `json:"ref"` // a hash: dialog tags are never published
	CallID   string            `json:"call_id"`
	Peer     string            `json:"peer"`
	User     string            `json:"user"`
	Line     string            `json:"line"`
	Account  string            `json:"account"`
	Status   string            `json:"status"`
	Monitors map[string]string `json:"monitors"`
}

func (d *daemon) sessionsView() []sessionView {
	out := []sessionView{}
	for _, s := range d.rcc.Sessions() {
		g := s.Grant()
		out = append(out, sessionView{Ref: s.Ref(), CallID: s.CallID(), Peer: s.Peer(), User: s.User(), Line: s.Line(),
			Account: g.Account, Status: g.Status.String(), Monitors: s.Monitors()})
	}
	return out
}

type callView struct {
	Station string `json:"station"`
	CallID  string `json:"call_id"`
	State   string `json:"state"`
	Calling string `json:"calling"`
	Called  string `json:"called"`
}

func (d *daemon) callsView() []callView {
	out := []callView{}
	for _, st := range d.logins.Config().Stations {
		calls, err := d.sw.Snapshot(st.Extension)
		if err != nil {
			continue
		}
		for _, c := range calls {
			out = append(out, callView{Station: st.Extension, CallID: c.CallID, State: c.State.String(), Calling: c.Calling, Called: c.Called})
		}
	}
	return out
}

type stationView struct {
	Extension  string `json:"extension"`
	Name       string `json:"name"`
	Registered bool   `json:"registered"`
	User       string `json:"user,omitempty"`
}

func (d *daemon) stationsView() []stationView {
	out := []stationView{}
	for _, st := range (apiViews{d}).Stations() {
		out = append(out, stationView{Extension: st.Extension, Name: st.Name, Registered: d.sw.Registered(st.Extension), User: st.User})
	}
	return out
}

type loginView struct {
	User    string `json:"user"`
	State   string `json:"state"`
	Station string `json:"station,omitempty"`
}

func (d *daemon) loginsView() []loginView {
	cfg := d.logins.Config()
	holders := map[string]string{}
	for _, st := range cfg.Stations {
		if u, ok := d.logins.StationHolder(st.Name); ok {
			holders[u] = st.Name
		}
	}
	out := []loginView{}
	for _, u := range cfg.Users {
		out = append(out, loginView{User: u.ID, State: d.logins.UserState(u.ID).String(), Station: holders[u.ID]})
	}
	return out
}

// collector turns the daemon's live state into Prometheus metrics at scrape
// time, so no number is kept twice.
type collector struct{ d *daemon }

var (
	mSessions     = prometheus.NewDesc("rcc_sessions", "RCC sessions (signed-in clients) now.", nil, nil)
	mLogins       = prometheus.NewDesc("rcc_logins", "Contact-center users logged in to RCC now.", nil, nil)
	mRequests     = prometheus.NewDesc("rcc_csta_requests_total", "CSTA requests by request and result.", []string{"request", "result"}, nil)
	mEventsSent   = prometheus.NewDesc("rcc_events_sent_total", "CSTA event INFOs answered 2xx.", nil, nil)
	mEventsFailed = prometheus.NewDesc("rcc_events_failed_total", "CSTA event INFOs refused or unanswered.", nil, nil)
	mEventsDrop   = prometheus.NewDesc("rcc_events_dropped_total", "CSTA events dropped because a session's queue was full.", nil, nil)
	mKeepAlive    = prometheus.NewDesc("rcc_keepalive_failures_total", "Keep-alive INFOs that ended a session.", nil, nil)
	mUnanswered   = prometheus.NewDesc("rcc_infos_unanswered_total", "Event and keep-alive INFOs with no answer in time or a 408 (sessions kept).", nil, nil)
	mWindowFull   = prometheus.NewDesc("rcc_info_window_full_total", "INFOs whose answer was no longer awaited because the session's window was full.", nil, nil)
	mRefusals     = prometheus.NewDesc("rcc_refusals_total", "Refused sign-ins and requests by log code.", []string{"code"}, nil)
	mDirSyncs     = prometheus.NewDesc("rcc_directory_syncs_total", "Successful directory loads.", nil, nil)
	mDirFailures  = prometheus.NewDesc("rcc_directory_sync_failures_total", "Failed directory loads.", nil, nil)
	mDirEntries   = prometheus.NewDesc("rcc_directory_entries", "Users the directory answers for.", nil, nil)
	mDirSkipped   = prometheus.NewDesc("rcc_directory_skipped_entries", "Directory objects the last load left out.", nil, nil)
	mDirRefused   = prometheus.NewDesc("rcc_directory_refreshes_refused_total", "Directory loads refused because they returned no users or far fewer than the directory had (Cs_DirectoryEmpty, Cs_DirectoryShrunk).", nil, nil)
	mRegistered   = prometheus.NewDesc("rcc_phone_registrations", "Stations with a live registration.", nil, nil)
	mCalls        = prometheus.NewDesc("rcc_connections", "Station connections in calls, by state.", []string{"state"}, nil)
	mCertDays     = prometheus.NewDesc("rcc_certificate_days_left", "Days until the TLS listener's certificate expires.", []string{"listener", "subject"}, nil)
	mAccessDenied = prometheus.NewDesc("rcc_access_denied_total", "Connections refused by the access list or the MTLS policy.", nil, nil)
	mTLSFailures  = prometheus.NewDesc("rcc_tls_failures_total", "TLS handshakes that failed (timeout, plaintext on the TLS port, …).", nil, nil)
	// The phones' side (station/switching): refusals by log code, and call legs lost.
	mPhoneRefusals = prometheus.NewDesc("rcc_phone_refusals_total", "Refusals on the phones' listeners by log code (Cs_PhoneAccessDenied, Cs_PhoneAuthFailed, Cs_PhoneAuthRateLimited, and the SIP edge's codes).", []string{"code"}, nil)
	mPhoneLegsLost = prometheus.NewDesc("rcc_phone_legs_lost_total", "Call legs cleared because the device stopped answering (Cs_PhoneLegLost).", nil, nil)
	mSwitchDrop    = prometheus.NewDesc("rcc_switch_events_dropped_total", "Switch events lost to full subscriber queues (CSTA monitors, the API stream); each drop queues a resync marker.", nil, nil)
	mResyncs       = prometheus.NewDesc("rcc_event_resyncs_total", "Lines whose monitors were resynchronised from the switch's snapshot after dropped events (Cs_EventsResynced).", nil, nil)
	// Cluster (only with cluster.etcd): lease state and refused station takes.
	mClusterLease   = prometheus.NewDesc("rcc_cluster_lease_healthy", "1 while this node's etcd lease is confirmed alive, 0 when unconfirmed or lost (cluster.etcd only).", nil, nil)
	mClusterAdopted = prometheus.NewDesc("rcc_cluster_adoptions_total", "Sessions of dead nodes adopted by this node (Cs_SessionAdopted; cluster.etcd only).", nil, nil)
	mClusterRefused = prometheus.NewDesc("rcc_cluster_takes_refused_total", "Station takes in etcd refused, by log code (Cs_StationInUseByAnotherUser, Cs_ClusterUnavailable, Cs_ClusterLeaseLost, …).", []string{"code"}, nil)
	// Latency: CSTA requests from decode to answer, event INFOs from send to 2xx.
	mRequestSeconds = prometheus.NewDesc("rcc_csta_request_duration_seconds", "Time from a decoded CSTA request to its answer.", nil, nil)
	mEventSeconds   = prometheus.NewDesc("rcc_event_delivery_duration_seconds", "Round trip of CSTA event INFOs answered 2xx.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mSessions, mLogins, mRequests, mEventsSent, mEventsFailed, mEventsDrop, mKeepAlive,
		mUnanswered, mWindowFull, mRefusals, mDirSyncs, mDirFailures, mDirEntries, mDirSkipped, mDirRefused, mRegistered, mCalls, mCertDays,
		mAccessDenied, mTLSFailures, mPhoneRefusals, mPhoneLegsLost, mSwitchDrop, mResyncs, mRequestSeconds, mEventSeconds, mClusterLease, mClusterRefused, mClusterAdopted} {
		ch <- d
	}
	for _, d := range clusterDescs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	st := d.rcc.Stats()
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge(mSessions, float64(st.Sessions))
	counter(mEventsSent, float64(st.EventsSent))
	counter(mEventsFailed, float64(st.EventsFailed))
	counter(mEventsDrop, float64(st.EventsDropped))
	counter(mKeepAlive, float64(st.KeepAliveFailures))
	counter(mUnanswered, float64(st.Unanswered))
	counter(mWindowFull, float64(st.WindowFull))
	for k, v := range st.ByRequest {
		counter(mRequests, float64(v), k.Request, k.Result)
	}
	for code, v := range st.Refusals {
		counter(mRefusals, float64(v), code)
	}
	for desc, h := range map[*prometheus.Desc]rccserver.Histogram{mRequestSeconds: st.RequestLatency, mEventSeconds: st.EventLatency} {
		ch <- prometheus.MustNewConstHistogram(desc, h.Count, h.SumSeconds, h.Buckets)
	}
	counter(mAccessDenied, float64(st.AccessDenied))
	counter(mTLSFailures, float64(st.TLSFailures))
	for _, ts := range d.rcc.TLSStatus() {
		gauge(mCertDays, float64(ts.DaysLeft), ts.Addr, ts.Subject)
	}
	for code, v := range d.sw.Refusals() {
		if code == switching.CodePhoneLegLost {
			counter(mPhoneLegsLost, float64(v))
			continue
		}
		counter(mPhoneRefusals, float64(v), string(code))
	}
	if d.own != nil {
		healthy := 0.0
		if d.own.node.Healthy() {
			healthy = 1
		}
		gauge(mClusterLease, healthy)
		for code, v := range d.own.refusals() {
			counter(mClusterRefused, float64(v), code)
		}
		counter(mClusterAdopted, float64(d.rcc.Adoptions()))
		d.own.metrics.collect(ch)
	}
	node, role := d.clusterRole()
	gauge(mClusterRole, 1, node, role)
	counter(mSwitchDrop, float64(d.sw.DroppedEvents()))
	counter(mResyncs, float64(d.csta.Resyncs()))
	ds := d.dir.Stats()
	counter(mDirSyncs, float64(ds.Syncs))
	counter(mDirFailures, float64(ds.Failures))
	gauge(mDirEntries, float64(ds.Entries))
	gauge(mDirSkipped, float64(ds.Skipped))
	counter(mDirRefused, float64(ds.Refused))
	cfg := d.logins.Config()
	logins, registered := 0, 0
	states := map[string]int{}
	for _, u := range cfg.Users {
		if d.logins.UserState(u.ID) == station.UserStateLoggedInToRCC {
			logins++
		}
	}
	for _, s := range cfg.Stations {
		if d.sw.Registered(s.Extension) {
			registered++
		}
		calls, _ := d.sw.Snapshot(s.Extension)
		for _, call := range calls {
			states[call.State.String()]++
		}
	}
	gauge(mLogins, float64(logins))
	gauge(mRegistered, float64(registered))
	for s, n := range states {
		gauge(mCalls, float64(n), s)
	}
}
