package debian_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
