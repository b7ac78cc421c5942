// Package state keeps what a single switch must not forget across a
// restart: the phones' registrations, forwarding and do-not-disturb per
// station, and the call legs in progress (so that calls left on the phones
// by a crash can be cleared when the switch starts again).
//
// Store is the interface the switch writes through; Bolt implements it in
// one local file with bbolt (go.etcd.io/bbolt). bbolt is chosen because it
// is pure Go (no cgo), embedded (no server to run), keeps everything in one
// file, makes every write a transaction that is on disk when Update returns
// (fsync; a crash leaves the last committed state), and is maintained by
// the etcd project, which uses it as etcd's own backend.
package state
