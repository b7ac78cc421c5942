package e2e_test

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify: the binary speaks systemd's notify protocol
// (sd_notify(3)) on the socket systemd names in NOTIFY_SOCKET: READY=1 once
// serving, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1
// around a SIGHUP reload, STOPPING=1 on SIGTERM — what Type=notify with
// WatchdogSec and ExecReload in examples/rccserver.service rely on.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				msgs <- line
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		var seen []string
		for {
			select {
			case m := <-msgs:
				if m == want {
					return
				}
				seen = append(seen, m)
			case <-deadline:
				t.Fatalf("no %s from the server (saw %v)", want, seen)
			}
		}
	}
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
		env: []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=400000"}}) // 0.4 s: a ping every 0.2 s
	expect("READY=1")
	expect("WATCHDOG=1")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1")
	expect("READY=1")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("STOPPING=1")
}
