package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/clock"
)

// memSource is a Source serving whatever the test puts in it.
type memSource struct {
	mu      sync.Mutex
	entries []Entry
	err     error
	loads   int
}

func (m *memSource) Name() string { return "memory" }

func (m *memSource) Load(ctx context.Context) (Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	if m.err != nil {
		return Batch{}, m.err
	}
	return Batch{Entries: append([]Entry(nil), m.entries...)}, nil
}

func (m *memSource) set(err error, entries ...Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
	if entries != nil {
		m.entries = entries
	}
}

// fakeClock hands every timer the cache creates to the test, which fires
// it; so the test steps the refresh loop deterministically.
type fakeClock struct {
	timers chan *fakeTimer
}

type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{timers: make(chan *fakeTimer, 16)} }

func (c *fakeClock) Now() time.Time { return time.Now() }

func (c *fakeClock) AfterFunc(time.Duration, func()) clock.Timer {
	panic("the cache uses no AfterFunc")
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{d: d, c: make(chan time.Time, 1)}
	c.timers <- t
	return t
}

func (t *fakeTimer) C() <-chan time.Time      { return t.c }
func (t *fakeTimer) Stop() bool               { return true }
func (t *fakeTimer) Reset(time.Duration) bool { return true }
func (t *fakeTimer) fire()                    { t.c <- time.Now() }

