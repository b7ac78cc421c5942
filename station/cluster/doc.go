// Package cluster holds station ownership for a group of rccserver nodes
// in etcd, so that two nodes can never log two users onto one station,
// and the station state the nodes share.
//
// A node joins with a lease (etcd's leases: https://etcd.io/docs/v3.5/learning/api/#lease-api)
// that it keeps alive; every record it writes is attached to that lease,
// so a dead node's records expire on their own after the lease's TTL. A
// station is taken with one compare-and-swap transaction (If the key was
// never created, Then put it with the lease; https://etcd.io/docs/v3.5/learning/api/#transaction).
// A node whose lease is gone, or cannot be confirmed (a stopped-then-resumed
// process, etcd out of reach), reports it (Healthy, Lost) and takes nothing.
//
// The node's Store is the etcd implementation of state.Store (store.go):
// the phones' registrations and the stations' features shared by all
// nodes, the node's call legs under its lease. Watch (watch.go) hands
// other nodes' changes to the local switch and a dead node's sessions
// and legs to hooks (OnDeadSessions before OnDeadLegs).
//
// Keys, under Config.Prefix:
//
//	node/<id>              {"started": …}               the node's lease
//	station/<ext>          {"node": …, "user": …}       the node's lease
//	reg/<ext>              state.Registration + node    none (carries its expiry)
//	feature/<ext>          state.Features + node        none
//	leg/<node>/<call-id>   state.Leg                    the node's lease
//	claim/leg/<call-id>    node                         the claimer's lease
//	nodeinfo/<id>          {"rev": …} the run's join     none (orphans.go)
//	session/<call-id>      (written by rccserver)       the node's lease
//
// docs/cluster.md describes the design and what is not built yet.
package cluster
