package switching

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/state"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestRegisterWithPath: SIPp registers station 1040 as a phone behind two
// proxies that added Path (RFC 3327); the 200 echoes the Path and
// Supported: path; a MakeCall's INVITE to the phone goes to the first Path
// hop (another SIPp) with the phone's Contact as Request-URI and the Path
// as Route headers, not to the unreachable Contact.
func TestRegisterWithPath(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, Config{Stations: []Station{{Extension: "1040"}, {Extension: "1010"}}})
	proxyPort := phonetest.FreePort(t)
	proxy := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "path_proxy_uas.xml", Port: proxyPort})
	reg := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sippDir + "register_path.xml", Remote: udpAddr(sw),
		Service: "1040", Vars: map[string]string{"proxy": fmt.Sprintf("127.0.0.1:%d", proxyPort)}})
	sippWait(t, reg)
	if !sw.Registered("1040") {
		t.Fatal("1040 not registered")
	}
	ev := subscribe(t, sw, "1040")
	if _, err := sw.MakeCall(t.Context(), "1040", "1010"); err != nil {
		t.Fatalf("MakeCall: %v", err)
	}
	sippWait(t, proxy)
	next(t, ev, EventFailed)
}

// TestRegisterBadPathRefused: a REGISTER with a Path that is not a SIP
// address, or with too many entries, gets 400 and Cs_RegisterBadPath.
func TestRegisterBadPathRefused(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, Config{Stations: []Station{{Extension: "1040"}}})
	many := strings.TrimSuffix(strings.Repeat("<sip:p@h;lr>,", maxPathEntries+1), ",")
	for i, path := range []string{"garbage <", many, "<sip:" + strings.Repeat("a", maxPathEntry) + "@h;lr>"} {
		if got := registerWithPath(t, sw, "1040", path, i); !strings.HasPrefix(got, "SIP/2.0 400") {
			t.Errorf("Path %.40q: %q, want 400", path, got)
		}
	}
	if n := sw.Refusals()[CodeRegisterBadPath]; n != 3 {
		t.Errorf("Refusals[%s] = %d, want 3", CodeRegisterBadPath, n)
	}
	if sw.Registered("1040") {
		t.Error("registered despite a bad Path")
	}
	if got := registerWithPath(t, sw, "1040", `"a, b" <sip:p1@h;lr>, <sip:p2@h2:5070;transport=tcp;lr>`, 9); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Errorf("good Path: %q", got)
	}
	w, err := sw.reg.reach(sw.stationByExt("1040"))
	if err != nil || w.transport != "UDP" || w.dest != "h:5060" || len(w.routes) != 2 {
		t.Errorf("reach = %+v %v, want via h:5060 with 2 routes", w, err)
	}
}

// registerWithPath sends a REGISTER with a Path header from a bare UDP
// socket and returns the status line of the answer.
func registerWithPath(t *testing.T, sw *Switch, ext, path string, n int) string {
	t.Helper()
	c, err := net.Dial("udp", udpAddr(sw))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	la := c.LocalAddr().String()
	msg := strings.Join([]string{
		"REGISTER sip:switch.test SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-path-%d;rport", la, n),
		"From: <sip:" + ext + "@switch.test>;tag=p" + ext,
		"To: <sip:" + ext + "@switch.test>",
		fmt.Sprintf("Call-ID: path-%d", n),
		"CSeq: 1 REGISTER",
		"Contact: <sip:" + ext + "@" + la + ">",
		"Path: " + path,
		"Expires: 600",
		"Max-Forwards: 70",
		"Content-Length: 0", "", "",
	}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestApplyFromAnotherNode: a registration, an unregistration and a
// feature change made on another node change this switch's tables
// without writing them back, and the station's subscribers see the
// feature change.
func TestApplyFromAnotherNode(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, Config{Stations: []Station{{Extension: "1040"}, {Extension: "1010"}}})
	sw.ApplyRegistration(state.Registration{Extension: "1040", Contact: "sip:1040@192.0.2.7:5999", Transport: "UDP",
		Source: "192.0.2.7:5999", Expires: time.Now().Add(time.Hour), Path: []string{"<sip:edge@127.0.0.1:9;lr>"}})
	sw.ApplyRegistration(state.Registration{Extension: "1010", Contact: "sip:1010@h", Expires: time.Now().Add(-time.Second)})
	sw.ApplyRegistration(state.Registration{Extension: "9999", Contact: "sip:9999@h", Expires: time.Now().Add(time.Hour)})
	if !sw.Registered("1040") || sw.Registered("1010") || sw.Registered("9999") {
		t.Errorf("Registered 1040 %v 1010 %v 9999 %v, want true false false", sw.Registered("1040"), sw.Registered("1010"), sw.Registered("9999"))
	}
	if w, err := sw.reg.reach(sw.stationByExt("1040")); err != nil || w.dest != "127.0.0.1:9" {
		t.Errorf("reach = %+v %v, want via the Path", w, err)
	}
	sw.ApplyUnregistration("1040")
	if sw.Registered("1040") {
		t.Error("1040 still registered")
	}
	ev := subscribe(t, sw, "1040")
	sw.ApplyFeatures(state.Features{Extension: "1040", DND: true, Forwarding: []state.Forward{{Type: ForwardBusy.String(), On: true, Destination: "1010"}}})
	next(t, ev, EventForwarding)
	next(t, ev, EventDND)
	if on, _ := sw.DND("1040"); !on {
		t.Error("DND not applied")
	}
	if fw, _ := sw.Forwarding("1040"); len(fw) != 1 || fw[0].Type != ForwardBusy || fw[0].Destination != "1010" {
		t.Errorf("forwarding = %+v", fw)
	}
}
