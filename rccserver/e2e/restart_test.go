package e2e_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
)

// restart stops the binary (SIGTERM, or SIGKILL when crash is set: a
// crash leaves what the state file holds) and starts it again on the same
// configuration, ports and working directory. It returns the log offset
// where the new run begins.
func (s *site) restart(crash bool) int {
	s.t.Helper()
	if crash {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
		s.cmd.Process = nil
	} else {
		s.stop()
	}
	return s.run()
}

// run starts the binary again on the same configuration, ports and working
// directory after it stopped, and returns the log offset where the new run
// begins.
func (s *site) run() int {
	s.t.Helper()
	from := len(s.logs.String())
	s.exited = make(chan error, 1)
	s.cmd = exec.Command(binary(s.t), "-config", s.config)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.Dir = filepath.Dir(s.config)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", s.rccAddr)
		if err == nil {
			c.Close()
			return from
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("rccserver not listening again on %s\n%s", s.rccAddr, s.logs.String()[from:])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRestartKeepsState: the default state file keeps what a restart used
// to lose. After a clean restart the phones are reachable at once (MakeCall
// works with no REGISTER in between), forwarding and DND are still set;
// after a crash (SIGKILL) in a call, the next start clears the call on both
// phones (Cs_StaleCallCleared).
func TestRestartKeepsState(t *testing.T) {
	s := startSite(t, "I3_FEATURE_LYNC")
	a := s.phone("1010", "auto")
	b := s.phone("1020", "manual")
	alice, st, r := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice sign-in: %d %s", st, r)
	}
	request(t, alice, &csta.SetForwarding{Device: aliceLine, ForwardingType: csta.ForwardImmediate, ActivateForward: csta.Bool(true), ForwardDN: "tel:+13175551030"})
	request(t, alice, &csta.SetDoNotDisturb{Device: aliceLine, DoNotDisturbOn: csta.Bool(true)})

	from := s.restart(false)
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.config), "rccserver-state.db")); err != nil {
		t.Fatalf("default state file: %v", err)
	}
	alice, st, r = s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("alice sign-in after the restart: %d %s", st, r)
	}
	if got := request(t, alice, &csta.GetDoNotDisturb{Device: aliceLine}); !got.(*csta.GetDoNotDisturbResponse).DoNotDisturbOn {
		t.Error("DND off after the restart")
	}
	fw := request(t, alice, &csta.GetForwarding{Device: aliceLine}).(*csta.GetForwardingResponse)
	on := false
	for _, f := range fw.ForwardingList {
		on = on || (f.ForwardingType == csta.ForwardImmediate && f.ForwardStatus && strings.Contains(f.ForwardDN, "1030"))
	}
	if !on {
		t.Errorf("immediate forwarding to 1030 lost in the restart: %+v", fw.ForwardingList)
	}
	// Nothing re-registered before the call is placed: the bindings come from the file.
	run := s.logs.String()[from:]
	if !strings.Contains(run, `"registration restored"`) {
		t.Errorf("no registration restored in the new run's log")
	}
	if strings.Contains(run, `"message":"registered"`) {
		t.Fatalf("a phone re-registered before MakeCall; the test would prove nothing")
	}
	if ans := request(t, alice, &csta.MakeCall{CallingDevice: aliceLine, CalledDirectoryNumber: bobLine}); ans.Root() != "MakeCallResponse" {
		t.Fatalf("MakeCall right after the restart answered %s\n%s", ans.Root(), s.logs.String()[from:])
	}
	a.WaitEvent("CALL_ESTABLISHED")
	b.WaitEvent("CALL_INCOMING")
	b.Accept()
	b.WaitEvent("CALL_ESTABLISHED")

	// A crash in the call: the phones stay in it until the next start clears it.
	from = s.restart(true)
	a.WaitEvent("CALL_CLOSED")
	b.WaitEvent("CALL_CLOSED")
	if !s.logged("Cs_StaleCallCleared") || strings.Count(s.logs.String()[from:], "Cs_StaleCallCleared") != 2 {
		t.Errorf("want two legs logged Cs_StaleCallCleared in the new run:\n%s", s.logs.String()[from:])
	}
}
