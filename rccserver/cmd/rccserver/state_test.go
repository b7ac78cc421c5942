package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateFileConfig: state.file defaults to DefaultStateFile with a
// configuration file and to none for the embedded default; -set can turn
// it off; a directory is refused by -check; a change needs a restart.
func TestStateFileConfig(t *testing.T) {
	emb, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if emb.file.State.File != "" {
		t.Errorf("embedded default state.file = %q, want none", emb.file.State.File)
	}
	// testConfig sets state.file; a file without the key gets the default.
	path := testConfig(t, "")
	b, _ := os.ReadFile(path)
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "state:") {
			kept = append(kept, l)
		}
	}
	bare := filepath.Join(t.TempDir(), "bare.yaml")
	if err := os.WriteFile(bare, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(bare)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.file.State.File != DefaultStateFile {
		t.Errorf("state.file with -config = %q, want %q", cfg.file.State.File, DefaultStateFile)
	}
	if cfg, err = loadConfig(bare, "state.file="); err != nil || cfg.file.State.File != "" {
		t.Errorf("-set state.file= : %q %v, want off", cfg.file.State.File, err)
	}
	if _, err := loadConfig(bare, "state.file="+t.TempDir()); err == nil || !strings.Contains(err.Error(), "state.file") {
		t.Errorf("state.file a directory: %v, want an error naming state.file", err)
	}
	other, err := loadConfig(bare, "state.file=/tmp/elsewhere.db")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(restartNeeded(cfg, other), "; "); !strings.Contains(got, "state") {
		t.Errorf("restartNeeded after a state.file change = %q", got)
	}
}
