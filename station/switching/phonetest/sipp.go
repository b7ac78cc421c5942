package phonetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SIPpOptions configure one SIPp run.
type SIPpOptions struct {
	// Scenario is the path of the scenario XML (-sf).
	Scenario string
	// Remote is the host:port SIPp sends to; empty for a pure UAS.
	Remote string
	// Port is SIPp's local port (-p); 0 picks a free one.
	Port int
	// Transport is SIPp's -t value: "u1" (UDP, default) or "t1" (TCP).
	Transport string
	// Service is the Request-URI user (-s).
	Service string
	// Calls is the number of calls to place or take before exiting (-m); default 1.
	Calls int
	// Rate is calls per second (-r) for UAC scenarios; 0 means SIPp's default.
	Rate float64
	// Concurrent bounds simultaneous calls (-l); 0 means unlimited.
	Concurrent int
	// Timeout is SIPp's global timeout (-timeout); default 30 s.
	Timeout time.Duration
	// Vars are scenario variables (-set name value).
	Vars map[string]string
	// Extra are more command-line arguments.
	Extra []string
}

// SIPp is a running SIPp process.
type SIPp struct {
	// Port is SIPp's local port.
	Port int
	cmd  *exec.Cmd
	out  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
	err  error
	dir  string
}

type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// StartSIPp starts SIPp on 127.0.0.1 with a scenario. It is killed at the
// end of the test if it is still running.
func StartSIPp(t testing.TB, o SIPpOptions) *SIPp {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("phonetest: sipp is not installed (package sip-tester, go tool task install-test-deps): %v", err)
	}
	if o.Port == 0 {
		o.Port = FreePort(t)
	}
	if o.Transport == "" {
		o.Transport = "u1"
	}
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	scenario, err := filepath.Abs(o.Scenario)
	if err != nil {
		t.Fatalf("phonetest: %v", err)
	}
	dir := t.TempDir()
	args := []string{
		"-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(o.Port), "-t", o.Transport,
		"-m", strconv.Itoa(o.Calls), "-nostdin", "-timeout", fmt.Sprintf("%ds", int(o.Timeout/time.Second)),
		"-timeout_error", "-max_recv_loops", "1000", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_stat", "-stf", filepath.Join(dir, "stat.csv"),
	}
	if o.Service != "" {
		args = append(args, "-s", o.Service)
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64))
	}
	if o.Concurrent > 0 {
		args = append(args, "-l", strconv.Itoa(o.Concurrent))
	}
	for k, v := range o.Vars {
		args = append(args, "-set", k, v)
	}
	args = append(args, o.Extra...)
	if o.Remote != "" {
		args = append(args, o.Remote)
	}
	s := &SIPp{Port: o.Port, out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{}), dir: dir}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	w := lockedBuffer{mu: s.mu, buf: s.out}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("phonetest: start sipp: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			t.Logf("sipp %s output:\n%s\nerrors:\n%s", filepath.Base(o.Scenario), tail([]byte(s.Output()), 3000), tail(s.Errors(), 3000))
		}
	})
	return s
}

// Wait waits for SIPp to exit (bounded by ctx) and returns an error unless
// every call succeeded (exit status 0).
func (s *SIPp) Wait(ctx context.Context) error {
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.err != nil {
		return fmt.Errorf("phonetest: sipp: %w\n%s", s.err, tail(s.Errors(), 2000))
	}
	return nil
}

// Done is closed when SIPp exits.
func (s *SIPp) Done() <-chan struct{} { return s.done }

// Output returns what SIPp printed.
func (s *SIPp) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Errors returns SIPp's error trace (unexpected messages and the like).
func (s *SIPp) Errors() []byte {
	b, _ := os.ReadFile(filepath.Join(s.dir, "errors.log"))
	return b
}

// Stats returns the last line of SIPp's statistics file (CSV; the header
// is StatsHeader).
func (s *SIPp) Stats() (header, last string) {
	b, _ := os.ReadFile(filepath.Join(s.dir, "stat.csv"))
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) < 2 {
		return "", ""
	}
	return string(lines[0]), string(lines[len(lines)-1])
}

// ResponseTimes returns the per-call response times SIPp recorded with
// -trace_rtt -rtt_freq 1 (Extra), in milliseconds resolution.
func (s *SIPp) ResponseTimes() ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(s.dir, "*_rtt.csv"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("phonetest: no rtt file (run sipp with -trace_rtt -rtt_freq 1): %v", err)
	}
	var out []time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			fields := bytes.Split(bytes.TrimSpace(line), []byte(";"))
			if i == 0 || len(fields) < 2 {
				continue
			}
			ms, err := strconv.ParseFloat(string(fields[1]), 64)
			if err != nil {
				continue
			}
			out = append(out, time.Duration(ms*float64(time.Millisecond)))
		}
	}
	return out, nil
}
