package debian_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// TestDebianPackage: build.sh (go tool task deb) makes a package whose
// control data, files, conffiles and maintainer scripts are as
// docs/operations.md says, and whose binary accepts its configuration.
func TestDebianPackage(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Fatalf("dpkg-deb missing: %v", err)
	}
	out := t.TempDir()
	deb := strings.TrimSpace(run(t, "bash", "build.sh", "v1.2.3-4-gabcdef", out))
	if filepath.Dir(deb) != out || !strings.HasPrefix(filepath.Base(deb), "rccserver_1.2.3+4+gabcdef-1_") {
		t.Fatalf("package %q", deb)
	}
	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: rccserver", "Version: 1.2.3+4+gabcdef-1", "Depends: adduser", "Maintainer: ", "Description: ",
		" conffiles", " postinst", " prerm", " postrm"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	contents := run(t, "dpkg-deb", "-c", deb)
	for _, want := range []string{"./usr/bin/rccserver", "./lib/systemd/system/rccserver.service", "./etc/rccserver/rccserver.yaml",
		"./etc/rccserver/directory.yaml", "./usr/share/doc/rccserver/copyright", "./usr/share/doc/rccserver/examples/rccserver-dashboard.json"} {
		if !strings.Contains(contents, want+"\n") {
			t.Errorf("dpkg-deb -c lacks %s:\n%s", want, contents)
		}
	}
	if strings.Contains(contents, " root/rccserver") || !strings.Contains(contents, "root/root") {
		t.Errorf("files must be root-owned in the archive:\n%s", contents)
	}
	ctl := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, ctl)
	conffiles, _ := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if string(conffiles) != "/etc/rccserver/rccserver.yaml\n/etc/rccserver/directory.yaml\n" {
		t.Errorf("conffiles %q", conffiles)
	}
	postinst, _ := os.ReadFile(filepath.Join(ctl, "postinst"))
	for _, want := range []string{"adduser --system", "chmod 0640", "systemctl enable rccserver.service", "systemctl restart"} {
		if !strings.Contains(string(postinst), want) {
			t.Errorf("postinst lacks %q", want)
		}
	}
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	unit, _ := os.ReadFile(filepath.Join(root, "lib/systemd/system/rccserver.service"))
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/rccserver -config /etc/rccserver/rccserver.yaml") ||
		!strings.Contains(string(unit), "User=rccserver") {
		t.Errorf("unit:\n%s", unit)
	}
	bin := filepath.Join(root, "usr/bin/rccserver")
	if v := run(t, bin, "-version"); strings.TrimSpace(v) != "rccserver v1.2.3-4-gabcdef" {
		t.Errorf("-version: %q", v)
	}
	// The packaged configuration is valid (its directory file moved with the tree).
	run(t, bin, "-check", "-config", filepath.Join(root, "etc/rccserver/rccserver.yaml"),
		"-set", "directory.file="+filepath.Join(root, "etc/rccserver/directory.yaml"))
}

// TestDebianPackageInstalls installs the package on this machine (CI runs
// as root on Debian 12), starts the server the way its unit does — as the
// rccserver user, with the packaged configuration — checks /healthz, and
// purges the package. Without systemd (containers, CI) postinst leaves the
// start to us; with it, postinst has started the unit, which the test then
// stops first.
func TestDebianPackageInstalls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("installing a package needs root (CI runs as root)")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: %v", tool, err)
		}
	}
	lockFixedPorts(t) // the packaged configuration is the demo's, on its fixed loopback ports
	deb := strings.TrimSpace(run(t, "bash", "build.sh", "v0.0.0-test", t.TempDir()))
	if out, err := exec.Command("dpkg", "-s", "rccserver").CombinedOutput(); err == nil && strings.Contains(string(out), "Status: install ok installed") {
		t.Fatal("a package named rccserver is already installed here; this test would replace it")
	}
	cmd := exec.Command("dpkg", "-i", deb)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", "rccserver").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
	})
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		_ = exec.Command("systemctl", "stop", "rccserver.service").Run()
	}
	// As the unit runs it: user rccserver, the packaged configuration. The
	// credentials are set here rather than through runuser, so that the
	// signals reach the server itself; its own process group lets the
	// cleanup end everything it started.
	u, err := user.Lookup("rccserver")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	srv := exec.Command("/usr/bin/rccserver", "-config", "/etc/rccserver/rccserver.yaml")
	srv.Dir = "/var/lib/rccserver" // the unit's WorkingDirectory: state.file is relative to it
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}
	logs := &lockedBuffer{}
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the server has exited (waitErr set): closed, so
	// that both the wait below and the cleanup see it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("the installed server did not stop within 15 s of SIGTERM")
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://127.0.0.1:9110/healthz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 && strings.TrimSpace(string(body)) == "ok" {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("the installed server exited: %v\n%s", waitErr, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed server did not answer /healthz in 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockFixedPorts takes the machine-wide lock every user of the demo's fixed
// ports holds (rccserver/e2e's README test, examples/demo/run.sh).
func lockFixedPorts(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "rccserver-fixed-ports.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the fixed ports' lock %s is held by someone else for 120 s", f.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { _ = f.Close() })
}

// lockedBuffer is a log sink the server's output goroutine and the test
// may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
