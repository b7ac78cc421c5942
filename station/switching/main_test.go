package switching

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain sets sipgo's package globals once (sip.SIPDebug and the default
// logger are plain variables, unsafe to change while tests run) and checks
// that nothing leaks.
func TestMain(m *testing.M) {
	level := zerolog.WarnLevel
	if os.Getenv("SWITCHING_DEBUG") != "" {
		level = zerolog.DebugLevel
		sip.SIPDebug = true
	}
	sip.SetDefaultLogger(slog.New(zerolog.NewSlogHandler(zerolog.New(os.Stderr).Level(level).With().Str("component", "sipgo").Logger())))
	goleak.VerifyTestMain(m,
		// time.AfterFunc timers of sipgo transactions that outlive a test
		// are not goroutines; the ones below are sipgo's own, ended by Timer_* .
		goleak.IgnoreTopFunction("github.com/emiago/sipgo/sip.(*TransactionLayer).handleRequestBackground"),
	)
}
