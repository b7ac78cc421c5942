package switching

import (
	"errors"
	"fmt"
	"testing"
)

// TestNotRegisteredError: the error of a station without a contact reads
// and matches as the fmt.Errorf wrapping it replaced.
func TestNotRegisteredError(t *testing.T) {
	var err error = &notRegisteredError{ext: "1010"}
	if want := fmt.Errorf("%w: %s", ErrNotRegistered, "1010").Error(); err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, ErrNotRegistered) || errors.Is(err, ErrNoRoute) {
		t.Errorf("errors.Is: %v", err)
	}
	if !errors.Is(fmt.Errorf("outer: %w", err), ErrNotRegistered) {
		t.Error("not found through a further wrap")
	}
}
