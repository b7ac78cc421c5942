package rccserver_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
)

// featuresHandler answers GetCSTAFeatures as the real service does.
type featuresHandler struct{ echoHandler }

func (h featuresHandler) HandleCSTA(ctx context.Context, s *rccserver.Session, req csta.Message) (csta.Message, error) {
	if _, ok := req.(*csta.GetCSTAFeatures); ok {
		return &csta.GetCSTAFeaturesResponse{}, nil
	}
	return h.echoHandler.HandleCSTA(ctx, s, req)
}

// TestSIPpOverTLS runs examples/sipp/tls: SIPp (TCP) -> a TLS client hop
// with the Lync pool's certificate (stunnel.conf, or socat.sh) -> the MTLS
// listener. sip-tester, stunnel4 and socat are test dependencies (go tool
// task install-test-deps); without them the test fails.
func TestSIPpOverTLS(t *testing.T) {
	sipp := lookPath(t, "sipp")
	f := devPKI(t)
	h, logs := startLoggedWith(t, featuresHandler{}, func(c *rccserver.Config) {
		c.Listeners = []rccserver.Listener{mtlsListener(f)}
		c.Access = []string{"127.0.0.1"}
	})
	hops := []struct {
		name  string
		start func(t *testing.T, accept int) (*exec.Cmd, string) // the command and its readiness line
	}{
		{"stunnel", func(t *testing.T, accept int) (*exec.Cmd, string) {
			conf, err := os.ReadFile("../examples/sipp/tls/stunnel.conf")
			if err != nil {
				t.Fatal(err)
			}
			for key, value := range map[string]string{
				"accept": "127.0.0.1:" + strconv.Itoa(accept), "connect": h.addr,
				"cert": f.ClientCert, "key": f.ClientKey, "CAfile": f.CA,
			} {
				re := regexp.MustCompile(`(?m)^` + key + ` = .*$`)
				if !re.Match(conf) {
					t.Fatalf("stunnel.conf has no %s line", key)
				}
				conf = re.ReplaceAll(conf, []byte(key+" = "+value))
			}
			path := filepath.Join(t.TempDir(), "stunnel.conf")
			if err := os.WriteFile(path, conf, 0o600); err != nil {
				t.Fatal(err)
			}
			return exec.Command(lookPath(t, "stunnel4", "stunnel"), path), "Configuration successful"
		}},
		{"socat", func(t *testing.T, accept int) (*exec.Cmd, string) {
			lookPath(t, "socat")
			script, err := filepath.Abs("../examples/sipp/tls/socat.sh")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", script, strconv.Itoa(accept), h.addr)
			cmd.Dir = filepath.Dir(f.CA) // the script names the devpki files
			return cmd, "listening on"
		}},
	}
	for _, hop := range hops {
		t.Run(hop.name, func(t *testing.T) {
			accept := freePort(t)
			cmd, readyLine := hop.start(t, accept)
			out := &lockedBuf{}
			ready := make(chan struct{})
			var once sync.Once
			out.onLine = func(line string) {
				if strings.Contains(line, readyLine) {
					once.Do(func() { close(ready) })
				}
			}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill() // the process we started, by its PID
				<-exited
			})
			select {
			case <-ready:
			case <-exited:
				t.Fatalf("%s exited:\n%s", hop.name, out)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s not ready:\n%s", hop.name, out)
			}

			dir := t.TempDir()
			scenario, err := filepath.Abs("../examples/sipp/tls/rcc_tls.xml")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sp := exec.CommandContext(ctx, sipp, "-sf", scenario, "-t", "t1", "-m", "1", "-nostdin",
				"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-timeout", "20s", "-timeout_error",
				"-trace_err", "-error_file", filepath.Join(dir, "sipp_errors.log"),
				"127.0.0.1:"+strconv.Itoa(accept))
			sp.Dir = dir
			res, err := sp.CombinedOutput()
			if err != nil {
				errs, _ := os.ReadFile(filepath.Join(dir, "sipp_errors.log"))
				t.Fatalf("sipp: %v\n%s\nerrors:\n%s\n%s:\n%s", err, tail(res, 40), errs, hop.name, out)
			}
			h.waitSessions(0, 2*time.Second)
		})
	}
	if n := logs.count(map[string]string{"message": "TLS client accepted", "subject": "lyncpool.example.com"}); n != len(hops) {
		t.Errorf("%d MTLS clients accepted, want %d", n, len(hops))
	}
	if n := logs.count(map[string]string{"message": "session accepted", "user": "sip:alice@example.com"}); n != len(hops) {
		t.Errorf("%d sessions accepted, want %d", n, len(hops))
	}
	if st := h.srv.Stats(); st.AccessDenied != 0 || st.TLSFailures != 0 {
		t.Errorf("refusals during the scenario: %+v", st)
	}
}

func lookPath(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("%v not installed: run go tool task install-test-deps (Debian sip-tester, stunnel4)", names)
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// lockedBuf collects a process's output and calls onLine for each line.
type lockedBuf struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	onLine  func(string)
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := string(b.partial[:i])
		b.partial = b.partial[i+1:]
		if b.onLine != nil {
			b.onLine(line)
		}
	}
	return len(p), nil
}

func (b *lockedBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
