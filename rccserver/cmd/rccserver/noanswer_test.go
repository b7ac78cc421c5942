package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestSIPpClientAnswersNoInfo: a client that answers none of the server's
// INFOs (examples/sipp/rcc_no_answer.xml, as pidgin-sipe behaves) gets
// every event of a click-to-dial within 1 s of the phone's change, and stays
// signed in for three session intervals (3 × 20 s) with a keep-alive every
// 5 s. The phones are baresip, registered with the daemon's switch.
func TestSIPpClientAnswersNoInfo(t *testing.T) {
	phonePort := phonetest.FreePort(t)
	path := testConfig(t, "")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for old, repl := range map[string]string{
		"session_expires: 1800":                 "session_expires: 20",
		"min_se: 90":                            "min_se: 10",
		"keepalive: 60 ":                        "keepalive: 5 ",
		"network: udp\n      addr: 127.0.0.1:0": "network: udp\n      addr: 127.0.0.1:" + strconv.Itoa(phonePort),
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("configuration lacks %q", old)
		}
		y = strings.Replace(y, old, repl, 1)
	}
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startBinary(t, buildDaemon(t), path)
	registrar := "127.0.0.1:" + strconv.Itoa(phonePort)
	alice := registeredPhone(t, "1010", "auto", registrar)
	bob := registeredPhone(t, "1020", "manual", registrar)

	sf, _ := filepath.Abs("../../../examples/sipp/rcc_no_answer.xml")
	msgs := filepath.Join(t.TempDir(), "messages.log")
	run := &sippRun{SIPp: phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sf, Remote: d.addr, Transport: "t1", Calls: 1,
		Timeout: 120 * time.Second, Extra: []string{"-trace_msg", "-message_file", msgs}}), scenario: "rcc_no_answer.xml", messages: msgs}
	// MakeCall rings alice's phone first; it answers by itself.
	alice.WaitEvent("CALL_ESTABLISHED")
	tOriginated := time.Now()
	bob.WaitEvent("CALL_INCOMING")
	tRinging := time.Now()
	time.Sleep(1500 * time.Millisecond)
	bob.Accept()
	bob.WaitEvent("CALL_ESTABLISHED")
	tAnswered := time.Now()
	time.Sleep(1500 * time.Millisecond)
	bob.Hangup()
	bob.WaitEvent("CALL_CLOSED")
	tCleared := time.Now()

	if err := run.wait(100 * time.Second); err != nil {
		t.Fatal(err)
	}
	infos, err := receivedINFOs(run.messages)
	if err != nil {
		t.Fatal(err)
	}
	// Every event within 1 s of the phone's change (the test sees the
	// change a moment after the phone; an event may even come first).
	for _, w := range []struct {
		root string
		at   time.Time
	}{
		{"ServiceInitiatedEvent", tOriginated}, {"OriginatedEvent", tOriginated},
		{"DeliveredEvent", tRinging}, {"EstablishedEvent", tAnswered}, {"ConnectionClearedEvent", tCleared},
	} {
		got, ok := firstINFO(infos, w.root)
		if !ok {
			t.Errorf("no %s; received %v", w.root, roots(infos))
			continue
		}
		if late := got.Sub(w.at); late > time.Second {
			t.Errorf("%s %v after the phone's change", w.root, late)
		} else {
			t.Logf("%s %v after the phone's change", w.root, late.Round(time.Millisecond))
		}
	}
	var kas []time.Time
	for _, in := range infos {
		if in.root == "SystemStatus" {
			kas = append(kas, in.at)
		}
	}
	if len(kas) < 11 {
		t.Errorf("%d keep-alives in 60 s, want at least 11", len(kas))
	}
	for i := 1; i < len(kas); i++ {
		if gap := kas[i].Sub(kas[i-1]); gap < 4*time.Second || gap > 6*time.Second {
			t.Errorf("keep-alive %d came %v after the one before, want 5 s", i, gap)
		}
	}
	// Signed in throughout: the session ended on the client's BYE only.
	if err := d.log.waitFor(5*time.Second, func(e logEntry) bool { return e.Message == "session ended" }); err != nil {
		t.Fatalf("no session end logged: %v", err)
	}
	raw := d.log.tail(1 << 20)
	if !strings.Contains(raw, `"reason":"rccserver: client sent BYE"`) {
		t.Errorf("the session did not end on the client's BYE:\n%s", d.log.tail(4000))
	}
	if strings.Contains(raw, "Cs_UnknownDialog") {
		t.Errorf("a request of the sign-out was refused as an unknown dialog")
	}
}

// registeredPhone starts a baresip station and waits for its registration.
func registeredPhone(t *testing.T, ext, answer, registrar string) *phonetest.Phone {
	t.Helper()
	p := phonetest.StartBaresip(t, phonetest.Options{User: ext, Password: "demo-" + ext, Registrar: registrar, AnswerMode: answer})
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := p.Command("reginfo", "")
		if err == nil && strings.Contains(out, "OK") {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("phone %s did not register: %q %v", ext, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// info is one INFO request SIPp received: when, and its body's root element.
type info struct {
	at   time.Time
	root string
}

// receivedINFOs reads SIPp's message trace (-trace_msg): each message
// follows a line of dashes with the date and time SIPp logged it.
func receivedINFOs(path string) ([]info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	stamp := regexp.MustCompile(`^-+ (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)`)
	root := regexp.MustCompile(`<(\w+)[ >/]`)
	var out []info
	var at time.Time
	var received, inINFO bool
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := stamp.FindStringSubmatch(line); m != nil {
			at, err = time.ParseInLocation("2006-01-02 15:04:05.000000", m[1]+" "+m[2], time.Local)
			if err != nil {
				return nil, fmt.Errorf("trace time %q: %w", line, err)
			}
			received, inINFO = false, false
			continue
		}
		switch {
		case strings.Contains(line, "message received"):
			received = true
		case received && strings.HasPrefix(line, "INFO "):
			inINFO = true
		case inINFO && strings.HasPrefix(line, "<?xml"):
			// the body follows on the same or the next line
		case inINFO && strings.HasPrefix(strings.TrimSpace(line), "<"):
			if m := root.FindStringSubmatch(strings.TrimPrefix(strings.TrimSpace(line), `<?xml version="1.0" encoding="UTF-8"?>`)); m != nil {
				out = append(out, info{at: at, root: m[1]})
				inINFO = false
			}
		}
	}
	return out, sc.Err()
}

func firstINFO(infos []info, root string) (time.Time, bool) {
	for _, in := range infos {
		if in.root == root {
			return in.at, true
		}
	}
	return time.Time{}, false
}

func roots(infos []info) []string {
	var out []string
	for _, in := range infos {
		out = append(out, in.root)
	}
	return out
}
