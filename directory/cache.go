package directory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// CacheOptions configure a Cache. Zero values are the defaults.
type CacheOptions struct {
	// Refresh is the interval of periodic reloads. Default 15m; negative:
	// none (but a cache started from its snapshot still retries).
	Refresh time.Duration
	// Snapshot is the JSON file of the last good directory. Empty: none.
	Snapshot string
	// RetryMin and RetryMax bound the waits between retries after a failed
	// load (doubling from RetryMin). Defaults 5s and 5m (at most Refresh).
	RetryMin, RetryMax time.Duration
	// Clock is the time source of the refresh loop. Default: the wall clock.
	Clock Clock
	// MaxShrinkPercent guards against a refresh that returns far fewer
	// users than the directory has (an unextended schema or a mistyped
	// filter make AD answer success with 0 entries): a refresh returning
	// fewer than (100 - MaxShrinkPercent) % of the current users is
	// refused, the current data stays, and the refusal is logged
	// (CodeShrunk, CodeEmpty) and counted (Stats.Refused). Default
	// DefaultMaxShrinkPercent (50); 100 turns the guard off.
	MaxShrinkPercent int
}

// DefaultMaxShrinkPercent is the default CacheOptions.MaxShrinkPercent: a
// refresh may lose up to half of the users.
const DefaultMaxShrinkPercent = 50

// Cache is a Directory held in memory and loaded from a Source: fully at
// Start, again every Refresh interval (Run) and on Reload. Each load builds
// a new index and swaps it in atomically, so lookups never wait for the
// source and never see a half-built directory. A failed load keeps the
// previous data. Safe for concurrent use.
type Cache struct {
	src   Source
	opts  CacheOptions
	log   zerolog.Logger
	cur   atomic.Pointer[index]
	stats counters

	syncMu sync.Mutex // one load at a time
}

var _ Directory = (*Cache)(nil)

// NewCache returns an empty cache over src; call Start to load it. log
// receives what each load loaded and skipped.
func NewCache(src Source, opts CacheOptions, log zerolog.Logger) *Cache {
	if opts.Refresh == 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 5 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.Refresh > 0 && opts.RetryMax > opts.Refresh {
		opts.RetryMax = opts.Refresh
	}
	opts.RetryMin = min(opts.RetryMin, opts.RetryMax)
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.MaxShrinkPercent <= 0 {
		opts.MaxShrinkPercent = DefaultMaxShrinkPercent
	}
	return &Cache{src: src, opts: opts, log: log.With().Str("component", "directory").Logger()}
}

// New builds the directory cfg describes (an LDAP or file source behind a
// Cache) after validating cfg. It does no I/O: call Start, then Run.
func New(cfg Config, log zerolog.Logger) (*Cache, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var src Source
	switch cfg.Kind {
	case KindFile:
		src = NewFileSource(cfg.File)
	default:
		s, err := NewLDAPSource(cfg)
		if err != nil {
			return nil, err
		}
		src = s
	}
	return NewCache(src, cfg.CacheOptions(), log), nil
}

// Start loads the directory from the source. If that fails and a snapshot
// file exists, it serves the snapshot instead, logs that it did, and
// returns nil; Run then retries the source with backoff. It returns an
// error only when there is nothing to serve.
func (c *Cache) Start(ctx context.Context) error {
	err := c.sync(ctx, "start")
	if err == nil {
		return nil
	}
	if c.opts.Snapshot == "" {
		return fmt.Errorf("directory: load from %s at start: %w (and no snapshot is configured)", c.src.Name(), err)
	}
	snap, serr := readSnapshot(c.opts.Snapshot)
	if serr != nil {
		return fmt.Errorf("directory: load from %s at start: %w; no usable snapshot: %w", c.src.Name(), err, serr)
	}
	ix := buildIndex(snap.Entries)
	ix.loaded, ix.fromSnapshot = snap.Written, true
	c.syncMu.Lock()
	installed := c.cur.CompareAndSwap(nil, ix) // a Reload may have won meanwhile
	c.syncMu.Unlock()
	if !installed {
		return nil
	}
	c.log.Warn().Err(err).Str("snapshot", c.opts.Snapshot).Time("snapshot_written", snap.Written).
		Str("snapshot_source", snap.Source).Int("entries", len(ix.entries)).
		Msg("directory source unreachable at start: serving the last good snapshot, retrying the source")
	return nil
}

// Reload loads the directory from the source now (the -reload of the
// system we model). On failure the previous data stays and the error is
// returned.
func (c *Cache) Reload(ctx context.Context) error { return c.sync(ctx, "reload") }

// Run reloads the directory every Refresh interval until ctx ends. After a
// failed load it retries sooner, with exponential backoff from RetryMin to
// RetryMax, until a load succeeds.
func (c *Cache) Run(ctx context.Context) {
	bo := backoff{min: c.opts.RetryMin, max: c.opts.RetryMax}
	for {
		wait := c.opts.Refresh
		if c.stats.lastErr.Load() != nil {
			wait = bo.next()
			c.log.Info().Dur("retry_in", wait).Msg("directory load failed: retrying")
		} else {
			bo.reset()
		}
		var timer Timer
		var fire <-chan time.Time // nil: wait for ctx only
		if wait > 0 {
			timer = c.opts.Clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-fire:
		}
		_ = c.sync(ctx, "refresh") // logged and counted by sync
	}
}

