package rccserver_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func TestSignIn(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.newClient(lynctest.Options{})
	res, err := c.SignIn(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"Require":             "timer",
		"Supported":           "timer",
		"Session-Expires":     "1800;refresher=uac",
		"Content-Type":        "application/csta+xml",
		"Content-Disposition": "signal;handling=required",
	} {
		if got := header(res, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, m := range []string{"UPDATE", "INFO", "INVITE", "BYE"} {
		if !strings.Contains(header(res, "Allow"), m) {
			t.Errorf("Allow %q lacks %s", header(res, "Allow"), m)
		}
	}
	if got, want := res.Contact().Address.String(), "sip:"+h.addr+";transport=tcp"; got != want {
		t.Errorf("Contact %q, want the listener's %q", got, want)
	}
	msg, err := csta.Decode(res.Body())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&csta.RequestSystemStatusResponse{SystemStatus: csta.StatusNormal}, msg); diff != "" {
		t.Fatal(diff)
	}
	h.waitSessions(1, 2*time.Second)
	s := h.srv.Sessions()[0]
	if s.Line() != "tel:73124;phone-context=dialstring" || s.User() != "sip:alice@example.com" {
		t.Fatalf("session identity %q %q", s.User(), s.Line())
	}
}

func TestInfoRoundTrip(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	answer, res, err := c.Request(ctxT(t, 5*time.Second), &csta.MonitorStart{MonitorObject: "tel:73124;phone-context=dialstring"})
	if err != nil {
		t.Fatal(err)
	}
	if header(res, "Content-Type") != csta.ContentType {
		t.Errorf("Content-Type %q", header(res, "Content-Type"))
	}
	if diff := cmp.Diff(&csta.MonitorStartResponse{MonitorCrossRefID: "x1"}, answer); diff != "" {
		t.Fatal(diff)
	}
	if got := h.srv.Sessions()[0].Monitors()["x1"]; got != "tel:73124;phone-context=dialstring" {
		t.Fatalf("monitor device %q", got)
	}
	if header(res, "Content-Disposition") != "signal;handling=required" || res.CSeq() == nil || res.CSeq().MethodName != sip.INFO ||
		res.To() == nil || res.From() == nil || res.CallID() == nil {
		t.Fatalf("answer:\n%s", res)
	}
}

// TestEventsInOrder: the response leaves first, then the three events, in order.
func TestEventsInOrder(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	ctx := ctxT(t, 10*time.Second)
	for round := range 3 {
		answer, res, err := c.Request(ctx, &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:+3222220220"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := answer.(*csta.MakeCallResponse); !ok {
			t.Fatalf("answer %T", answer)
		}
		if header(res, "Content-Type") != csta.ContentType || header(res, "Content-Disposition") != "signal;handling=required" {
			t.Fatalf("answer:\n%s", res)
		}
		var roots []string
		for range 3 {
			ev, err := c.NextEvent(ctx)
			if err != nil {
				t.Fatalf("round %d: %v after %v", round, err, roots)
			}
			roots = append(roots, ev.Msg.Root())
		}
		want := []string{"ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"}
		if diff := cmp.Diff(want, roots); diff != "" {
			t.Fatalf("round %d order (-want +got):\n%s", round, diff)
		}
	}
	// The counter moves when each INFO's answer arrives, just after the client saw it.
	deadline := time.Now().Add(2 * time.Second)
	for h.srv.Stats().EventsSent != 9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.EventsSent != 9 {
		t.Fatalf("events sent %d", st.EventsSent)
	}
	// Answered by the edge's fast path (fastinfo.go) once the dialog is
	// confirmed: the first request may race the ACK and take sipgo's path.
	if n := h.srv.FastInfos(); n < 2 {
		t.Fatalf("%d INFOs on the fast path, want at least 2", n)
	}
}

// TestRefreshAndExpiry drives the session timer with a fake clock: UPDATE and
// re-INVITE push the expiry out; without a refresh the server sends BYE at
// interval − min(32 s, interval/3) (RFC 4028 §10).
func TestRefreshAndExpiry(t *testing.T) {
	for _, method := range []string{"UPDATE", "re-INVITE"} {
		t.Run(method, func(t *testing.T) {
			clock := newFakeClock()
			h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) { c.SessionExpires = 300 * time.Second }})
			c := h.client(lynctest.Options{SessionExpires: 120})
			ctx := ctxT(t, 10*time.Second)
			// 120 s granted (the client's value, under our 300 s): BYE due
			// at 120 − min(32, 120/3) = 88 s.
			waitArmed(t, clock, 88*time.Second)
			for range 3 {
				clock.Advance(70 * time.Second)
				var res *sip.Response
				var err error
				if method == "UPDATE" {
					res, err = c.Update(ctx)
				} else {
					res, err = c.ReInvite(ctx)
				}
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("%s: %v %v", method, res, err)
				}
				if got := header(res, "Session-Expires"); got != "120;refresher=uac" {
					t.Fatalf("Session-Expires %q", got)
				}
				if method == "re-INVITE" {
					if m, err := csta.Decode(res.Body()); err != nil || m.(*csta.RequestSystemStatusResponse).SystemStatus != csta.StatusNormal {
						t.Fatalf("re-INVITE body %v %v", m, err)
					}
				}
			}
			// 210 s have passed since sign-in: only the refreshes kept it alive.
			if len(h.srv.Sessions()) != 1 {
				t.Fatal("session ended despite refreshes")
			}
			clock.Advance(89 * time.Second)
			if _, err := c.WaitBye(ctx); err != nil {
				t.Fatalf("no BYE after expiry: %v", err)
			}
			h.waitEnded(rccserver.ErrSessionExpired, 2*time.Second)
			h.waitSessions(0, 2*time.Second)
		})
	}
}