// next waits for the loop's next timer.
func (c *fakeClock) next(t *testing.T) *fakeTimer {
	t.Helper()
	select {
	case tm := <-c.timers:
		return tm
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh loop set no timer")
		return nil
	}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func alice() Entry { return user("cn=alice", "sip:alice@example.com", "alice", "tel:+13175551010") }
func bob() Entry   { return user("cn=bob", "sip:bob@example.com", "bob", "tel:+13175551020") }

var errDown = errors.New("server down: " + ErrUnreachable.Error())

func TestCacheStartAndLookups(t *testing.T) {
	src := &memSource{entries: []Entry{alice()}}
	c := NewCache(src, CacheOptions{}, zerolog.Nop())
	if _, err := c.LookupSIP("sip:alice@example.com"); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("lookup before Start = %v, want ErrNotLoaded", err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e, err := c.LookupSIP("SIP:Alice@example.com"); err != nil || e.Account.String() != `EXAMPLE\alice` {
		t.Errorf("LookupSIP = %+v, %v", e, err)
	}
	if e, err := c.LookupLine("tel:+1-317-555-1010"); err != nil || e.DN != "cn=alice" {
		t.Errorf("LookupLine = %+v, %v", e, err)
	}
	if _, err := c.LookupSIP("sip:bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("miss = %v, want ErrNotFound", err)
	}
	if s := c.Stats(); s.Syncs != 1 || s.Failures != 0 || s.Entries != 1 || s.Stale || s.Loaded.IsZero() {
		t.Errorf("Stats = %+v", s)
	}
}

func TestCacheStartFailsWithNothingToServe(t *testing.T) {
	c := NewCache(&memSource{err: errDown}, CacheOptions{}, zerolog.Nop())
	err := c.Start(t.Context())
	if !errors.Is(err, errDown) || !strings.Contains(err.Error(), "no snapshot") {
		t.Errorf("Start = %v", err)
	}
	c = NewCache(&memSource{err: errDown}, CacheOptions{Snapshot: filepath.Join(t.TempDir(), "none.json")}, zerolog.Nop())
	if err := c.Start(t.Context()); !errors.Is(err, errDown) || !errors.Is(err, ErrSnapshot) {
		t.Errorf("Start without a snapshot file = %v", err)
	}
}

func TestCacheRefreshLoop(t *testing.T) {
	src := &memSource{entries: []Entry{alice()}}
	clk := newFakeClock()
	var logs logBuffer
	c := NewCache(src, CacheOptions{Refresh: 15 * time.Minute, RetryMin: 5 * time.Second, Clock: clk}, zerolog.New(&logs))
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	tm := clk.next(t)
	if tm.d != 15*time.Minute {
		t.Fatalf("first wait %v, want the refresh interval", tm.d)
	}
	// A refresh sees a new user...
	src.set(nil, alice(), bob())
	tm.fire()
	tm = clk.next(t) // set after the load finished
	if _, err := c.LookupSIP("sip:bob@example.com"); err != nil || tm.d != 15*time.Minute {
		t.Fatalf("after refresh: %v, next wait %v", err, tm.d)
	}

	// ...then the source fails: old data stays, retries back off.
	src.set(errDown)
	wantMax := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}
	for i, max := range wantMax {
		tm.fire()
		tm = clk.next(t)
		if tm.d > max || tm.d < max*8/10 {
			t.Errorf("retry %d waits %v, want %v minus up to 20%%", i+1, tm.d, max)
		}
		if _, err := c.LookupSIP("sip:bob@example.com"); err != nil {
			t.Errorf("lookup during the outage: %v", err)
		}
	}
	s := c.Stats()
	if s.Failures != 3 || !s.Stale || !strings.Contains(s.LastError, "server down") || s.Entries != 2 {
		t.Errorf("Stats during the outage = %+v", s)
	}

	// Back: the next load succeeds and the loop returns to the interval.
	src.set(nil, alice())
	tm.fire()
	tm = clk.next(t)
	if s := c.Stats(); tm.d != 15*time.Minute || s.Stale || s.Syncs != 3 || s.Entries != 1 {
		t.Errorf("after recovery: wait %v, Stats %+v", tm.d, s)
	}
	for _, want := range []string{`"directory load failed: keeping the previous data"`, `"directory source is back"`, `"retry_in"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

func TestCacheReloadFailureKeepsData(t *testing.T) {
	src := &memSource{entries: []Entry{alice()}}
	c := NewCache(src, CacheOptions{}, zerolog.Nop())
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.set(errDown)
	if err := c.Reload(t.Context()); !errors.Is(err, errDown) {
		t.Fatalf("Reload = %v", err)
	}
	if _, err := c.LookupSIP("alice@example.com"); err != nil {
		t.Errorf("lookup after a failed reload: %v", err)
	}
	src.set(nil, bob())
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupSIP("alice@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice after she left: %v", err)
	}
}

func TestCacheSnapshot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "directory.json")
	src := &memSource{entries: []Entry{alice(), bob()}}
	c := NewCache(src, CacheOptions{Snapshot: path}, zerolog.Nop())
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot: %v, mode %v", err, st.Mode())
	}
	var snap snapshot
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &snap); err != nil || len(snap.Entries) != 2 || snap.Version != 1 || snap.Source != "memory" {
		t.Fatalf("snapshot content %v: %s", err, data)
	}
	if !strings.Contains(string(data), `"account":"EXAMPLE\\alice"`) {
		t.Errorf("account not written as DOMAIN\\sam: %s", data)
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("temporary files left: %v", files)
	}

	// Source down at start: serve the snapshot, say so, retry soon.
	var logs logBuffer
	clk := newFakeClock()
	c2 := NewCache(&memSource{err: errDown}, CacheOptions{Snapshot: path, RetryMin: 2 * time.Second, Clock: clk}, zerolog.New(&logs))
	if err := c2.Start(t.Context()); err != nil {
		t.Fatalf("Start from snapshot: %v", err)
	}
	if e, err := c2.LookupLine("tel:+13175551020"); err != nil || e.DN != "cn=bob" {
		t.Errorf("lookup from snapshot: %+v, %v", e, err)
	}
	s := c2.Stats()
	if !s.FromSnapshot || s.Failures != 1 || s.Syncs != 0 || !s.Loaded.Equal(snap.Written) {
		t.Errorf("Stats = %+v", s)
	}
	if !strings.Contains(logs.String(), "serving the last good snapshot") || !strings.Contains(logs.String(), path) {
		t.Errorf("log does not say it started from the snapshot: %s", logs.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c2.Run(ctx) }()
	if tm := clk.next(t); tm.d > 2*time.Second {
		t.Errorf("first retry after starting from the snapshot in %v, want the retry minimum", tm.d)
	}
	cancel()
	<-done

	// A corrupt snapshot is an error, not an empty directory.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3 := NewCache(&memSource{err: errDown}, CacheOptions{Snapshot: path}, zerolog.Nop())
	if err := c3.Start(t.Context()); !errors.Is(err, ErrSnapshot) {
		t.Errorf("Start with a corrupt snapshot = %v", err)
	}
}

func TestCacheConcurrentLookupsDuringReload(t *testing.T) {
	gen := func(extra string) []Entry {
		return []Entry{alice(), user("cn="+extra, "sip:"+extra+"@example.com", extra, "")}
	}
	src := &memSource{entries: gen("x")}
	c := NewCache(src, CacheOptions{}, zerolog.Nop())
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.LookupSIP("sip:alice@example.com"); err != nil {
					t.Errorf("lookup during reload: %v", err)
					return
				}
				_ = c.Stats()
			}
		})
	}
	for i := range 200 {
		src.set(nil, gen([]string{"x", "y"}[i%2])...)
		if err := c.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestShrinkGuard: a refresh with fewer than (100 - MaxShrinkPercent) % of
// the current users is refused and keeps the data; one within the limit is
// taken; 100 turns the guard off.
func TestShrinkGuard(t *testing.T) {
	users := func(n int) []Entry {
		var out []Entry
		for i := range n {
			out = append(out, Entry{DN: fmt.Sprintf("u%d", i), SIPAddress: fmt.Sprintf("sip:u%d@example.com", i),
				Account: Account{Domain: "EXAMPLE", SAM: fmt.Sprintf("u%d", i)}})
		}
		return out
	}
	for _, tc := range []struct {
		percent, from, to int
		refused           bool
	}{
		{0, 10, 5, false},  // default 50: half may go
		{0, 10, 4, true},   // more than half: refused
		{0, 10, 0, true},   // empty
		{20, 10, 8, false}, // 20 % fewer: at the limit
		{20, 10, 7, true},
		{100, 10, 0, false}, // guard off
	} {
		src := &memSource{entries: users(tc.from)}
		var logs bytes.Buffer
		c := NewCache(src, CacheOptions{Refresh: -1, MaxShrinkPercent: tc.percent}, zerolog.New(&logs))
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		src.set(nil, users(tc.to)...)
		if tc.to == 0 {
			src.entries = nil
		}
		err := c.Reload(t.Context())
		st := c.Stats()
		if tc.refused {
			if !errors.Is(err, ErrShrunk) || st.Entries != tc.from || st.Refused != 1 {
				t.Errorf("%d%% %d->%d: %v, Stats %+v; want refused, %d entries kept", tc.percent, tc.from, tc.to, err, st, tc.from)
			}
			code := CodeShrunk
			if tc.to == 0 {
				code = CodeEmpty
			}
			if !strings.Contains(logs.String(), `"code":"`+code+`"`) {
				t.Errorf("%d%% %d->%d: no %s in the log:\n%s", tc.percent, tc.from, tc.to, code, logs.String())
			}
			continue
		}
		if err != nil || st.Entries != tc.to || st.Refused != 0 {
			t.Errorf("%d%% %d->%d: %v, Stats %+v; want taken", tc.percent, tc.from, tc.to, err, st)
		}
	}
}
