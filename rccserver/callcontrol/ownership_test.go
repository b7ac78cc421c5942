package callcontrol

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station/cluster"
)

// TestOwnershipRefusal: a refused take becomes the refusal of
// docs/cluster.md "What is built now": 403 Cs_StationInUseByAnotherUser when another
// node holds the station, 503 Cs_ClusterUnavailable when ownership cannot
// be confirmed; other failures are errors (500), not refusals.
func TestOwnershipRefusal(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: 1010 held by x on node b", cluster.ErrStationInUse), 403, cluster.CodeStationInUse},
		{fmt.Errorf("%w: lease unconfirmed", cluster.ErrUnavailable), 503, cluster.CodeUnavailable},
		{cluster.ErrLeaseLost, 503, cluster.CodeUnavailable},
		{cluster.ErrClosed, 503, cluster.CodeUnavailable},
		{errors.New("cluster: something else"), 0, ""},
	} {
		err := ownershipRefusal("1010", tc.err)
		var r *rccserver.Refusal
		if !errors.As(err, &r) {
			if tc.status != 0 || !errors.Is(err, tc.err) {
				t.Errorf("%v: %v, want refusal %d %s", tc.err, err, tc.status, tc.code)
			}
			continue
		}
		if r.Status != tc.status || string(r.Code) != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, r.Status, r.Code, tc.status, tc.code)
		}
	}
}
