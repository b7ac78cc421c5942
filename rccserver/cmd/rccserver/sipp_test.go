package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// The SIPp scenarios of examples/sipp play a Lync client over TCP against
// the daemon binary as it ships: built here, started on a configuration of
// free loopback ports, stopped with SIGTERM (docs/sipp.md). SIPp is a
// required test peer: without it the test fails, it never skips.

// TestSIPpScenarios runs each client scenario once against one daemon, then
// checks the graceful shutdown: SIGTERM, BYE to the session still held, exit 0.
func TestSIPpScenarios(t *testing.T) {
	d := startBinary(t, buildDaemon(t), testConfig(t, ""))

	for _, tc := range []struct{ name, scenario string }{
		// Sign-in, GetCSTAFeatures, MonitorStart, DND on/off with their
		// events, UPDATE refresh, BYE.
		{"session", "rcc_session.xml"},
		// Twice: the DND state and the login are back where they were.
		{"session again", "rcc_session.xml"},
		// 403 Cs_UserNotFound for a user the directory lacks.
		{"unknown user", "rcc_signin_unknown_user.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := startSIPp(t, tc.scenario, d.addr).wait(60 * time.Second); err != nil {
				t.Fatal(err) // the daemon's log follows, from startBinary's cleanup
			}
		})
	}

	// A session is still up when the daemon is told to stop: it gets a BYE,
	// answers it, and the daemon exits 0 in time.
	held := startSIPp(t, "rcc_server_bye.xml", d.addr)
	accepted := func(e logEntry) bool { return e.Message == "session accepted" && e.Peer == held.peer() }
	if err := d.log.waitFor(10*time.Second, accepted); err != nil {
		t.Fatalf("session of rcc_server_bye.xml not accepted: %v\n%s", err, held.report())
	}
	// SIGTERM right after the 200: the ACK may not be taken yet, and the
	// server must still send its BYE only after it (RFC 3261 §15).
	if err := d.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := held.wait(10 * time.Second); err != nil {
		t.Fatalf("rcc_server_bye.xml: %v", err)
	}
	if !d.log.has(func(e logEntry) bool { return e.Message == "rccserver stopped" }) {
		t.Error(`no "rccserver stopped" in the log`)
	}
}

// buildDaemon builds this command into a temporary directory, with the race
// detector when the test itself runs with it.
func buildDaemon(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rccserver")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// binary is the daemon running as a child process.
type binary struct {
	cmd  *exec.Cmd
	addr string // the RCC listener, from the "listening for RCC clients" line
	log  *jsonLog
	done chan struct{}
	err  error
}

// startBinary runs the daemon on config and waits until its RCC listener
// accepts TCP. The configuration binds port 0; the log names the port.
func startBinary(t testing.TB, bin, config string) *binary {
	t.Helper()
	b := &binary{log: newJSONLog(), done: make(chan struct{})}
	b.cmd = exec.Command(bin, "-config", config)
	b.cmd.Dir = filepath.Dir(config) // its default state file next to the config
	b.cmd.Stdout = io.Discard
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		b.log.consume(stderr)
		close(copied)
	}()
	go func() {
		<-copied
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", b.log.tail(8000))
		}
	})
	var addr string
	err = b.log.waitFor(30*time.Second, func(e logEntry) bool {
		if e.Message == "listening for RCC clients" && e.Transport == "TCP" {
			addr = e.Addr
			return true
		}
		return false
	})
	if err != nil {
		t.Fatalf("daemon did not start listening: %v\n%s", err, b.log.tail(4000))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon does not accept TCP on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.addr = addr
	return b
}

// stop sends SIGTERM and expects exit status 0 within limit.
func (b *binary) stop(limit time.Duration) error {
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-b.done:
	case <-time.After(limit):
		_ = b.cmd.Process.Kill()
		<-b.done
		return fmt.Errorf("daemon still running %v after SIGTERM", limit)
	}
	if b.err != nil {
		return fmt.Errorf("daemon exit after SIGTERM: %v", b.err)
	}
	return nil
}

// sippRun is one SIPp run of a client scenario, with its message trace.
type sippRun struct {
	*phonetest.SIPp
	scenario string
	messages string // SIPp's message trace (-trace_msg)
}

// startSIPp plays one scenario, one call over TCP, against addr. SIPp
// exits 0 only if every check of the scenario held.
func startSIPp(t *testing.T, scenario, addr string) *sippRun {
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("../../../examples/sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	msgs := filepath.Join(t.TempDir(), "messages.log")
	s := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: sf, Remote: addr, Transport: "t1", Calls: 1,
		Timeout: 30 * time.Second, Extra: []string{"-trace_msg", "-message_file", msgs}})
	return &sippRun{SIPp: s, scenario: scenario, messages: msgs}
}

// peer is the source address the daemon sees: SIPp's TCP client socket
// binds its local port (-p) too.
func (s *sippRun) peer() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

func (s *sippRun) wait(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		return fmt.Errorf("sipp %s: %v\n%s", s.scenario, err, s.report())
	}
	return nil
}

// report is what to read when a run fails: SIPp's error trace, the end of
// its output and of the message trace.
func (s *sippRun) report() string {
	msgs, _ := os.ReadFile(s.messages)
	return fmt.Sprintf("errors:\n%s\noutput (end):\n%s\nmessages (end):\n%s", s.Errors(),
		tailString(s.Output(), 3000), tailString(string(msgs), 6000))
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// logEntry is the part of the daemon's JSON log lines the test reads.
type logEntry struct {
	Level     string `json:"level"`
	Message   string `json:"message"`
	Transport string `json:"transport"`
	Addr      string `json:"addr"`
	Peer      string `json:"peer"`
}

// jsonLog collects the daemon's log lines and lets the test wait for one.
type jsonLog struct {
	mu      sync.Mutex
	raw     bytes.Buffer
	entries []logEntry
	changed chan struct{}
	closed  bool
}

func newJSONLog() *jsonLog { return &jsonLog{changed: make(chan struct{})} }

func (l *jsonLog) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e logEntry
		_ = json.Unmarshal(line, &e)
		l.mu.Lock()
		l.raw.Write(line)
		l.raw.WriteByte('\n')
		l.entries = append(l.entries, e)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *jsonLog) has(f func(logEntry) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.entries {
		if f(e) {
			return true
		}
	}
	return false
}

func (l *jsonLog) waitFor(limit time.Duration, f func(logEntry) bool) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.entries); seen++ {
			if f(l.entries[seen]) {
				l.mu.Unlock()
				return nil
			}
		}
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return errors.New("log ended (daemon exited)")
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("nothing in the log after %v", limit)
		}
	}
}

func (l *jsonLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tailString(l.raw.String(), n)
}
