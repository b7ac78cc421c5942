package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// One bucket per kind of record, keyed by extension or Call-ID; values are JSON.
var (
	bucketReg     = []byte("registrations")
	bucketFeature = []byte("features")
	bucketLeg     = []byte("legs")
	buckets       = [][]byte{bucketReg, bucketFeature, bucketLeg}
)

// lockTimeout bounds the wait for the file lock bbolt takes (flock): a
// second process on the same file fails instead of hanging.
const lockTimeout = 2 * time.Second

// Bolt is a Store in one bbolt file.
type Bolt struct {
	db *bolt.DB
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens or creates the state file at path (mode 0600; the
// directory is created 0700 if missing).
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOpen, path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOpen, path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrOpen, path, err)
	}
	return &Bolt{db: db}, nil
}

// Path returns the file's path.
func (s *Bolt) Path() string { return s.db.Path() }

// Close closes the file; later calls fail with ErrClosed.
func (s *Bolt) Close() error { return s.db.Close() }

func (s *Bolt) put(bucket []byte, key string, v any) error {
	if key == "" {
		return fmt.Errorf("%w: empty key in %s", ErrInvalid, bucket)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %s %q: %w", ErrInvalid, bucket, key, err)
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), data) })
}

func (s *Bolt) del(bucket []byte, key string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(key)) })
}

func (s *Bolt) update(f func(*bolt.Tx) error) error {
	if err := s.db.Update(f); err != nil {
		return s.wrap(err)
	}
	return nil
}

func (s *Bolt) wrap(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return fmt.Errorf("state: %s: %w", s.db.Path(), err)
}

// all decodes every value of bucket into a T.
func all[T any](s *Bolt, bucket []byte) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var r T
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %s %q: %w", ErrCorrupt, bucket, k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return nil, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return nil, err
	}
	return out, nil
}

// PutRegistration records or replaces r.Extension's registration.
func (s *Bolt) PutRegistration(r Registration) error { return s.put(bucketReg, r.Extension, r) }

// DeleteRegistration forgets ext's registration.
func (s *Bolt) DeleteRegistration(ext string) error { return s.del(bucketReg, ext) }

// Registrations returns every recorded registration, expired or not, by extension.
func (s *Bolt) Registrations() ([]Registration, error) { return all[Registration](s, bucketReg) }

// PutFeatures records or replaces f.Extension's forwarding and DND.
func (s *Bolt) PutFeatures(f Features) error { return s.put(bucketFeature, f.Extension, f) }

// Features returns every station's recorded features, by extension.
func (s *Bolt) Features() ([]Features, error) { return all[Features](s, bucketFeature) }

// PutLeg records or replaces a confirmed leg.
func (s *Bolt) PutLeg(l Leg) error { return s.put(bucketLeg, l.CallID, l) }

// DeleteLeg forgets a leg that ended.
func (s *Bolt) DeleteLeg(callID string) error { return s.del(bucketLeg, callID) }

// Legs returns every recorded leg, by Call-ID.
func (s *Bolt) Legs() ([]Leg, error) { return all[Leg](s, bucketLeg) }
