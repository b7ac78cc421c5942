package main

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/station/cluster"
)

// Cluster metrics beyond the lease gauge (docs/operations.md): the node's
// role, etcd request latency by kind, and dead nodes seen.
var (
	mClusterRole      = prometheus.NewDesc("rcc_cluster_node_info", "1 for this node's role: single (no cluster.etcd), member (joined; its lease may be unconfirmed, see rcc_cluster_lease_healthy), lease-lost (acting for no station until restarted). There is no leader among rccserver nodes.", []string{"node", "role"}, nil)
	mClusterEtcd      = prometheus.NewDesc("rcc_cluster_etcd_seconds", "etcd requests of this node by kind (take, release, put, delete, claim, read, renew), answered or failed.", []string{"op"}, nil)
	mClusterEtcdErrs  = prometheus.NewDesc("rcc_cluster_etcd_failures_total", "etcd requests that failed (no answer in time, no quorum, TLS), by kind.", []string{"op"}, nil)
	mClusterDead      = prometheus.NewDesc("rcc_cluster_dead_nodes_total", "Other nodes whose lease ended with their records, as this node's watch saw it (Cs_ClusterNodeDead).", nil, nil)
	mClusterDeadCalls = prometheus.NewDesc("rcc_cluster_dead_legs_cleared_total", "Call legs (one per phone in a call) of dead nodes that this node cleared with a BYE (it won the leg's claim).", nil, nil)
)

// clusterDescs are the descriptions above, for the collector's Describe.
var clusterDescs = []*prometheus.Desc{mClusterRole, mClusterEtcd, mClusterEtcdErrs, mClusterDead, mClusterDeadCalls}

// clusterMetrics is the node's cluster.Observer. It keeps plain counters
// and emits const metrics at scrape time, like the rest of the collector
// (whose descriptions are static, without a daemon).
type clusterMetrics struct {
	ops       [len(opIndex)]opLatency
	dead      atomic.Uint64
	deadCalls atomic.Uint64
}

// opIndex maps the request kinds to slots; unknown kinds are not counted.
var opIndex = [...]cluster.Op{cluster.OpTake, cluster.OpRelease, cluster.OpPut, cluster.OpDelete, cluster.OpClaim, cluster.OpRead, cluster.OpRenew}

// opLatency is one kind's histogram over rccserver.LatencyBuckets.
type opLatency struct {
	buckets [16]atomic.Uint64 // per bucket, not cumulative; len(LatencyBuckets) ≤ 16
	count   atomic.Uint64
	sumNs   atomic.Int64
	failed  atomic.Uint64
}

var _ cluster.Observer = (*clusterMetrics)(nil)

// EtcdRequest implements cluster.Observer.
func (m *clusterMetrics) EtcdRequest(op cluster.Op, took time.Duration, err error) {
	for i, o := range opIndex {
		if o != op {
			continue
		}
		l := &m.ops[i]
		for b, ub := range rccserver.LatencyBuckets {
			if took.Seconds() <= ub {
				l.buckets[b].Add(1)
				break
			}
		}
		l.count.Add(1)
		l.sumNs.Add(int64(took))
		if err != nil {
			l.failed.Add(1)
		}
		return
	}
}

// NodeDead implements cluster.Observer.
func (m *clusterMetrics) NodeDead(string) { m.dead.Add(1) }

// collect emits the node's cluster metrics.
func (m *clusterMetrics) collect(ch chan<- prometheus.Metric) {
	for i, op := range opIndex {
		l := &m.ops[i]
		cum, buckets := uint64(0), make(map[float64]uint64, len(rccserver.LatencyBuckets))
		for b, ub := range rccserver.LatencyBuckets {
			cum += l.buckets[b].Load()
			buckets[ub] = cum
		}
		ch <- prometheus.MustNewConstHistogram(mClusterEtcd, l.count.Load(), time.Duration(l.sumNs.Load()).Seconds(), buckets, op.String())
		ch <- prometheus.MustNewConstMetric(mClusterEtcdErrs, prometheus.CounterValue, float64(l.failed.Load()), op.String())
	}
	ch <- prometheus.MustNewConstMetric(mClusterDead, prometheus.CounterValue, float64(m.dead.Load()))
	ch <- prometheus.MustNewConstMetric(mClusterDeadCalls, prometheus.CounterValue, float64(m.deadCalls.Load()))
}

// clusterRole is the node's role for rcc_cluster_node_info.
func (d *daemon) clusterRole() (node, role string) {
	if d.own == nil {
		return "", "single"
	}
	if d.own.node.State() == cluster.LeaseLost {
		return d.own.node.ID(), "lease-lost"
	}
	return d.own.node.ID(), "member"
}