func TestSessionIntervalTooSmall(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.newClient(lynctest.Options{SessionExpires: 30})
	res, err := c.SignIn(ctxT(t, 5*time.Second))
	if err == nil || res == nil || res.StatusCode != 422 {
		t.Fatalf("want 422, got %v %v", res, err)
	}
	if got := header(res, "Min-SE"); got != "90" {
		t.Fatalf("Min-SE %q", got)
	}
}

// TestKeepAlive: each tick of the keep-alive period sends one SystemStatus
// INFO and re-arms the timer with the configured period.
func TestKeepAlive(t *testing.T) {
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) { c.KeepAlive = 45 * time.Second }})
	c := h.client(lynctest.Options{})
	ctx := ctxT(t, 10*time.Second)
	waitArmed(t, clock, 45*time.Second)
	for range 3 {
		clock.Advance(45 * time.Second)
		ev, err := c.NextEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&csta.SystemStatusMsg{SystemStatus: csta.StatusNormal}, ev.Msg); diff != "" {
			t.Fatal(diff)
		}
		// Sent by the keep-alive table, not a sipgo transaction (keepalive.go),
		// and a complete in-dialog request all the same.
		if b, _ := ev.Req.Via().Params.Get("branch"); !strings.HasPrefix(b, "z9hG4bK.ka") {
			t.Fatalf("keep-alive branch %q: not sent by the keep-alive table", b)
		}
		for _, name := range []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Contact", "Content-Type", "Content-Disposition", "Content-Length"} {
			if ev.Req.GetHeader(name) == nil {
				t.Fatalf("keep-alive without %s:\n%s", name, ev.Req)
			}
		}
		waitArmed(t, clock, 45*time.Second)
	}
	if len(h.srv.Sessions()) != 1 {
		t.Fatal("session lost")
	}
	if st := h.srv.Stats(); st.Unanswered != 0 || st.KeepAliveFailures != 0 {
		t.Fatalf("answered keep-alives counted unanswered %d, failed %d", st.Unanswered, st.KeepAliveFailures)
	}
	// The answers came through the edge's scan, not sipgo's parse (sipedge.Answers).
	deadline := time.Now().Add(5 * time.Second) // the last answer may still be on its way
	for h.srv.AnswersTaken() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.srv.AnswersTaken(); n != 3 {
		t.Fatalf("%d answers taken at the edge, want 3", n)
	}
}

