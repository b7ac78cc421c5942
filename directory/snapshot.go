package directory

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// snapshotVersion is the format version of the snapshot file.
const snapshotVersion = 1

// snapshot is the last good directory, kept on disk so the server can start
// when the directory server is unreachable.
type snapshot struct {
	Version int       `json:"version"`
	Written time.Time `json:"written"`
	Source  string    `json:"source"`
	Entries []Entry   `json:"entries"`
}

// writeSnapshot writes s to path atomically: into a temporary file in the
// same directory, synced, then renamed over path, so a crash leaves the old
// or the new file, never a torn one. The file holds names and numbers:
// mode 0600.
func writeSnapshot(path string, s snapshot) (err error) {
	s.Version = snapshotVersion
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("%w: write %s: %w", ErrSnapshot, path, err)
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err = json.NewEncoder(w).Encode(s); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename durable (best effort: not every platform can sync a
	// directory).
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// readSnapshot reads a snapshot written by writeSnapshot.
func readSnapshot(path string) (snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return snapshot{}, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer f.Close()
	var s snapshot
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&s); err != nil {
		return snapshot{}, fmt.Errorf("%w: read %s: %w", ErrSnapshot, path, err)
	}
	if s.Version != snapshotVersion {
		return snapshot{}, fmt.Errorf("%w: %s has version %d, want %d", ErrSnapshot, path, s.Version, snapshotVersion)
	}
	return s, nil
}
