package switching

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/station/state"
)

func openStore(t *testing.T, path string) *state.Bolt {
	t.Helper()
	st, err := state.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStaleLegClearedOnStart: a leg recorded by a switch that crashed is
// cleared with a BYE in its dialog when the next switch starts, and the
// record is deleted.
func TestStaleLegClearedOnStart(t *testing.T) {
	phoneConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phoneConn.Close()
	paddr := phoneConn.LocalAddr().String()

	path := filepath.Join(t.TempDir(), "state.db")
	st := openStore(t, path)
	rec := state.Leg{CallID: "stale-1@switch.test", Device: "1010", LocalTag: "ourtag", RemoteTag: "phonetag",
		LocalURI: "sip:1020@switch.test", RemoteURI: "sip:1010@switch.test", RemoteTarget: "sip:1010@" + paddr,
		CSeq: 40, Transport: "UDP", Dest: paddr}
	if err := st.PutLeg(rec); err != nil {
		t.Fatal(err)
	}
	sw := startSwitch(t, Config{Stations: []Station{{Extension: "1010"}}, Store: st})
	t.Cleanup(func() { st.Close() }) // after the switch's cleanup (LIFO)

	_ = phoneConn.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 65535)
	n, from, err := phoneConn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no BYE reached the phone: %v", err)
	}
	req, err := sip.NewParser().ParseSIP(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	bye, ok := req.(*sip.Request)
	if !ok || bye.Method != sip.BYE {
		t.Fatalf("phone got %s, want BYE", bytes.SplitN(buf[:n], []byte("\r\n"), 2)[0])
	}
	ft, _ := bye.From().Params.Get("tag")
	tt, _ := bye.To().Params.Get("tag")
	if bye.CallID().Value() != rec.CallID || ft != "ourtag" || tt != "phonetag" || bye.CSeq().SeqNo <= rec.CSeq {
		t.Errorf("BYE Call-ID %s From tag %s To tag %s CSeq %d; want %s ourtag phonetag >%d",
			bye.CallID().Value(), ft, tt, bye.CSeq().SeqNo, rec.CallID, rec.CSeq)
	}
	if bye.Recipient.Host != "127.0.0.1" || bye.Recipient.User != "1010" {
		t.Errorf("BYE Request-URI %s, want the remote target %s", bye.Recipient.String(), rec.RemoteTarget)
	}
	ok200 := sip.NewResponseFromRequest(bye, 200, "OK", nil)
	if _, err := phoneConn.WriteTo([]byte(ok200.String()), from); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the record deleted", func() bool {
		legs, err := st.Legs()
		return err == nil && len(legs) == 0
	})
	if n := sw.Refusals()[CodeStaleCallCleared]; n != 1 {
		t.Errorf("Refusals[%s] = %d, want 1", CodeStaleCallCleared, n)
	}
}

// TestStateSurvivesRestart: a binding, a forwarding and DND set on one
// switch are there on the next one with the same store; an expired binding
// is not restored.
func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	stations := []Station{{Extension: "1010"}, {Extension: "1020"}, {Extension: "1030"}}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	run := func(f func(sw *Switch, st *state.Bolt)) {
		st := openStore(t, path)
		defer st.Close()
		sw, err := New(Config{Listen: []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}, Domain: "switch.test", Stations: stations, Store: st}, log)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sw.Serve(context.Background()) }()
		defer func() {
			_ = sw.Close()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
		f(sw, st)
	}
	run(func(sw *Switch, st *state.Bolt) {
		registerRaw(t, sw, "1010", 600)
		registerRaw(t, sw, "1030", 600)
		if err := sw.SetForwarding("1010", ForwardImmediate, true, "1020"); err != nil {
			t.Fatal(err)
		}
		if err := sw.SetDND("1020", true); err != nil {
			t.Fatal(err)
		}
		// 1030's record as if it had expired while the switch was down.
		if err := st.PutRegistration(state.Registration{Extension: "1030", Contact: "sip:1030@127.0.0.1:9",
			Transport: "UDP", Source: "127.0.0.1:9", Expires: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
	})
	run(func(sw *Switch, st *state.Bolt) {
		if !sw.Registered("1010") {
			t.Error("1010 not registered after the restart")
		}
		if sw.Registered("1030") {
			t.Error("1030's expired binding was restored")
		}
		if regs, _ := st.Registrations(); len(regs) != 1 {
			t.Errorf("store keeps %d registrations, want 1 (the expired one deleted)", len(regs))
		}
		if fw, _ := sw.Forwarding("1010"); len(fw) != 1 || !fw[0].On || fw[0].Destination != "1020" || fw[0].Type != ForwardImmediate {
			t.Errorf("1010 forwarding after restart = %+v", fw)
		}
		if on, _ := sw.DND("1020"); !on {
			t.Error("1020 DND off after the restart")
		}
		if on, _ := sw.DND("1010"); on {
			t.Error("1010 DND on after the restart")
		}
	})
}

// registerRaw sends an unauthenticated REGISTER for ext (a station
// without a password) from a bare UDP socket and waits for its 200.
func registerRaw(t *testing.T, sw *Switch, ext string, expires int) {
	t.Helper()
	c, err := net.Dial("udp", udpAddr(sw))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	la := c.LocalAddr().String()
	msg := strings.Join([]string{
		"REGISTER sip:switch.test SIP/2.0",
		"Via: SIP/2.0/UDP " + la + ";branch=z9hG4bK-" + ext + "-reg;rport",
		"From: <sip:" + ext + "@switch.test>;tag=r" + ext,
		"To: <sip:" + ext + "@switch.test>",
		"Call-ID: reg-" + ext,
		"CSeq: 1 REGISTER",
		"Contact: <sip:" + ext + "@" + la + ">",
		"Expires: " + strconv.Itoa(expires),
		"Max-Forwards: 70",
		"Content-Length: 0", "", "",
	}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("REGISTER %s: %q %v", ext, line, err)
	}
}

// TestLegRecordsFollowTheCall: with real phones, both legs of an answered
// call are in the store while it lasts (with the dialog's remote tag and
// target), and none is left once it is hung up.
func TestLegRecordsFollowTheCall(t *testing.T) {
	t.Parallel()
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	t.Cleanup(func() { st.Close() })
	cfg := twoStations()
	cfg.Store = st
	sw := startSwitch(t, cfg)
	a := phone(t, sw, "1010", "secret10", "auto")
	b := phone(t, sw, "1020", "secret20", "manual")
	if _, err := sw.MakeCall(t.Context(), "1010", "1020"); err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")
	var legs []state.Leg
	waitFor(t, "two leg records", func() bool { legs, _ = st.Legs(); return len(legs) == 2 })
	devices := map[string]bool{}
	for _, l := range legs {
		devices[l.Device] = true
		if l.RemoteTag == "" || l.LocalTag == "" || !strings.Contains(l.RemoteTarget, "127.0.0.1") || l.Dest == "" {
			t.Errorf("leg record lacks dialog state: %+v", l)
		}
	}
	if !devices["1010"] || !devices["1020"] {
		t.Errorf("leg records for %v, want 1010 and 1020", devices)
	}
	a.Hangup()
	b.WaitEvent("CALL_CLOSED")
	waitFor(t, "no leg records", func() bool { legs, _ = st.Legs(); return len(legs) == 0 })
}