// sync loads from the source and, on success, swaps in the new index and
// writes the snapshot.
func (c *Cache) sync(ctx context.Context, trigger string) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()

	start := c.opts.Clock.Now()
	b, err := c.src.Load(ctx)
	if err != nil {
		c.stats.failures.Add(1)
		msg := err.Error()
		c.stats.lastErr.Store(&msg)
		c.log.Error().Err(err).Str("source", c.src.Name()).Str("trigger", trigger).
			Msg("directory load failed: keeping the previous data")
		return err
	}
	ix := buildIndex(b.Entries)
	ix.skipped = append(b.Skipped, ix.skipped...)
	ix.loaded, ix.pages = c.opts.Clock.Now(), b.Pages
	if err := c.guard(ix, trigger); err != nil {
		return err
	}
	c.cur.Store(ix)
	c.stats.syncs.Add(1)
	if c.stats.lastErr.Swap(nil) != nil && trigger != "start" {
		c.log.Info().Str("source", c.src.Name()).Msg("directory source is back")
	}
	c.logLoad(ix, trigger, ix.loaded.Sub(start))

	if c.opts.Snapshot != "" {
		err := writeSnapshot(c.opts.Snapshot, snapshot{Written: ix.loaded, Source: c.src.Name(), Entries: ix.entries})
		if err != nil {
			c.log.Warn().Err(err).Msg("directory snapshot not written; the previous one stays")
		}
	}
	return nil
}

// guard refuses a load that would leave the directory empty or drastically
// smaller: with no current data (start) an empty load is an error; with
// current data, a load with fewer than (100 - MaxShrinkPercent) % of its
// users keeps it. A refusal counts, sets LastError (so Run retries with
// backoff) and is logged with its code.
func (c *Cache) guard(ix *index, trigger string) error {
	cur := c.cur.Load()
	have, got := 0, len(ix.entries)
	if cur != nil {
		have = len(cur.entries)
	}
	var err error
	code := CodeEmpty
	switch {
	case cur == nil && got == 0:
		err = fmt.Errorf("%w (%d objects skipped): check directory.filter, directory.base_dn and the Lync schema extension", ErrEmpty, len(ix.skipped))
	case have > 0 && got*100 < have*(100-c.opts.MaxShrinkPercent):
		if got > 0 {
			code = CodeShrunk
		}
		err = fmt.Errorf("%w: %d users, the directory has %d (more than %d %% fewer); keeping the current data",
			ErrShrunk, got, have, c.opts.MaxShrinkPercent)
		if got == 0 {
			err = fmt.Errorf("%w: %w", ErrEmpty, err)
		}
	default:
		return nil
	}
	c.stats.refused.Add(1)
	msg := err.Error()
	c.stats.lastErr.Store(&msg)
	ev := c.log.Warn()
	if cur == nil {
		ev = c.log.Error()
	}
	ev.Str("code", code).Str("source", c.src.Name()).Str("trigger", trigger).Int("entries", got).
		Int("current_entries", have).Int("skipped", len(ix.skipped)).Int("max_shrink_percent", c.opts.MaxShrinkPercent).
		Msg("directory load refused: it would leave the directory empty or far smaller")
	return err
}

// logLoad logs one warning per skipped object and per shared line, then a
// summary.
func (c *Cache) logLoad(ix *index, trigger string, took time.Duration) {
	for _, s := range ix.skipped {
		c.log.Warn().Str("dn", s.DN).Str("reason", s.Reason).Msg("directory entry skipped")
	}
	for _, lc := range ix.conflict {
		c.log.Warn().Str("line_uri", lc.LineURI).Strs("dns", lc.DNs).
			Msg("line URI shared by several users: lookups of this line fail as ambiguous")
	}
	c.log.Info().Str("source", c.src.Name()).Str("trigger", trigger).Int("entries", len(ix.entries)).
		Int("skipped", len(ix.skipped)).Int("shared_lines", len(ix.conflict)).Int("pages", ix.pages).
		Dur("took", took).Msg("directory loaded")
}

// LookupSIP implements Directory.
func (c *Cache) LookupSIP(address string) (Entry, error) {
	ix := c.cur.Load()
	if ix == nil {
		return Entry{}, ErrNotLoaded
	}
	return ix.lookupSIP(address)
}

// LookupLine implements Directory.
func (c *Cache) LookupLine(uri string) (Entry, error) {
	ix := c.cur.Load()
	if ix == nil {
		return Entry{}, ErrNotLoaded
	}
	return ix.lookupLine(uri)
}

// Stats returns the counters and the state of the current data.
func (c *Cache) Stats() Stats {
	s := Stats{Syncs: c.stats.syncs.Load(), Failures: c.stats.failures.Load(), Refused: c.stats.refused.Load()}
	if e := c.stats.lastErr.Load(); e != nil {
		s.Stale, s.LastError = true, *e
	}
	if ix := c.cur.Load(); ix != nil {
		s.Entries, s.Skipped, s.Pages = len(ix.entries), len(ix.skipped), ix.pages
		s.Loaded, s.FromSnapshot = ix.loaded, ix.fromSnapshot
	}
	return s
}

// Skipped returns the objects the last load left out, and why.
func (c *Cache) Skipped() []Skip {
	if ix := c.cur.Load(); ix != nil {
		return append([]Skip(nil), ix.skipped...)
	}
	return nil
}
