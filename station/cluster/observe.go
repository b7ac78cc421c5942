package cluster

import "time"

// Observer receives the node's measurements; the daemon turns them into
// metrics, so that this package needs no metrics library. Its methods are
// called on the request's goroutine: they must be quick and safe for
// concurrent use.
type Observer interface {
	// EtcdRequest reports one etcd request of kind op: how long it took
	// and its error (nil when etcd answered, whatever the answer).
	EtcdRequest(op Op, took time.Duration, err error)
	// NodeDead reports another node whose lease ended with its records
	// (the watch's Cs_ClusterNodeDead).
	NodeDead(node string)
}

// nopObserver is the default Observer: it drops everything.
type nopObserver struct{}

func (nopObserver) EtcdRequest(Op, time.Duration, error) {}
func (nopObserver) NodeDead(string)                      {}

// observe reports a request of kind op sent at start.
func (n *Node) observe(op Op, start time.Time, err error) {
	n.cfg.Observer.EtcdRequest(op, n.cfg.Clock.Now().Sub(start), err)
}
