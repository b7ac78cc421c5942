package switching

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestSingleStepTransfer: 1010 hands its call with 1020 over to 1030.
func TestSingleStepTransfer(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	c := phone(t, sw, "1030", "secret30", "manual")
	eb := subscribe(t, sw, "1020")
	id := establish(t, sw, a, b, "1010", "1020")
	if err := sw.SingleStepTransfer(t.Context(), "1010", id, "1030"); err != nil {
		t.Fatalf("SingleStepTransfer: %v", err)
	}
	next(t, eb, EventTransferred, inCall(id), about("1010"))
	a.WaitEvent("CALL_CLOSED")
	c.WaitEvent("CALL_INCOMING")
	c.Accept()
	next(t, eb, EventEstablished, inCall(id), about("1030"))
	waitFor(t, "1020 talking to 1030", func() bool {
		s, _ := sw.Snapshot("1030")
		return len(s) == 1 && s[0].CallID == id && s[0].State == ConnConnected
	})
	b.Hangup()
	c.WaitEvent("CALL_CLOSED")
}

// TestForwardBusyAndNoAnswer: 1020 refuses (486) and the call goes to its
// busy destination; then 1020 does not answer and the call goes to its
// no-answer destination after the ring timeout.
func TestForwardBusyAndNoAnswer(t *testing.T) {
	t.Parallel()
	cfg := twoStations()
	cfg.RingTimeout = 700 * time.Millisecond
	sw := startSwitch(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	c := phone(t, sw, "1030", "secret30", "manual")
	ea, eb := subscribe(t, sw, "1010"), subscribe(t, sw, "1020")
	if err := sw.SetForwarding("1020", ForwardBusy, true, "1030"); err != nil {
		t.Fatal(err)
	}
	ref, err := sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	b.WaitEvent("CALL_INCOMING")
	b.Hangup() // rejects the ringing call: 486
	d := next(t, eb, EventDiverted, inCall(ref.CallID), about("1020"))
	if d.Cause != CauseForwardBusy || d.DivertedTo != "1030" {
		t.Errorf("diverted = %+v", d)
	}
	c.WaitEvent("CALL_INCOMING")
	c.Accept()
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1030"))
	a.Hangup()
	c.WaitEvent("CALL_CLOSED")

	if err := sw.SetForwarding("1020", ForwardBusy, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := sw.SetForwarding("1020", ForwardNoAnswer, true, "1030"); err != nil {
		t.Fatal(err)
	}
	ref, err = sw.MakeCall(t.Context(), "1010", "1020")
	if err != nil {
		t.Fatal(err)
	}
	b.WaitEvent("CALL_INCOMING")
	d = next(t, eb, EventDiverted, inCall(ref.CallID), about("1020"))
	if d.Cause != CauseForwardNoAnswer {
		t.Errorf("diverted = %+v", d)
	}
	b.WaitEvent("CALL_CLOSED")
	c.WaitEvent("CALL_INCOMING")
	c.Accept()
	next(t, ea, EventEstablished, inCall(ref.CallID), about("1030"))
	c.Hangup()
	a.WaitEvent("CALL_CLOSED")
}

// TestGenerateDigits: DTMF from 1010 reaches the trunk party as INFO
// application/dtmf-relay.
func TestGenerateDigits(t *testing.T) {
	t.Parallel()
	port := phonetest.FreePort(t)
	sw := startSwitch(t, withTrunk(twoStations(), port, "udp"))
	a := phone(t, sw, "1010", "secret10", "auto")
	ea := subscribe(t, sw, "1010")
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "trunk_uas_dtmf.xml", Port: port})
	ref, err := sw.MakeCall(t.Context(), "1010", "+4930123456")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ea, EventEstablished, inCall(ref.CallID), about("+4930123456"))
	if err := sw.GenerateDigits(t.Context(), "1010", ref.CallID, "5x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("GenerateDigits(bad digit) = %v", err)
	}
	if err := sw.GenerateDigits(t.Context(), "1010", ref.CallID, "5#"); err != nil {
		t.Fatalf("GenerateDigits: %v", err)
	}
	next(t, ea, EventDigits, inCall(ref.CallID))
	a.Hangup()
	sippWait(t, s)
}

// TestRegistrarAndOptions drives the registrar with a sipgo client: unknown
// user (challenged like a station: 401, not 404), challenge, wrong password, success, too short an expiry,
// unregister; and OPTIONS.
func TestRegistrarAndOptions(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, twoStations())
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	target := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: sw.Addr("udp").(*net.UDPAddr).Port}
	newReg := func(user string, expires int) *sip.Request {
		req := sip.NewRequest(sip.REGISTER, target)
		aor := sip.Uri{Scheme: "sip", User: user, Host: "switch.test"}
		req.AppendHeader(&sip.ToHeader{Address: aor})
		from := &sip.FromHeader{Address: aor}
		from.Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999}})
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
		return req
	}
	do := func(req *sip.Request, password string) int {
		t.Helper()
		res, err := cli.Do(ctx, req)
		if err != nil {
			t.Fatalf("REGISTER: %v", err)
		}
		if res.StatusCode == sip.StatusUnauthorized && password != "" {
			if res, err = cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: req.To().Address.User, Password: password}); err != nil {
				t.Fatalf("REGISTER with auth: %v", err)
			}
		}
		return res.StatusCode
	}
	for _, tc := range []struct {
		name     string
		user, pw string
		expires  int
		want     int
		reg      bool
	}{
		{"unknown user", "7777", "", 60, sip.StatusUnauthorized, false},
		{"unknown user, guessed password", "7777", "guess", 60, sip.StatusUnauthorized, false},
		{"no credentials", "1010", "", 60, sip.StatusUnauthorized, false},
		{"wrong password", "1010", "guess", 60, sip.StatusUnauthorized, false},
		{"too brief", "1010", "secret10", 5, sip.StatusIntervalToBrief, false},
		{"registered", "1010", "secret10", 60, sip.StatusOK, true},
		{"unregistered", "1010", "secret10", 0, sip.StatusOK, false},
	} {
		if got := do(newReg(tc.user, tc.expires), tc.pw); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
		if sw.Registered("1010") != tc.reg {
			t.Errorf("%s: Registered = %v, want %v", tc.name, !tc.reg, tc.reg)
		}
	}
	if got := sw.Refusals()[CodePhoneAuthFailed]; got != 2 {
		t.Errorf("Refusals[%s] = %d, want 2 (unknown user and wrong password with credentials)", CodePhoneAuthFailed, got)
	}
	res, err := cli.Do(ctx, sip.NewRequest(sip.OPTIONS, target))
	if err != nil || res.StatusCode != sip.StatusOK || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS = %v, %v", res, err)
	}
	if _, err := sw.MakeCall(ctx, "1010", "1020"); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("MakeCall from unregistered = %v", err)
	}
	if _, err := sw.MakeCall(ctx, "9999", "1020"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("MakeCall from unknown = %v", err)
	}
	if _, err := sw.MakeCall(ctx, "1010", ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("MakeCall to nothing = %v", err)
	}
	if err := sw.Hold(ctx, "1010", "nope"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("Hold(unknown call) = %v", err)
	}
	if _, err := sw.Subscribe("9999"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("Subscribe(unknown) = %v", err)
	}
}
