package callcontrol

import (
	"fmt"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station/cluster"
)

// Ownership holds stations across rccserver nodes (station/cluster): a
// station taken here cannot be signed in on another node until released.
// LoginAdmission takes the station after the local login succeeded and
// releases it when the session ends. Take's errors wrap station/cluster's
// sentinels (ErrStationInUse, ErrUnavailable, ErrLeaseLost, …).
type Ownership interface {
	Take(ext, user string) error
	Release(ext, user string)
}

// ownershipRefusal turns a Take error into what the client is told:
// another node's holder is 403 Cs_StationInUseByAnotherUser; etcd without
// quorum, out of reach, or a lost lease is 503 Cs_ClusterUnavailable (the
// client may retry, perhaps on another node).
func ownershipRefusal(ext string, err error) error {
	switch cluster.Code(err) {
	case cluster.CodeStationInUse:
		return &rccserver.Refusal{Status: 403, Code: rccserver.LogCode(cluster.CodeStationInUse),
			Reason: "the station is in use by another user", Detail: err.Error()}
	case cluster.CodeUnavailable, cluster.CodeLeaseLost:
		return &rccserver.Refusal{Status: 503, Code: rccserver.LogCode(cluster.CodeUnavailable),
			Reason: "station ownership cannot be confirmed now", Detail: err.Error()}
	}
	return fmt.Errorf("take station %s: %w", ext, err)
}

// EndUnownedSessions ends the sessions whose station this node no longer
// holds in the cluster (held is station -> user as the node last wrote it;
// after a lost lease it is empty, so every session with a station ends).
func EndUnownedSessions(sessions []*rccserver.Session, held map[string]string, reason error) int {
	n := 0
	for _, s := range sessions {
		ln, _ := s.Grant().Value.(*Line)
		if ln == nil || ln.Login == nil || ln.Login.Station() == nil {
			continue
		}
		if _, ok := held[ln.Ext]; ok {
			continue
		}
		s.Close(fmt.Errorf("%w: %w", rccserver.ErrClosedByServer, reason))
		n++
	}
	return n
}
