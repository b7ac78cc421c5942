package directory_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind (refresh
// loops, LDAP connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
