package cluster

import "fmt"

// LeaseState is what a node knows about its lease.
type LeaseState int

// Lease states. The zero value is LeaseUnknown (not joined).
const (
	LeaseUnknown LeaseState = iota
	// LeaseHealthy: a keep-alive sent less than the TTL ago was answered;
	// the lease is certainly alive now.
	LeaseHealthy
	// LeaseUnconfirmed: no keep-alive answered within the TTL (etcd out of
	// reach or without quorum, or this process was stopped). The lease may
	// be gone: nothing new is taken, held records are kept locally until
	// etcd answers again.
	LeaseUnconfirmed
	// LeaseLost: etcd said the lease is gone (expired or revoked). Final.
	LeaseLost
)

var leaseStateNames = [...]string{"unknown", "healthy", "unconfirmed", "lost"}

// String returns the state's name as logs and metrics show it.
func (s LeaseState) String() string {
	if s < 0 || int(s) >= len(leaseStateNames) {
		return fmt.Sprintf("LeaseState(%d)", int(s))
	}
	return leaseStateNames[s]
}

// ChangeKind is what a Change from another node is about.
type ChangeKind int

// Change kinds. The zero value is ChangeUnknown.
const (
	ChangeUnknown ChangeKind = iota
	// ChangeRegistration: a phone registered (or refreshed) through another node.
	ChangeRegistration
	// ChangeRegistrationDeleted: a phone's registration was removed (unREGISTER, expiry).
	ChangeRegistrationDeleted
	// ChangeFeatures: a station's forwarding or DND changed on another node.
	ChangeFeatures
)

var changeKindNames = [...]string{"unknown", "registration", "registration-deleted", "features"}

// String returns the kind's name as logs show it.
func (k ChangeKind) String() string {
	if k < 0 || int(k) >= len(changeKindNames) {
		return fmt.Sprintf("ChangeKind(%d)", int(k))
	}
	return changeKindNames[k]
}
