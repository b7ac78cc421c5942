package ldaptest

import (
	"sync"
	"testing"
)

// shared is the package-wide Samba of SharedSamba.
var shared struct {
	mu   sync.Mutex
	s    *Samba
	err  error
	done bool
}

// SharedSamba starts one Samba AD DC for the whole test binary, on first
// use, with opts (later calls get the same server whatever their options),
// and fails t if it cannot start. Tests must not change what others rely
// on: add users with names of their own and delete them afterwards. Call
// CloseSharedSamba from TestMain after m.Run.
func SharedSamba(t testing.TB, opts SambaOptions) *Samba {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.done {
		shared.s, shared.err = StartSamba(opts)
		shared.done = true
		if shared.err == nil {
			t.Logf("ldaptest: %s started in %v", shared.s.Version, shared.s.Took.Round(100_000_000))
		}
	}
	if shared.err != nil {
		t.Fatalf("ldaptest: Samba AD DC: %v", shared.err)
	}
	return shared.s
}

// CloseSharedSamba stops the Samba of SharedSamba, if one was started.
func CloseSharedSamba() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s != nil {
		shared.s.Close()
		shared.s = nil
	}
}