// waitArmed waits until a timer of period d is armed (the keep-alive re-arms
// after its INFO is answered, on another goroutine).
func waitArmed(t *testing.T, clock *fakeClock, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, a := range clock.armed() {
			if a == d {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %v timer armed: %v", d, clock.armed())
}

// TestKeepAliveFailureEndsSession: a 481 to a keep-alive ends the session
// (the client no longer knows the dialog); 408 and silence do not
// (TestUnansweredKeepAliveKeepsSession) unless strict (TestStrictKeepAlive).
func TestKeepAliveFailureEndsSession(t *testing.T) {
	tests := map[string]int{"481": 481}
	for name, status := range tests {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
				c.KeepAlive = 30 * time.Second
				c.RequestTimeout = 1 * time.Second
			}})
			h.client(lynctest.Options{InfoStatus: func(m csta.Message) int {
				if _, ok := m.(*csta.SystemStatusMsg); ok {
					return status
				}
				return 200
			}})
			waitArmed(t, clock, 30*time.Second)
			clock.Advance(30 * time.Second)
			h.waitEnded(rccserver.ErrKeepAliveFailed, 5*time.Second)
			h.waitSessions(0, time.Second)
			if h.srv.Stats().KeepAliveFailures != 1 {
				t.Fatalf("keep-alive failures %d", h.srv.Stats().KeepAliveFailures)
			}
			if n := h.srv.AnswersTaken(); n != 1 {
				t.Fatalf("%d answers taken at the edge, want the 481", n)
			}
		})
	}
}

// TestKeepAliveOtherErrorKeepsSession: a client that answers 501 to our INFO
// is still there; only a 481 ends the session.
func TestKeepAliveOtherErrorKeepsSession(t *testing.T) {
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) { c.KeepAlive = 30 * time.Second }})
	h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 501 }})
	waitArmed(t, clock, 30*time.Second)
	clock.Advance(30 * time.Second)
	waitArmed(t, clock, 30*time.Second)
	if len(h.srv.Sessions()) != 1 {
		t.Fatal("session ended on 501")
	}
}

func TestConnectionCloseEndsSession(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	_ = c.Close() // the client's user agent closes its TCP connection
	h.waitEnded(rccserver.ErrConnectionClosed, 5*time.Second)
	h.waitSessions(0, time.Second)
}

func TestByeEndsSessionAndReleases(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	h.waitEnded(rccserver.ErrRemoteBye, 2*time.Second)
	h.waitSessions(0, time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release != 1 {
		t.Fatalf("Grant.Release called %d times", h.release)
	}
}

func TestUnknownDialog481(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	ctx := ctxT(t, 5*time.Second)
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitSessions(0, time.Second)
	for _, send := range []func() (*sip.Response, error){
		func() (*sip.Response, error) {
			return c.RequestRaw(ctx, csta.ContentType, []byte(`<GetDoNotDisturb><device>tel:1</device></GetDoNotDisturb>`))
		},
		func() (*sip.Response, error) { return c.Update(ctx) },
	} {
		res, err := send()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 481 {
			t.Fatalf("status %d, want 481", res.StatusCode)
		}
	}
}

func TestRefusedSignIns(t *testing.T) {
	tests := []struct {
		name   string
		opts   lynctest.Options
		status int
		reason string
	}{
		{"foreign domain", lynctest.Options{Domain: "elsewhere.example.com"}, 404, "Cs_UnknownLineServer"},
		{"admission refusal", lynctest.Options{User: "sip:mallory@example.com"}, 403, "Cs_NoClientLicense"},
	}
	admission := rccserver.AdmissionFunc(func(ctx context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
		if req.User == "sip:mallory@example.com" {
			return nil, &rccserver.Refusal{Status: 403, Code: "Cs_NoClientLicense", Reason: "no client licence"}
		}
		return &rccserver.Grant{Status: csta.StatusNormal}, nil
	})
	h := start(t, harnessOpts{admission: admission})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := h.newClient(tc.opts)
			res, err := c.SignIn(ctxT(t, 5*time.Second))
			if err == nil || res == nil {
				t.Fatalf("accepted: %v %v", res, err)
			}
			if res.StatusCode != tc.status || res.Reason != tc.reason {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, res.Reason, tc.status, tc.reason)
			}
			if !strings.Contains(header(res, "Warning"), tc.reason) {
				t.Fatalf("Warning %q lacks %s", header(res, "Warning"), tc.reason)
			}
		})
	}
	if n := len(h.srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions after refusals", n)
	}
}

