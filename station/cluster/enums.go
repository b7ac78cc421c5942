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

// Op is the kind of an etcd request, as Observer.EtcdRequest reports it.
type Op int

// Request kinds. The zero value is OpUnknown.
const (
	OpUnknown Op = iota
	// OpTake: a station take (compare-and-swap).
	OpTake
	// OpRelease: a station release.
	OpRelease
	// OpPut: a record written (session, registration, features, call leg).
	OpPut
	// OpDelete: a record deleted.
	OpDelete
	// OpClaim: a dead node's session or leg claimed (create-if-absent).
	OpClaim
	// OpRead: a read (a station's holder, a session's holder, a list at start).
	OpRead
	// OpRenew: a lease keep-alive.
	OpRenew
)

var opNames = [...]string{"unknown", "take", "release", "put", "delete", "claim", "read", "renew"}

// Ops lists the known request kinds, for metrics that want every label up front.
var Ops = []Op{OpTake, OpRelease, OpPut, OpDelete, OpClaim, OpRead, OpRenew}

// String returns the kind's name as metrics show it.
func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}
