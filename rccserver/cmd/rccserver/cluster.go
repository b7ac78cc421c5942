package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/callcontrol"
	"github.com/rccserver/rccserver/station/cluster"
	"github.com/rccserver/rccserver/station/switching"
)

// joinTimeout bounds joining the cluster at start: etcd must answer by
// then or the daemon does not start (docs/cluster.md "What is built now").
const joinTimeout = 10 * time.Second

// ownership is the daemon's callcontrol.Ownership over a cluster.Node; it
// counts refused takes by log code for the metrics.
type ownership struct {
	node    *cluster.Node
	log     zerolog.Logger
	metrics *clusterMetrics // the node's observer

	mu      sync.Mutex
	refused map[string]uint64
}

var _ callcontrol.Ownership = (*ownership)(nil)

// joinCluster joins the cluster configured under cluster.*; it fails when
// etcd does not answer within joinTimeout or the node ID is in use.
func joinCluster(ctx context.Context, f fileCluster, sipAddr string, log zerolog.Logger) (*ownership, error) {
	cfg := f.config()
	cfg.Log = log
	cfg.SIPAddr = sipAddr
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster: join %v: %w", cfg.Endpoints, err)
	}
	cfg.TLS = tlsCfg
	m := &clusterMetrics{}
	cfg.Observer = m
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	n, err := cluster.Join(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: join %v as %s (%s): %w", cfg.Endpoints, cfg.Node, cluster.Code(err), err)
	}
	return &ownership{node: n, log: log.With().Str("component", "cluster").Logger(), metrics: m, refused: map[string]uint64{}}, nil
}

// clusterSIPAddr is the address the node advertises for calls between
// nodes: cluster.sip_address, else the first UDP phones listener bound to
// a specific IP; "" (no such calls, logged at start) when there is none.
func clusterSIPAddr(cfg *config) string {
	if a := cfg.file.Cluster.SIPAddress; a != "" {
		return a
	}
	for _, l := range cfg.file.Phones.Listen {
		if ap, err := netip.ParseAddrPort(l.Addr); err == nil && strings.EqualFold(l.Network, "udp") && !ap.Addr().IsUnspecified() && ap.Port() != 0 {
			return l.Addr
		}
	}
	return ""
}

// Take implements callcontrol.Ownership.
func (o *ownership) Take(ext, user string) error {
	err := o.node.Take(context.Background(), ext, user)
	if err != nil {
		code := cluster.Code(err)
		o.mu.Lock()
		o.refused[code]++
		o.mu.Unlock()
		o.log.Info().Str("code", code).Str("station", ext).Str("user", user).Err(err).Msg("station take refused")
	}
	return err
}

// Release implements callcontrol.Ownership. A station the node no longer
// holds (lease lost) is nothing to release.
func (o *ownership) Release(ext, user string) {
	err := o.node.Release(context.Background(), ext, user)
	if err != nil && !errors.Is(err, cluster.ErrNotHeld) {
		// etcd out of reach: the record stays until the lease ends or the
		// node closes (its lease is revoked).
		o.log.Warn().Str("code", cluster.Code(err)).Str("station", ext).Str("user", user).Err(err).Msg("station release failed")
	}
}

// refusals returns the refused takes by log code.
func (o *ownership) refusals() map[string]uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]uint64, len(o.refused))
	for k, v := range o.refused {
		out[k] = v
	}
	return out
}

// watchLease drops, when the node's lease is lost, every session without a
// word to its client: etcd deleted their records with the lease and another
// node may have adopted them (docs/cluster.md "Session adoption"); a BYE
// would end the dialog the other node now serves. The node then refuses
// sign-ins with Cs_ClusterUnavailable until it is restarted. It returns
// when ctx ends.
func (d *daemon) watchLease(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-d.own.node.Lost():
	}
	n := dropSessions(d.rcc.Sessions(), cluster.ErrLeaseLost)
	d.log.Error().Str("code", cluster.CodeLeaseLost).Int("sessions_dropped", n).
		Msg("cluster lease lost: sessions dropped without BYE (other nodes adopt them); sign-ins refused until restart")
}

// applyShared applies a registration or a station's features that another
// node wrote to etcd to this node's switch (the cluster watch's callback):
// a phone registered through node A is reached from node B at once.
func (d *daemon) applyShared(c cluster.Change) {
	switch c.Kind {
	case cluster.ChangeRegistration:
		d.sw.ApplyRegistration(c.Registration)
	case cluster.ChangeRegistrationDeleted:
		d.sw.ApplyUnregistration(c.Ext)
	case cluster.ChangeFeatures:
		d.sw.ApplyFeatures(c.Features)
	}
}

// clearDeadLegs clears a dead node's call legs (its OnDeadLegs hook, run
// after the session hooks): BYE on the phones by the node that won each
// leg's claim, ConnectionCleared to this node's monitors of their stations.
func (d *daemon) clearDeadLegs(node string, legs []cluster.DeadLeg) {
	fl := make([]switching.ForeignLeg, 0, len(legs))
	for _, l := range legs {
		fl = append(fl, switching.ForeignLeg{Leg: l.Leg, Bye: l.Bye})
		if l.Bye {
			d.own.metrics.deadCalls.Add(1)
		}
	}
	d.log.Info().Str("component", "cluster").Str("dead_node", node).Int("legs", len(legs)).Msg("clearing a dead node's calls")
	d.sw.ClearForeignLegs(fl)
}