// TestDisabled: no feature licence → 200 with systemStatus disabled, and
// every CSTA request answered resourceOutOfService.
func TestDisabled(t *testing.T) {
	admission := rccserver.AdmissionFunc(func(ctx context.Context, req rccserver.AdmitRequest) (*rccserver.Grant, error) {
		return &rccserver.Grant{Status: csta.StatusDisabled, Code: rccserver.CodeNoFeatureLicense}, nil
	})
	h := start(t, harnessOpts{admission: admission})
	c := h.newClient(lynctest.Options{})
	ctx := ctxT(t, 5*time.Second)
	res, err := c.SignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := csta.Decode(res.Body()); m.(*csta.RequestSystemStatusResponse).SystemStatus != csta.StatusDisabled {
		t.Fatalf("body %s", res.Body())
	}
	answer, _, err := c.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(csta.ResourceError(csta.ResourceOutOfService), answer); diff != "" {
		t.Fatal(diff)
	}
}

// TestBadInfoBodies: each bad request gets its documented answer and the
// session keeps working.
func TestBadInfoBodies(t *testing.T) {
	h := start(t, harnessOpts{})
	c := h.client(lynctest.Options{})
	other := h.client(lynctest.Options{User: "sip:bob@example.com"})
	ctx := ctxT(t, 10*time.Second)
	tests := []struct {
		name   string
		ct     string
		body   string
		status int
		answer csta.Message
	}{
		{"malformed", csta.ContentType, `<MakeCall><callingDevice>`, 200, csta.OperationError(csta.OpGeneric)},
		{"unknown root", csta.ContentType, `<MakeCoffee/>`, 200, csta.OperationError(csta.OpServiceNotSupported)},
		{"missing child", csta.ContentType, `<MakeCall><callingDevice>x</callingDevice></MakeCall>`, 200, csta.OperationError(csta.OpMissingParameter)},
		{"bad value", csta.ContentType, `<SetDoNotDisturb><device>x</device><doNotDisturbOn>perhaps</doNotDisturbOn></SetDoNotDisturb>`, 200, csta.OperationError(csta.OpInvalidParameterValue)},
		{"handler refusal", csta.ContentType, `<AnswerCall><callToBeAnswered><callID>9</callID></callToBeAnswered></AnswerCall>`, 200, csta.OperationError(csta.OpPrivilegeViolationSpecifiedDevice)},
		{"handler failure", csta.ContentType, `<HoldCall><callToBeHeld><callID>9</callID></callToBeHeld></HoldCall>`, 200, csta.OperationError(csta.OpGeneric)},
		{"client system status", csta.ContentType, `<SystemStatus><systemStatus>normal</systemStatus></SystemStatus>`, 200, &csta.SystemStatusResponse{}},
		{"wrong content type", "text/plain", `hello`, 415, nil},
		{"no body", "", ``, 415, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.RequestRaw(ctx, tc.ct, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.answer == nil {
				return
			}
			got, err := csta.Decode(res.Body())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.answer, got); diff != "" {
				t.Fatal(diff)
			}
		})
	}
	// Both sessions still work.
	for _, cl := range []*lynctest.Client{c, other} {
		if _, _, err := cl.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInviteBodies(t *testing.T) {
	h := start(t, harnessOpts{})
	tests := []struct {
		name   string
		ct     string
		body   string
		status int
	}{
		{"no body", "", "", 415},
		{"sdp", "application/sdp", "v=0\r\n", 415},
		{"malformed", csta.ContentType, "<RequestSystemStatus>", 400},
		{"not RequestSystemStatus", csta.ContentType, "<MonitorStopResponse/>", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := rawInvite(t, h.addr, tc.ct, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.status)
			}
		})
	}
	if len(h.srv.Sessions()) != 0 {
		t.Fatal("a refused INVITE left a session")
	}
}

