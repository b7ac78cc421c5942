package e2e_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README promises two commands: the first runs the server on its
// embedded default, the second runs the whole test suite. These tests hold
// the README to that, from a fresh clone of the repository at HEAD.

// readmeCommands returns the commands of README.md's first fenced code
// block, without their trailing comments.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if in {
				break
			}
			in = true
			continue
		}
		if !in {
			continue
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 2 {
		t.Fatalf("README.md's first code block has %d commands, want the run and the test command: %q", len(cmds), cmds)
	}
	return cmds
}

// The fixed addresses of the embedded default (examples/rccserver.yaml) and
// of the admin listener's default.
var fixedPorts = []struct{ network, addr string }{
	{"tcp", "127.0.0.1:11001"}, // RCC, facing Lync
	{"udp", "127.0.0.1:5060"},  // phones
	{"tcp", "127.0.0.1:5060"},
	{"tcp", "127.0.0.1:9110"}, // admin (/healthz)
}

// lockFixedPorts serialises every user of the embedded default's fixed
// ports on this machine (this test in any checkout, examples/demo/run.sh),
// then checks that the ports are free. Busy ports fail the test with the
// name of the port: something else (a running rccserver?) holds it.
func lockFixedPorts(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "rccserver-fixed-ports.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("lock %s: %v", f.Name(), err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("another user of the fixed ports 11001/5060/9110 (a test run or task demo) held %s for 90 s", f.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { _ = f.Close() }) // closing releases the lock
	for _, p := range fixedPorts {
		var c io.Closer
		if p.network == "udp" {
			c, err = net.ListenPacket(p.network, p.addr)
		} else {
			c, err = net.Listen(p.network, p.addr)
		}
		if err != nil {
			t.Fatalf("%s %s is busy, the README's run command needs it free: %v", p.network, p.addr, err)
		}
		_ = c.Close()
	}
}

// TestREADMERunCommand clones the repository at HEAD into a temporary
// directory, runs the README's first command there, checks that the server
// answers (SIP OPTIONS on the RCC port, the admin listener's /healthz), and
// stops it with SIGTERM.
func TestREADMERunCommand(t *testing.T) {
	run := readmeCommands(t)[0]
	if want := "go run ./rccserver/cmd/rccserver"; run != want {
		t.Fatalf("README's run command is %q, want %q", run, want)
	}
	lockFixedPorts(t)

	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "rccserver")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}

	argv := strings.Fields(run)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = clone
	// go run's child (the server) shares this process group and the output.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	// Wait returns once the output pipe closes: when the server, too, has exited.
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("output of %q:\n%s", run, logs.String())
		}
	})

	// Build and start: the module cache is warm, the clone's packages are
	// not (a few seconds); on a cold build cache compiling the dependencies
	// takes longer, hence the generous bound.
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:11001", time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("%q exited before listening: %v", run, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: nothing listens on 127.0.0.1:11001 after 90 s", run)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if status := sipOptions(t, "127.0.0.1:11001"); status != "SIP/2.0 200" {
		t.Errorf("OPTIONS to 127.0.0.1:11001 answered %q, want 200", status)
	}
	// The admin listener's health check (admin.listen, default 127.0.0.1:9110).
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:9110/healthz")
	if err != nil {
		t.Errorf("GET http://127.0.0.1:9110/healthz: %v", err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: %s %s", res.Status, body)
		}
	}

	// SIGTERM to the group: go run and the server it started.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(15 * time.Second):
		t.Fatalf("%q still running 15 s after SIGTERM", run)
	}
	if !strings.Contains(logs.String(), `"rccserver stopped"`) {
		t.Errorf("the server did not log a clean stop (\"rccserver stopped\") after SIGTERM")
	}
}

// sipOptions sends one OPTIONS over TCP and returns the status line's
// first two words ("SIP/2.0 200").
func sipOptions(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("OPTIONS: %v", err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:rcc@rcc.example.com;transport=tcp SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-readme-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:readme@example.com>;tag=readme\r\n"+
		"To: <sip:rcc@rcc.example.com>\r\n"+
		"Call-ID: readme-%d@127.0.0.1\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Contact: <sip:readme@%s;transport=tcp>\r\n"+
		"Accept: application/csta+xml\r\n"+
		"Content-Length: 0\r\n\r\n", local, time.Now().UnixNano(), time.Now().UnixNano(), local)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("OPTIONS: %v", err)
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("OPTIONS: no final answer: %v", err)
		}
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "SIP/2.0" && !strings.HasPrefix(f[1], "1") {
			return f[0] + " " + f[1]
		}
	}
}

// TestREADMETestCommand: the second command is the documented test command
// and CI runs exactly it. (Running it here would recurse into this test.)
func TestREADMETestCommand(t *testing.T) {
	test := readmeCommands(t)[1]
	if want := "go tool task test"; test != want {
		t.Fatalf("README's test command is %q, want %q", test, want)
	}
	tf, err := os.ReadFile("../../Taskfile.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^  test:\n(    .*\n)*    desc: `).Match(tf) {
		t.Error("Taskfile.yml has no documented test task")
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	calls := false
	for _, line := range strings.Split(string(ci), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == test || line == "exec "+test {
			calls = true
		}
	}
	if !calls {
		t.Errorf(".ci/run does not run %q:\n%s", test, ci)
	}
}
