package rccserver_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// harness runs a server on 127.0.0.1:0 (TCP) for one test.
type harness struct {
	t      testing.TB
	srv    *rccserver.Server
	addr   string
	cancel context.CancelFunc
	done   chan error

	clients []*lynctest.Client

	mu      sync.Mutex
	ended   []error // end reasons, in order
	release int     // Grant.Release calls
}

type harnessOpts struct {
	cfg       func(*rccserver.Config)
	clock     rccserver.Clock
	admission rccserver.Admission
	handler   rccserver.Handler
	sessions  rccserver.SessionStore // session records (adopt_test.go)
	adoptWait time.Duration
}

func start(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, done: make(chan error, 1)}
	cfg := rccserver.DefaultConfig()
	cfg.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "127.0.0.1:0"}}
	cfg.Domains = []string{"rcc.example.com", "127.0.0.1"}
	cfg.KeepAlive = 0
	cfg.RequestTimeout = 2 * time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	if o.admission == nil {
		o.admission = rccserver.AdmissionFunc(func(ctx context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
			return &rccserver.Grant{Status: csta.StatusNormal, Release: h.released}, nil
		})
	}
	if o.handler == nil {
		o.handler = echoHandler{}
	}
	srv, err := rccserver.New(rccserver.Options{
		Config: cfg, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
		Clock: o.clock, Admission: hookAdmission{h, o.admission}, Handler: o.handler,
		Sessions: o.sessions, AdoptWait: o.adoptWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	h.srv, h.addr = srv, srv.Addrs()[0].String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- srv.Serve(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Error("Serve did not return after cancel")
	}
	// Clients close after the server, so its BYEs find them.
	for _, c := range h.clients {
		_ = c.Close()
	}
}

func (h *harness) released() {
	h.mu.Lock()
	h.release++
	h.mu.Unlock()
}

// hookAdmission records every session's end reason.
type hookAdmission struct {
	h     *harness
	inner rccserver.Admission
}

func (a hookAdmission) Admit(ctx context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
	return a.inner.Admit(ctx, req)
}

// waitEnded waits until a session ended with a reason that is target.
func (h *harness) waitEnded(target error, within time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		found := slices.ContainsFunc(h.ended, func(e error) bool { return errors.Is(e, target) })
		h.mu.Unlock()
		if found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t.Fatalf("no session ended with %v within %v; ended: %v", target, within, h.ended)
}

// waitSessions waits until the server holds n sessions.
func (h *harness) waitSessions(n int, within time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if len(h.srv.Sessions()) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("server holds %d sessions, want %d", len(h.srv.Sessions()), n)
}

// watch registers an end hook on every current session.
func (h *harness) watch() {
	for _, s := range h.srv.Sessions() {
		s.OnEnd(func(reason error) {
			h.mu.Lock()
			h.ended = append(h.ended, reason)
			h.mu.Unlock()
		})
	}
}

// client signs a Lync-shaped client in and fails the test if refused.
// nextKeepAlive waits until the server has scheduled a keep-alive, moves
// clock one period on and returns what c receives then.
func (h *harness) nextKeepAlive(c *lynctest.Client, clock *fakeClock, period time.Duration) lynctest.Event {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.KeepAlivesScheduled() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	clock.Advance(period)
	ev, err := c.NextEvent(ctxT(h.t, 5*time.Second))
	if err != nil {
		h.t.Fatal(err)
	}
	return ev
}

func (h *harness) client(opts lynctest.Options) *lynctest.Client {
	h.t.Helper()
	c := h.newClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.SignIn(ctx); err != nil {
		h.t.Fatalf("SignIn: %v", err)
	}
	h.watch()
	return c
}

func (h *harness) newClient(opts lynctest.Options) *lynctest.Client {
	h.t.Helper()
	if opts.Server == "" {
		opts.Server = h.addr
	}
	if opts.User == "" {
		opts.User = "sip:alice@example.com"
	}
	if opts.Line == "" {
		opts.Line = "tel:73124;phone-context=dialstring"
	}
	if opts.Domain == "" {
		opts.Domain = "rcc.example.com"
	}
	c, err := lynctest.New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.clients = append(h.clients, c)
	return c
}

// echoHandler answers MonitorStart with the line as cross-ref, and MakeCall
// with three events sent before its response is returned.
type echoHandler struct{}

func (echoHandler) HandleCSTA(ctx context.Context, s *rccserver.Session, req csta.Message) (csta.Message, error) {
	switch m := req.(type) {
	case *csta.MonitorStart:
		s.AddMonitor("x1", m.MonitorObject)
		return &csta.MonitorStartResponse{MonitorCrossRefID: "x1"}, nil
	case *csta.MakeCall:
		conn := csta.ConnectionID{CallID: "c1", DeviceID: m.CallingDevice}
		for _, ev := range []csta.Message{
			&csta.ServiceInitiatedEvent{MonitorCrossRefID: "x1", InitiatedConnection: conn, InitiatingDevice: csta.Device(m.CallingDevice)},
			&csta.OriginatedEvent{MonitorCrossRefID: "x1", OriginatedConnection: conn, CallingDevice: csta.Device(m.CallingDevice), CalledDevice: csta.Device(m.CalledDirectoryNumber)},
			&csta.DeliveredEvent{MonitorCrossRefID: "x1", Connection: conn, AlertingDevice: csta.Device(m.CalledDirectoryNumber), CallingDevice: csta.Device(m.CallingDevice), CalledDevice: csta.Device(m.CalledDirectoryNumber)},
		} {
			if err := s.Send(ev); err != nil {
				return nil, err
			}
		}
		return &csta.MakeCallResponse{CallingDevice: conn}, nil
	case *csta.AnswerCall:
		return nil, &rccserver.RequestError{Code: rccserver.CodePrivilegeViolation,
			Answer: csta.OperationError(csta.OpPrivilegeViolationSpecifiedDevice), Err: errors.New("not your call")}
	case *csta.HoldCall:
		return nil, errors.New("switch exploded")
	}
	return nil, csta.OperationError(csta.OpServiceNotSupported)
}

// fakeClock fires timers only when advanced.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	d    time.Duration
	f    func()
	live bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) rccserver.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), d: d, f: f, live: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.live = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.at, t.d, t.live = t.c.now.Add(d), d, true
	return was
}

// Advance moves time forward and runs every timer that falls due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if t.live && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.live = false
		c.now = next.at
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// armed returns the durations of live timers.
func (c *fakeClock) armed() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if t.live {
			out = append(out, t.d)
		}
	}
	return out
}