func TestOptions(t *testing.T) {
	h := start(t, harnessOpts{})
	res := rawRequest(t, h.addr, sip.OPTIONS, "", "")
	if res.StatusCode != 200 || !strings.Contains(header(res, "Allow"), "INFO") || header(res, "Accept") != csta.ContentType {
		t.Fatalf("OPTIONS answer %d Allow=%q Accept=%q", res.StatusCode, header(res, "Allow"), header(res, "Accept"))
	}
}

// TestShutdownSendsBye: stopping the server BYEs every session.
func TestShutdownSendsBye(t *testing.T) {
	h := start(t, harnessOpts{})
	a := h.client(lynctest.Options{})
	b := h.client(lynctest.Options{User: "sip:bob@example.com"})
	h.stop()
	ctx := ctxT(t, 5*time.Second)
	for _, c := range []*lynctest.Client{a, b} {
		if _, err := c.WaitBye(ctx); err != nil {
			t.Fatalf("no BYE on shutdown: %v", err)
		}
	}
	h.waitEnded(rccserver.ErrShutdown, time.Second)
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		mutate func(*rccserver.Config)
		key    string
	}{
		{func(c *rccserver.Config) { c.KeepAlive = 1200 * time.Second }, "session.keepalive"},
		{func(c *rccserver.Config) { c.KeepAlive = -time.Second }, "session.keepalive"},
		{func(c *rccserver.Config) { c.Domains = nil }, "listen.domains"},
		{func(c *rccserver.Config) { c.Listeners[0].Transport = "sctp" }, "listen.listeners[0].transport"},
		{func(c *rccserver.Config) { c.Listeners[0].Addr = "nowhere" }, "listen.listeners[0].addr"},
		{func(c *rccserver.Config) { c.SessionExpires = time.Second }, "session.session_expires"},
	}
	for _, tc := range tests {
		cfg := rccserver.DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, rccserver.ErrConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("error %v does not name %s", err, tc.key)
		}
	}
	cfg := rccserver.DefaultConfig()
	cfg.KeepAlive = 1199 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatalf("1199 s refused: %v", err)
	}
	cfg.KeepAlive = 0
	if err := cfg.Validate(); err != nil {
		t.Fatalf("0 (off) refused: %v", err)
	}
}

// TestKeepAliveBatch: sessions on one connection (behind a front end) whose
// keep-alives fall due together each get theirs, with its own CSeq and
// branch, in one batch (docs/sessions.md, "Keep-alive"), and the answers
// are matched to each.
func TestKeepAliveBatch(t *testing.T) {
	ua, err := lynctest.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() }) // after the server's stop: its BYEs find the clients
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) { c.KeepAlive = 30 * time.Second }})
	users := []string{"sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com"}
	var clients []*lynctest.Client
	for _, u := range users {
		clients = append(clients, h.client(lynctest.Options{UA: ua, User: u}))
	}
	// The server schedules a session's keep-alives once it has the ACK,
	// after the client's sign-in returns.
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.KeepAlivesScheduled() < len(users) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	waitArmed(t, clock, 30*time.Second)
	for round := range 2 {
		clock.Advance(30 * time.Second)
		branches := map[string]bool{}
		for i, c := range clients {
			ev, err := c.NextEvent(ctxT(t, 5*time.Second))
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, users[i], err)
			}
			if _, ok := ev.Msg.(*csta.SystemStatusMsg); !ok {
				t.Fatalf("round %d, %s: %T", round, users[i], ev.Msg)
			}
			b, _ := ev.Req.Via().Params.Get("branch")
			if branches[b] {
				t.Fatalf("branch %q twice", b)
			}
			branches[b] = true
		}
		// One timer, one batch: all three fell due in the same firing.
		if due, _ := h.srv.KeepAlivesSent(); due != uint64(len(users)*(round+1)) {
			t.Fatalf("round %d: %d keep-alives fell due, want %d", round, due, len(users)*(round+1))
		}
		// Answered: nothing is due on the connection any more.
		for deadline := time.Now().Add(5 * time.Second); h.srv.AnswersDue() != 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d bytes of answers still due", round, h.srv.AnswersDue())
			}
		}
	}
	if st := h.srv.Stats(); st.Unanswered != 0 || st.KeepAliveFailures != 0 || len(h.srv.Sessions()) != len(users) {
		t.Fatalf("unanswered %d, failed %d, sessions %d", st.Unanswered, st.KeepAliveFailures, len(h.srv.Sessions()))
	}
}

