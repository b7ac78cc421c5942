package rccserver_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/rccserver/rccserver"

// goList returns every package in the transitive import graph of pattern,
// with its doc synopsis, as reported by the go tool.
func goList(t *testing.T, pattern string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Doc,Imports", pattern)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

type listedPackage struct {
	ImportPath string
	Standard   bool
	Doc        string
	Imports    []string
}

// TestImportDirection keeps the layering of docs/architecture.md "Import
// direction": csta is pure (standard library only); station knows nothing
// of CSTA except that station/switching encodes uaCSTA bodies with csta;
// station knows no Lync (nothing of rccserver but its leaf packages);
// directory nothing of SIP or CSTA; the session server nothing of the
// application it carries.
func TestImportDirection(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden func(listedPackage) bool
		why       string
	}{
		{"./../csta/...", func(p listedPackage) bool {
			return !p.Standard && !strings.HasPrefix(p.ImportPath, module+"/csta")
		}, "csta may import only the standard library"},
		{"./../csta/...", func(p listedPackage) bool {
			return p.ImportPath == "net" || strings.HasPrefix(p.ImportPath, "net/")
		}, "csta does no I/O"},
		{"./../station/...", func(p listedPackage) bool {
			if !strings.HasPrefix(p.ImportPath, module+"/station") || p.ImportPath == module+"/station/switching" {
				return false
			}
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"/csta") {
					return true
				}
			}
			return false
		}, "of station only station/switching may import csta (it encodes uaCSTA bodies)"},
		{"./../station/...", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/rccserver") && !stationMayImport(p.ImportPath)
		}, "station knows no Lync: of rccserver it may import only the leaf packages sipedge and clock"},
		{"./../rccserver/clock", func(p listedPackage) bool {
			return !p.Standard && p.ImportPath != module+"/rccserver/clock"
		}, "clock may import only the standard library (every layer imports it)"},
		{"./../certs/...", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/") && !strings.HasPrefix(p.ImportPath, module+"/certs")
		}, "certs knows nothing of the rest of rccserver"},
		{".", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/station") || strings.HasPrefix(p.ImportPath, module+"/directory") ||
				strings.HasPrefix(p.ImportPath, module+"/rccserver/callcontrol")
		}, "the SIP session server knows no directory, station, switch or application (callcontrol uses it, not the reverse)"},
		{"./sipedge", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/") && p.ImportPath != module+"/rccserver/sipedge"
		}, "sipedge is below everything of ours: sipgo and zerolog only"},
		{"./../directory/...", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/csta") || strings.HasPrefix(p.ImportPath, "github.com/emiago/sipgo")
		}, "directory must not import csta or sipgo"},
		{"./../directory/...", func(p listedPackage) bool {
			return strings.HasPrefix(p.ImportPath, module+"/rccserver") && p.ImportPath != module+"/rccserver/clock"
		}, "directory knows nothing of rccserver but its clock"},
	}
	for _, r := range rules {
		for _, p := range goList(t, r.pkg) {
			if r.forbidden(p) {
				t.Errorf("%s: %s is in the import graph of %s", r.why, p.ImportPath, r.pkg)
			}
		}
	}
}

// stationMayImport reports whether path is one of the rccserver packages
// that know nothing of Lync or CSTA and that station may therefore use.
func stationMayImport(path string) bool {
	for _, leaf := range []string{"/rccserver/sipedge", "/rccserver/clock"} {
		if path == module+leaf || strings.HasPrefix(path, module+leaf+"/") {
			return true
		}
	}
	return false
}

// TestPackageDocs requires a doc comment on every package of the fixed layout.
func TestPackageDocs(t *testing.T) {
	for _, p := range goList(t, "./../...") {
		if !strings.HasPrefix(p.ImportPath, module) || strings.Contains(p.ImportPath, "/internal/") {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
