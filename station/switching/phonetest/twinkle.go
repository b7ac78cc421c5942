package phonetest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TwinkleOptions configure one twinkle-console phone.
type TwinkleOptions struct {
	// User is the SIP user (the station's username or extension).
	User string
	// Password is the digest password.
	Password string
	// Registrar is the switch's UDP host:port. The phone's account is
	// sip:User@Registrar.
	Registrar string
	// Timeout bounds WaitOutput; default 10 s.
	Timeout time.Duration
}

// Twinkle is a running twinkle-console phone. Twinkle has no auto-answer
// of its own for Call-Info or Alert-Info; its profile's incoming-call
// script (script_incoming_call, given every header of the INVITE as an
// SIP_<HEADER> environment variable) answers "action=autoanswer" when the
// INVITE carries Call-Info answer-after=0 or Alert-Info
// info=alert-autoanswer, and "action=continue" (ring) otherwise. Twinkle
// auto-answers only on its active line: a second INVITE while the first
// still rings is not auto-answered.
type Twinkle struct {
	t       testing.TB
	opts    TwinkleOptions
	home    string
	sipPort int
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	copied  chan struct{}

	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{}
	stopped bool
}

const twinkleScript = `#!/bin/sh
# Incoming-call script of the phonetest twinkle profile: auto-answer an
# INVITE that asks for it (intercom), ring otherwise.
env | grep '^SIP_' >> "$HOME/incoming.env"
case "$SIP_CALL_INFO" in *answer-after=0*) echo action=autoanswer; exit 0;; esac
case "$SIP_ALERT_INFO" in *alert-autoanswer*) echo action=autoanswer; exit 0;; esac
echo action=continue
`

// StartTwinkle writes a twinkle profile (UDP to the registrar, digest
// credentials, G.711, null ALSA devices, a free loopback SIP port) into a
// temporary HOME, starts twinkle-console there and waits until it has
// registered. A missing twinkle-console fails the test. The phone is
// stopped at the end of the test; a failed test gets its console output.
func StartTwinkle(t testing.TB, o TwinkleOptions) *Twinkle {
	t.Helper()
	bin, err := exec.LookPath("twinkle-console")
	if err != nil {
		t.Fatalf("phonetest: twinkle-console is not installed (go tool task install-test-deps): %v", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	p := &Twinkle{t: t, opts: o, home: t.TempDir(), changed: make(chan struct{}), copied: make(chan struct{})}
	p.sipPort = FreePort(t)
	rtp := 30000 + (p.sipPort%400)*20
	dir := filepath.Join(p.home, ".twinkle")
	script := filepath.Join(p.home, "incoming.sh")
	profile := fmt.Sprintf(`user_name=%s
user_domain=%s
user_display=%s
auth_realm=
auth_name=%s
auth_pass=%s
registrar=%s
register_at_startup=yes
registration_time=60
sip_transport=udp
codecs=g711u,g711a
script_incoming_call=%s
`, o.User, o.Registrar, o.User, o.User, o.Password, o.Registrar, script)
	sys := fmt.Sprintf(`dev_ringtone=alsa:null
dev_speaker=alsa:null
dev_mic=alsa:null
validate_audio_dev=no
sip_udp_port=%d
sip_port=%d
rtp_port=%d
log_show_sip=yes
start_user_profile=phone
`, p.sipPort, p.sipPort, rtp)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("phonetest: %v", err)
	}
	for name, body := range map[string]string{
		filepath.Join(dir, "phone.cfg"):   profile,
		filepath.Join(dir, "twinkle.sys"): sys,
		script:                            twinkleScript,
	} {
		if err := os.WriteFile(name, []byte(body), 0o700); err != nil {
			t.Fatalf("phonetest: %v", err)
		}
	}
	p.cmd = exec.Command(bin)
	p.cmd.Dir = p.home
	p.cmd.Env = append(os.Environ(), "HOME="+p.home)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.stdin, err = p.cmd.StdinPipe()
	if err != nil {
		t.Fatalf("phonetest: %v", err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("phonetest: %v", err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("phonetest: start twinkle-console: %v", err)
	}
	go p.copy(stdout)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("twinkle %s console:\n%s", o.User, tail([]byte(p.Output()), 4000))
			b, _ := os.ReadFile(filepath.Join(dir, "twinkle.log"))
			t.Logf("twinkle %s log:\n%s", o.User, tail(b, 8000))
		}
	})
	p.WaitOutput("registration succeeded")
	return p
}

func (p *Twinkle) copy(r io.Reader) {
	defer close(p.copied)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.out.Write(buf[:n])
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// SIPPort returns the phone's SIP port on 127.0.0.1.
func (p *Twinkle) SIPPort() int { return p.sipPort }

// Output returns everything the console printed so far.
func (p *Twinkle) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Log returns twinkle's log file (with the SIP messages).
func (p *Twinkle) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.home, ".twinkle", "twinkle.log"))
	return string(b)
}

// SIPMessages returns the SIP messages twinkle logged as sent (sent true)
// or received, in order, each beginning with its start line, with LF line
// ends.
func (p *Twinkle) SIPMessages(sent bool) []string {
	marker := "\nReceived from: "
	if sent {
		marker = "\nSend to: "
	}
	var msgs []string
	log := strings.ReplaceAll(p.Log(), "\r\n", "\n")
	for _, entry := range strings.Split(log, "\n+++ ") {
		i := strings.Index(entry, marker)
		if i < 0 {
			continue
		}
		msg := entry[i+len(marker):]
		if nl := strings.IndexByte(msg, '\n'); nl >= 0 {
			msg = msg[nl+1:]
		}
		msg, _, _ = strings.Cut(msg, "\n---\n")
		msgs = append(msgs, msg)
	}
	return msgs
}

// WaitOutput waits (TwinkleOptions.Timeout) until the console output
// contains s; the test fails on timeout.
func (p *Twinkle) WaitOutput(s string) {
	p.t.Helper()
	deadline := time.NewTimer(p.opts.Timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := strings.Contains(p.out.String(), s)
		ch := p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-p.copied:
			p.t.Fatalf("phonetest: twinkle %s exited before printing %q", p.opts.User, s)
		case <-deadline.C:
			p.t.Fatalf("phonetest: twinkle %s: timeout waiting for %q", p.opts.User, s)
		}
	}
}

// Command types a console command ("answer", "bye", "reject", "call ...").
func (p *Twinkle) Command(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("phonetest: twinkle %s: %s: %v", p.opts.User, line, err)
	}
}

func (p *Twinkle) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	p.mu.Unlock()
	_, _ = io.WriteString(p.stdin, "quit\n")
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { <-p.copied; _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Home returns the phone's HOME directory (profile in .twinkle).
func (p *Twinkle) Home() string { return p.home }