// TestKeepAliveAnswersDue: a batch of keep-alives on one connection makes
// its answers due (the edge then reads them at one wake-up,
// sipedge/coalesce.go), counted from what each answer must copy of its
// request; answers that never come stop counting when their INFOs time
// out.
func TestKeepAliveAnswersDue(t *testing.T) {
	ua, err := lynctest.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
		c.KeepAlive = 30 * time.Second
		c.RequestTimeout = time.Second
	}})
	users := []string{"sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com"}
	var clients []*lynctest.Client
	for _, u := range users {
		clients = append(clients, h.client(lynctest.Options{UA: ua, User: u, InfoStatus: func(m csta.Message) int {
			if _, ok := m.(*csta.SystemStatusMsg); ok {
				return 0 // no answer
			}
			return 200
		}}))
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.KeepAlivesScheduled() < len(users) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	waitArmed(t, clock, 30*time.Second)
	clock.Advance(30 * time.Second)
	var floor int
	for i, c := range clients {
		ev, err := c.NextEvent(ctxT(t, 5*time.Second))
		if err != nil {
			t.Fatalf("%s: %v", users[i], err)
		}
		// The answer's floor: less than the INFO without its body and the
		// headers an answer need not copy, more than half of it.
		floor += len(ev.Req.String()) - len(ev.Req.Body())
	}
	if due := h.srv.AnswersDue(); due <= floor/4 || due >= floor {
		t.Fatalf("%d bytes of answers due for %d bytes of INFO heads", due, floor)
	}
	for deadline := time.Now().Add(5 * time.Second); h.srv.AnswersDue() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still due after the INFOs timed out", h.srv.AnswersDue())
		}
	}
	// The timed-out INFOs are counted just after they stop being due
	// (infoTable.expire acts on them outside its lock).
	for deadline := time.Now().Add(5 * time.Second); h.srv.Stats().Unanswered < int64(len(users)) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.Unanswered != int64(len(users)) || len(h.srv.Sessions()) != len(users) {
		t.Fatalf("unanswered %d, sessions %d", st.Unanswered, len(h.srv.Sessions()))
	}
}

// TestForgedAnswerIgnored: an answer to a session's INFO that comes on
// another connection settles nothing, even with the right branch, Call-ID
// and CSeq: a 481 forged by another client does not end the session.
func TestForgedAnswerIgnored(t *testing.T) {
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
		c.KeepAlive = 30 * time.Second
		c.RequestTimeout = time.Second
	}})
	c := h.client(lynctest.Options{InfoStatus: func(csta.Message) int { return 0 }}) // leaves it to the forger
	ev := h.nextKeepAlive(c, clock, 30*time.Second)
	forged := sip.NewResponseFromRequest(ev.Req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(forged.String())); err != nil {
		t.Fatal(err)
	}
	// The real outcome: unanswered after request_timeout, counted, session kept.
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.Stats().Unanswered < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.srv.Stats(); st.Unanswered != 1 || st.KeepAliveFailures != 0 || len(h.srv.Sessions()) != 1 {
		t.Fatalf("unanswered %d, keep-alive failures %d, sessions %d", st.Unanswered, st.KeepAliveFailures, len(h.srv.Sessions()))
	}
}
