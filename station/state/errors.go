package state

import "errors"

// Sentinel errors. Functions wrap them with %w; test with errors.Is.
var (
	// ErrOpen: the state file cannot be opened (missing directory,
	// permissions, or another process holds its lock).
	ErrOpen = errors.New("state: cannot open state file")
	// ErrCorrupt: a record in the state file cannot be decoded.
	ErrCorrupt = errors.New("state: corrupt record")
	// ErrInvalid: a record to write lacks its key.
	ErrInvalid = errors.New("state: invalid record")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("state: store closed")
)
