package rccserver

import (
	"container/heap"
	"time"
)

// The info table's schedule: every session's next keep-alive and its
// session-timer expiry (RFC 4028 §10) in two min-heaps under one timer of
// the injected clock, instead of two runtime timers per session. With
// thousands of sessions, per-session timers filled the runtime's timer
// heaps, which it scans whole whenever a timer is moved earlier, such as
// a connection's read deadline (docs/performance.md).

// dueEntry is one session's next due time in a dueHeap: an offset from
// the table's epoch, and the session's generation for that heap when it
// was pushed (another one: stale).
type dueEntry struct {
	due time.Duration
	s   *Session
	gen uint32
}

// dueHeap orders sessions by due time (container/heap). A session whose
// entry must go leaves it stale instead (its generation moves on); stale
// entries are dropped when they reach the top, or all at once when they
// are half the heap. Ordering it reads no session: they are scattered in
// memory, and a sift through thousands of them cost a cache miss per
// comparison.
type dueHeap struct {
	entries []dueEntry
	stale   int
	gen     func(*Session) *uint32 // odd while s is in the heap; under infoTable.mu
}

func (h *dueHeap) Len() int           { return len(h.entries) }
func (h *dueHeap) Less(i, j int) bool { return h.entries[i].due < h.entries[j].due }
func (h *dueHeap) Swap(i, j int)      { h.entries[i], h.entries[j] = h.entries[j], h.entries[i] }
func (h *dueHeap) Push(x any)         { h.entries = append(h.entries, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	n := len(h.entries) - 1
	e := h.entries[n]
	h.entries[n] = dueEntry{}
	h.entries = h.entries[:n]
	return e
}

// set puts s in the heap at due, replacing its entry if it has one.
func (h *dueHeap) set(s *Session, due time.Duration) {
	g := h.gen(s)
	if *g&1 == 1 {
		h.drop(s)
	}
	*g++ // odd: in the heap, with the entry of this generation
	heap.Push(h, dueEntry{due: due, s: s, gen: *g})
}

// drop makes s's entry stale, if it has one.
func (h *dueHeap) drop(s *Session) {
	g := h.gen(s)
	if *g&1 == 0 {
		return
	}
	*g++ // even: not in the heap; the entry no longer matches
	h.stale++
	if h.stale*2 < len(h.entries) {
		return
	}
	live := h.entries[:0]
	for _, e := range h.entries {
		if e.gen == *h.gen(e.s) {
			live = append(live, e)
		}
	}
	clear(h.entries[len(live):]) // no session kept by the array's tail
	h.entries, h.stale = live, 0
	heap.Init(h)
}

// top returns the earliest live entry, dropping stale ones above it; nil
// when the heap holds none.
func (h *dueHeap) top() *dueEntry {
	for len(h.entries) > 0 {
		e := &h.entries[0]
		if e.gen == *h.gen(e.s) {
			return e
		}
		heap.Pop(h)
		h.stale--
	}
	return nil
}

// live is how many sessions are in the heap.
func (h *dueHeap) live() int { return len(h.entries) - h.stale }

// schedule sets s's next keep-alive at due. It is called once per
// session, when its dialog is confirmed; a second call replaces the first.
func (k *infoTable) schedule(s *Session, due time.Time) { k.set(&k.kas, s, due) }

// expireAt sets when s's session timer runs out (Session.refresh); a
// second call replaces the first.
func (k *infoTable) expireAt(s *Session, at time.Time) { k.set(&k.expiries, s, at) }

func (k *infoTable) set(h *dueHeap, s *Session, at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	h.set(s, at.Sub(k.epoch))
	k.armLocked()
}

// unschedule drops s's keep-alives and expiry (the session ended).
func (k *infoTable) unschedule(s *Session) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kas.drop(s)
	k.expiries.drop(s)
}

// armLocked sets the clock's timer for the earliest keep-alive or expiry.
// A timer left armed for a session that ended only finds nothing due.
func (k *infoTable) armLocked() {
	if k.stopped {
		return
	}
	next, ok := time.Duration(0), false
	for _, h := range [...]*dueHeap{&k.kas, &k.expiries} {
		if e := h.top(); e != nil && (!ok || e.due < next) {
			next, ok = e.due, true
		}
	}
	if !ok || (k.timer != nil && k.timerAt == next) {
		return
	}
	d := max(next-k.clock.Now().Sub(k.epoch), 0)
	k.timerAt = next
	if k.timer == nil {
		k.timer = k.clock.AfterFunc(d, k.fire)
		return
	}
	k.timer.Reset(d)
}

// fire sends the keep-alives due now or within slack, and moves each of
// their sessions one period on; it ends the sessions whose session timer
// ran out.
func (k *infoTable) fire() {
	now := k.clock.Now().Sub(k.epoch)
	var due, expired []*Session
	k.mu.Lock()
	k.timerAt = -1 // no timer armed: armLocked arms it
	for e := k.kas.top(); e != nil && e.due <= now+k.slack; e = k.kas.top() {
		due = append(due, e.s)
		e.due = now + k.period
		heap.Fix(&k.kas, 0)
	}
	for e := k.expiries.top(); e != nil && e.due <= now; e = k.expiries.top() {
		expired = append(expired, e.s)
		k.expiries.drop(e.s)
	}
	k.armLocked()
	k.mu.Unlock()
	for _, s := range expired {
		s.srv.work.Go(s.expired) // its end hooks may block: not the keep-alives' goroutine
	}
	k.due.Add(uint64(len(due)))
	k.sendBatch(due)
}
