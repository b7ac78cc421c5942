package rccserver_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

// TestMain sets sipgo's globals once (they are unsynchronised package
// variables: sip.SetTimers and sip.SetDefaultLogger): short timers so Timer F is 3.2 s,
// and a quiet logger.
func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	goleak.VerifyTestMain(m,
		// sipgo's transport layer keeps these while a UA lives; every test
		// closes its UAs, so none should remain — listed only for clarity.
		goleak.IgnoreCurrent())
}
