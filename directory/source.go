package directory

import "context"

// Source loads the whole directory at once. The Cache calls Load at start,
// on every refresh and on Reload, one call at a time.
type Source interface {
	// Load returns every user. An error means nothing usable was loaded
	// (the cache keeps what it had): a partial result is never returned as
	// a success.
	Load(ctx context.Context) (Batch, error)
	// Name describes the source for logs, without secrets.
	Name() string
}

// Batch is the result of one Load.
type Batch struct {
	// Entries are the candidate users; the cache validates them (see
	// buildIndex) before use.
	Entries []Entry
	// Skipped are objects the source could not turn into entries.
	Skipped []Skip
	// Pages is the number of LDAP result pages fetched (0 for files).
	Pages int
}
