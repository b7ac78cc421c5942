package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-version"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "rccserver ") {
		t.Fatalf("version output %q", out.String())
	}
}

func TestUnknownFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-no-such-flag"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
}

// TestUnknownSubcommand: a word the command does not know is an error, not
// a server start (`rccserver certs init DIR` used to start the server).
func TestUnknownSubcommand(t *testing.T) {
	for _, args := range [][]string{{"certs", "init", "/tmp/x"}, {"-check", "extra"}, {"serve"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown subcommand or argument") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the unknown word named", args, code, errOut.String())
		}
	}
}

// TestEmbeddedDefaultOnLoopback: the demo's users and phone passwords are
// public, so the embedded default listens on loopback only.
func TestEmbeddedDefaultOnLoopback(t *testing.T) {
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{cfg.file.Admin.Listen}
	for _, l := range cfg.sip.Listeners {
		addrs = append(addrs, l.Addr)
	}
	for _, l := range cfg.file.Phones.Listen {
		addrs = append(addrs, l.Addr)
	}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			t.Errorf("embedded default listens on %s, not loopback", a)
		}
	}
}
