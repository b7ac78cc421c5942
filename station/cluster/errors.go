package cluster

import "errors"

// Sentinel errors. Functions wrap them with %w; test with errors.Is. Code
// names the log code of each.
var (
	// ErrInvalidConfig: the Config is unusable; the message names the field.
	ErrInvalidConfig = errors.New("cluster: invalid configuration")
	// ErrStationInUse: another node, or another user, holds the station.
	ErrStationInUse = errors.New("cluster: station in use by another user")
	// ErrNodeIDInUse: a live node already joined with this node ID.
	ErrNodeIDInUse = errors.New("cluster: node ID in use")
	// ErrUnavailable: etcd has no quorum or cannot be reached, or this
	// node's lease is not confirmed; nothing new is taken.
	ErrUnavailable = errors.New("cluster: etcd unavailable")
	// ErrLeaseLost: this node's lease expired; its records are gone and it
	// must not act for any station.
	ErrLeaseLost = errors.New("cluster: node lease lost")
	// ErrNotHeld: the station is not held by this node for that user.
	ErrNotHeld = errors.New("cluster: station not held by this node")
	// ErrClosed: the node left the cluster (Close).
	ErrClosed = errors.New("cluster: node closed")
	// ErrTLS: Join failed because the TLS handshake with etcd failed (its
	// certificate not signed by the configured CA, wrong name, our client
	// certificate refused). Later requests report ErrUnavailable.
	ErrTLS = errors.New("cluster: TLS with etcd failed")
)

// Log codes (field "code"); docs/troubleshooting.md explains each.
const (
	CodeStationInUse  = "Cs_StationInUseByAnotherUser"
	CodeUnavailable   = "Cs_ClusterUnavailable"
	CodeLeaseLost     = "Cs_ClusterLeaseLost"
	CodeNodeIDInUse   = "Cs_ClusterNodeIDInUse"
	CodeClusterFailed = "Cs_ClusterFailed"
	// CodeTLS: the TLS handshake with etcd failed (ErrTLS).
	CodeTLS = "Cs_ClusterTLSFailed"
	// CodeNodeDead: the watch saw a node's lease end with its records.
	CodeNodeDead = "Cs_ClusterNodeDead"
	// CodeWatchGap: etcd compacted changes the watch had not seen yet.
	CodeWatchGap = "Cs_ClusterWatchGap"
	// CodeWatchBadRecord: a shared record cannot be decoded; it is ignored.
	CodeWatchBadRecord = "Cs_ClusterBadRecord"
)

// Code returns the log code for an error of this package, "" for nil.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrStationInUse):
		return CodeStationInUse
	case errors.Is(err, ErrTLS):
		return CodeTLS
	case errors.Is(err, ErrLeaseLost), errors.Is(err, ErrClosed):
		return CodeLeaseLost
	case errors.Is(err, ErrUnavailable):
		return CodeUnavailable
	case errors.Is(err, ErrNodeIDInUse):
		return CodeNodeIDInUse
	default:
		return CodeClusterFailed
	}
}
