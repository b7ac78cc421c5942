package directory_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/rccserver/rccserver/directory/ldaptest"
	"go.uber.org/goleak"
)

// TestMain stops the shared Samba AD DC (started by the first test that
// needs it), then fails the run if a test left goroutines behind (refresh
// loops, LDAP connections).
func TestMain(m *testing.M) {
	code := m.Run()
	ldaptest.CloseSharedSamba()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
