package switching

import (
	"net/netip"
	"sync"
	"time"
)

// authLimiter counts failed digest attempts per source IP in fixed windows
// (Config.AuthMaxFailures per Config.AuthFailureWindow). A source over the
// limit is refused with 403 until its window ends, without its credentials
// being checked, so a password cannot be guessed faster than the limit.
type authLimiter struct {
	max    int // <= 0: no limit
	window time.Duration
	clock  Clock

	mu  sync.Mutex
	src map[netip.Addr]*authWindow
}

type authWindow struct {
	start    time.Time
	failures int
	refused  int // refusals in this window; the first is logged, the rest counted
}

// maxAuthSources bounds the table: beyond it, windows that ended are
// pruned and, if the table is still full, new sources share one window
// (the zero netip.Addr), so spoofed UDP sources cannot grow memory.
const maxAuthSources = 10000

func newAuthLimiter(cfg *Config) *authLimiter {
	return &authLimiter{max: cfg.AuthMaxFailures, window: cfg.AuthFailureWindow, clock: cfg.Clock, src: map[netip.Addr]*authWindow{}}
}

// current returns ip's window, starting a new one if it ended. a.mu is held.
func (a *authLimiter) current(ip netip.Addr, now time.Time) *authWindow {
	w := a.src[ip]
	if w != nil && now.Sub(w.start) < a.window {
		return w
	}
	if w == nil && len(a.src) >= maxAuthSources {
		for k, o := range a.src {
			if now.Sub(o.start) >= a.window {
				delete(a.src, k)
			}
		}
		if len(a.src) >= maxAuthSources {
			ip = netip.Addr{}
			if w = a.src[ip]; w != nil && now.Sub(w.start) < a.window {
				return w
			}
		}
	}
	w = &authWindow{start: now}
	a.src[ip] = w
	return w
}

// refused reports whether ip is over the limit; first is true for the
// first refusal of the window (the one to log).
func (a *authLimiter) refused(ip netip.Addr) (refused, first bool) {
	if a.max <= 0 {
		return false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.current(ip, a.clock.Now())
	if w.failures < a.max {
		return false, false
	}
	w.refused++
	return true, w.refused == 1
}

// fail records one failed attempt from ip and returns the failures of its window.
func (a *authLimiter) fail(ip netip.Addr) int {
	if a.max <= 0 {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.current(ip, a.clock.Now())
	w.failures++
	return w.failures
}
