package phonetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure one baresip phone.
type Options struct {
	// User is the SIP user (the station's username or extension).
	User string
	// Password is the digest password; empty sends none.
	Password string
	// Registrar is the switch's host:port. The phone's account is
	// sip:User@Registrar.
	Registrar string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// AnswerMode is "manual" (default: ring until Accept) or "auto".
	AnswerMode string
	// RegInterval is the registration interval in seconds; 0 means 60,
	// negative means the phone does not register.
	RegInterval int
	// Timeout bounds WaitEvent; default 10 s.
	Timeout time.Duration
}

// Event is one baresip event from ctrl_tcp, e.g. Type "CALL_INCOMING",
// "CALL_RINGING", "CALL_ESTABLISHED", "CALL_CLOSED", "REGISTER_OK".
type Event struct {
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"`
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"`
	Param      string `json:"param"`
}

// Phone is a running baresip instance.
type Phone struct {
	t       testing.TB
	opts    Options
	dir     string
	sipPort int
	cmd     *exec.Cmd
	conn    net.Conn
	readErr chan error

	mu       sync.Mutex
	events   []Event
	consumed []bool
	changed  chan struct{}
	replies  chan reply
	token    int
	cmdMu    sync.Mutex
}

type reply struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// StartBaresip writes a baresip configuration into a temporary directory
// (no sound card: a sine source and a null player; ctrl_tcp and sip_listen
// on free loopback ports), starts baresip and connects to its ctrl_tcp
// socket. The phone is stopped at the end of the test.
func StartBaresip(t testing.TB, o Options) *Phone {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("phonetest: baresip is not installed (go tool task install-test-deps): %v", err)
	}
	if o.Transport == "" {
		o.Transport = "udp"
	}
	if o.AnswerMode == "" {
		o.AnswerMode = "manual"
	}
	if o.RegInterval == 0 {
		o.RegInterval = 60
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	p := &Phone{t: t, opts: o, dir: t.TempDir(), changed: make(chan struct{}), replies: make(chan reply, 16), readErr: make(chan error, 1)}
	p.sipPort = freeSIPPort(t)
	ctrlPort := FreePort(t)
	rtp := 20000 + (p.sipPort % 400 * 100)
	config := fmt.Sprintf(`poll_method		epoll
sip_listen		127.0.0.1:%d
sip_trans_def		%s
audio_player		aubridge,nul
audio_alert		aubridge,nul
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
auplay_srate		48000
auplay_channels		1
rtp_ports		%d-%d
module_path		/usr/lib/baresip/modules
module			g711.so
module			aubridge.so
module			ausine.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%d
`, p.sipPort, o.Transport, rtp, rtp+99, ctrlPort)
	account := fmt.Sprintf("<sip:%s@%s;transport=%s>", o.User, o.Registrar, o.Transport)
	if o.Password != "" {
		account += ";auth_pass=" + o.Password
	}
	if o.RegInterval > 0 {
		account += ";regint=" + strconv.Itoa(o.RegInterval)
	} else {
		account += ";regint=0"
	}
	account += ";answermode=" + o.AnswerMode + "\n"
	for name, body := range map[string]string{"config": config, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o600); err != nil {
			t.Fatalf("phonetest: %v", err)
		}
	}
	logf, err := os.Create(filepath.Join(p.dir, "baresip.log"))
	if err != nil {
		t.Fatalf("phonetest: %v", err)
	}
	p.cmd = exec.Command(bin, "-f", p.dir)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("phonetest: start baresip: %v", err)
	}
	t.Cleanup(func() {
		p.stop()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("baresip %s log:\n%s", o.User, tail(b, 4000))
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort), time.Second)
		if err == nil {
			p.conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("phonetest: baresip ctrl_tcp on port %d: %v", ctrlPort, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	go p.read()
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// SIPPort returns the phone's SIP port on 127.0.0.1.
func (p *Phone) SIPPort() int { return p.sipPort }

// URI returns the phone's own contact address, sip:User@127.0.0.1:port.
func (p *Phone) URI() string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", p.opts.User, p.sipPort) }

func (p *Phone) stop() {
	if p.conn != nil {
		_ = p.quietCommand("quit", "")
		_ = p.conn.Close()
		<-p.readErr
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// read parses the netstring-framed JSON messages of ctrl_tcp.
func (p *Phone) read() {
	r := bufio.NewReader(p.conn)
	var err error
	defer func() { p.readErr <- err }()
	for {
		var lenStr string
		lenStr, err = r.ReadString(':')
		if err != nil {
			return
		}
		n, convErr := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if convErr != nil || n < 0 || n > 1<<20 {
			err = fmt.Errorf("bad netstring length %q", lenStr)
			return
		}
		buf := make([]byte, n+1)
		if _, err = io.ReadFull(r, buf); err != nil {
			return
		}
		msg := buf[:n]
		var head struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		switch {
		case head.Event:
			var ev Event
			if json.Unmarshal(msg, &ev) == nil {
				p.mu.Lock()
				p.events = append(p.events, ev)
				p.consumed = append(p.consumed, false)
				close(p.changed)
				p.changed = make(chan struct{})
				p.mu.Unlock()
			}
		case head.Response:
			var rp reply
			if json.Unmarshal(msg, &rp) == nil {
				select {
				case p.replies <- rp:
				default:
				}
			}
		}
	}
}

// WaitEvent waits (Options.Timeout) for the next not yet consumed event of
// type typ and returns it; the test fails on timeout.
func (p *Phone) WaitEvent(typ string) Event {
	p.t.Helper()
	ev, err := p.WaitEventTimeout(typ, p.opts.Timeout)
	if err != nil {
		p.t.Fatalf("phonetest: %s: %v", p.opts.User, err)
	}
	return ev
}

// ErrTimeout is returned by WaitEventTimeout when no event came in time.
var ErrTimeout = errors.New("phonetest: timeout waiting for event")

// WaitEventTimeout is WaitEvent with an explicit timeout and an error
// instead of a test failure.
func (p *Phone) WaitEventTimeout(typ string, d time.Duration) (Event, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, ev := range p.events {
			if !p.consumed[i] && ev.Type == typ {
				p.consumed[i] = true
				p.mu.Unlock()
				return ev, nil
			}
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return Event{}, fmt.Errorf("%w %s (seen: %s)", ErrTimeout, typ, p.seen())
		}
	}
}

// Settle waits until the phone has reported nothing for quiet, then marks
// every event received so far consumed: a test step that follows reads only
// what its own actions cause.
func (p *Phone) Settle(quiet time.Duration) {
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
			continue
		case <-time.After(quiet):
		}
		p.mu.Lock()
		for i := range p.consumed {
			p.consumed[i] = true
		}
		p.mu.Unlock()
		return
	}
}

// Events returns every event received so far.
func (p *Phone) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

func (p *Phone) seen() string {
	var b strings.Builder
	for _, e := range p.Events() {
		b.WriteString(e.Type)
		b.WriteByte(' ')
	}
	return b.String()
}

// Command sends a ctrl_tcp command (a baresip menu command such as
// "accept", "hangup", "dial", "hold", "resume") and returns its reply data.
func (p *Phone) Command(command, params string) (string, error) {
	p.cmdMu.Lock()
	defer p.cmdMu.Unlock()
	p.token++
	tok := strconv.Itoa(p.token)
	msg, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": tok})
	var frame bytes.Buffer
	fmt.Fprintf(&frame, "%d:%s,", len(msg), msg)
	if _, err := p.conn.Write(frame.Bytes()); err != nil {
		return "", err
	}
	timeout := time.After(p.opts.Timeout)
	for {
		select {
		case rp := <-p.replies:
			if rp.Token != tok {
				continue
			}
			if !rp.OK {
				return rp.Data, fmt.Errorf("phonetest: %s %s: %s", command, params, rp.Data)
			}
			return rp.Data, nil
		case <-timeout:
			return "", fmt.Errorf("phonetest: %s: no reply", command)
		}
	}
}

func (p *Phone) quietCommand(command, params string) error {
	p.cmdMu.Lock()
	defer p.cmdMu.Unlock()
	msg, _ := json.Marshal(map[string]string{"command": command, "params": params})
	_, err := fmt.Fprintf(p.conn, "%d:%s,", len(msg), msg)
	return err
}

func (p *Phone) must(command, params string) {
	p.t.Helper()
	if _, err := p.Command(command, params); err != nil {
		p.t.Fatalf("phonetest: %s: %v", p.opts.User, err)
	}
}

// Accept answers the ringing call.
func (p *Phone) Accept() { p.t.Helper(); p.must("accept", "") }

// Hangup hangs up the current call.
func (p *Phone) Hangup() { p.t.Helper(); p.must("hangup", "") }

// Dial calls uri (a full SIP URI or a number the account's registrar routes).
func (p *Phone) Dial(uri string) { p.t.Helper(); p.must("dial", uri) }

// Hold puts the current call on hold from the handset.
func (p *Phone) Hold() { p.t.Helper(); p.must("hold", "") }

// Resume takes the current call off hold from the handset.
func (p *Phone) Resume() { p.t.Helper(); p.must("resume", "") }

// Kill ends the phone abruptly (SIGKILL): no BYE, no unregistration — a
// phone that loses power.
func (p *Phone) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}
