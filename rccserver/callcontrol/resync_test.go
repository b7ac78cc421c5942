package callcontrol

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/station/switching"
)

// snapshotSwitch is a Switch whose only working method is Snapshot.
type snapshotSwitch struct {
	Switch
	calls []switching.CallInfo
}

func (s snapshotSwitch) Snapshot(string) ([]switching.CallInfo, error) { return s.calls, nil }

// TestResyncClearsGhostCalls: after the switch dropped events, the calls
// the line's monitors were told of and the switch no longer has are
// cleared; the ones it still has stay.
func TestResyncClearsGhostCalls(t *testing.T) {
	svc := NewService(snapshotSwitch{calls: []switching.CallInfo{{CallID: "live"}}}, nil, zerolog.Nop())
	h := &lineHub{svc: svc, ext: "1010", mons: map[string]monitor{}, calls: map[string]bool{"live": true, "gone": true}}
	h.resync()
	if !h.calls["live"] || h.calls["gone"] || len(h.calls) != 1 {
		t.Fatalf("calls after resync: %v, want only live", h.calls)
	}
	if svc.Resyncs() != 1 {
		t.Fatalf("Resyncs() = %d, want 1", svc.Resyncs())
	}
}
