package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rccserver/rccserver/station/state"
)

// Keys of the shared station state, under Config.Prefix:
//
//	reg/<ext>               regRecord   no lease: the record carries its expiry
//	feature/<ext>           featRecord  no lease: persistent
//	leg/<node>/<call-id>    state.Leg   the writing node's lease
const (
	kindReg     = "reg/"
	kindFeature = "feature/"
	kindLeg     = "leg/"
	kindNode    = "node/"
	kindSession = "session/"
	kindClaim   = "claim/"
)

// regRecord and featRecord name the node that wrote them, so that the
// watch passes on other nodes' writes only.
type regRecord struct {
	state.Registration
	Node string `json:"node"`
}

type featRecord struct {
	state.Features
	Node string `json:"node"`
}

// Store is the etcd implementation of state.Store for one node: the
// phones' registrations and the stations' features are shared by all
// nodes, the call legs are this node's, under its lease (a dead node's
// legs disappear with it and the watch reports them, watch.go).
type Store struct {
	n *Node
}

var _ state.Store = (*Store)(nil)

// Store returns the node's state store. Closing it does nothing: the node
// owns the etcd client (Node.Close).
func (n *Node) Store() *Store { return &Store{n: n} }

func (s *Store) key(kind, id string) string { return s.n.cfg.Prefix + kind + id }

func (s *Store) legKey(callID string) string { return s.key(kindLeg, s.n.cfg.Node+"/"+callID) }

// closed reports ErrClosed once the node left.
func (s *Store) closed() error {
	if s.n.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", state.ErrClosed, ErrClosed)
	}
	return nil
}

// put writes v at key (with the node's lease if leased) and remembers the
// revision, so that the watch ignores older writes of others to the key.
func (s *Store) put(key string, v any, leased bool) error {
	if err := s.closed(); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", state.ErrInvalid, key, err)
	}
	var opts []clientv3.OpOption
	if leased {
		opts = append(opts, clientv3.WithLease(s.n.lease))
	}
	ctx, cancel := s.n.reqCtx(context.Background())
	defer cancel()
	start := s.n.cfg.Clock.Now()
	res, err := s.n.cli.Put(ctx, key, string(data), opts...)
	s.n.observe(OpPut, start, err)
	if err != nil {
		return s.n.classify(err)
	}
	if !leased {
		s.n.wroteAt(key, res.Header.Revision) // shared keys only: legs are this node's alone
	}
	return nil
}

func (s *Store) del(key string) error {
	if err := s.closed(); err != nil {
		return err
	}
	ctx, cancel := s.n.reqCtx(context.Background())
	defer cancel()
	start := s.n.cfg.Clock.Now()
	res, err := s.n.cli.Delete(ctx, key)
	s.n.observe(OpDelete, start, err)
	if err != nil {
		return s.n.classify(err)
	}
	if !strings.HasPrefix(key, s.key(kindLeg, "")) {
		s.n.wroteAt(key, res.Header.Revision)
	}
	return nil
}

// list returns the values under prefix and records the revision read, from
// which the watch starts (Revision).
func (s *Store) list(prefix string) ([][]byte, error) {
	if err := s.closed(); err != nil {
		return nil, err
	}
	ctx, cancel := s.n.reqCtx(context.Background())
	defer cancel()
	start := s.n.cfg.Clock.Now()
	res, err := s.n.cli.Get(ctx, prefix, clientv3.WithPrefix())
	s.n.observe(OpRead, start, err)
	if err != nil {
		return nil, s.n.classify(err)
	}
	s.n.mu.Lock()
	if s.n.readRev == 0 || res.Header.Revision < s.n.readRev {
		s.n.readRev = res.Header.Revision
	}
	s.n.mu.Unlock()
	out := make([][]byte, 0, len(res.Kvs))
	for _, kv := range res.Kvs {
		out = append(out, kv.Value)
	}
	return out, nil
}

func decodeAll[T any](vals [][]byte, what string) ([]T, error) {
	out := make([]T, 0, len(vals))
	var errs []error
	for _, v := range vals {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", state.ErrCorrupt, what, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Revision is the etcd revision of the first list read (Registrations,
// Features, Legs): a watch from Revision()+1 misses no change after it.
// 0 before any read.
func (s *Store) Revision() int64 {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	return s.n.readRev
}

// PutRegistration records or replaces r.Extension's registration for all nodes.
func (s *Store) PutRegistration(r state.Registration) error {
	if r.Extension == "" || strings.Contains(r.Extension, "/") {
		return fmt.Errorf("%w: registration extension %q", state.ErrInvalid, r.Extension)
	}
	return s.put(s.key(kindReg, r.Extension), regRecord{Registration: r, Node: s.n.cfg.Node}, false)
}

// DeleteRegistration forgets ext's registration on all nodes.
func (s *Store) DeleteRegistration(ext string) error { return s.del(s.key(kindReg, ext)) }

// Registrations returns every recorded registration, expired or not.
func (s *Store) Registrations() ([]state.Registration, error) {
	vals, err := s.list(s.key(kindReg, ""))
	if err != nil {
		return nil, err
	}
	recs, err := decodeAll[regRecord](vals, "registration")
	out := make([]state.Registration, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Registration)
	}
	return out, err
}

// PutFeatures records or replaces f.Extension's forwarding and DND for all nodes.
func (s *Store) PutFeatures(f state.Features) error {
	if f.Extension == "" || strings.Contains(f.Extension, "/") {
		return fmt.Errorf("%w: features extension %q", state.ErrInvalid, f.Extension)
	}
	return s.put(s.key(kindFeature, f.Extension), featRecord{Features: f, Node: s.n.cfg.Node}, false)
}

// Features returns every station's recorded features.
func (s *Store) Features() ([]state.Features, error) {
	vals, err := s.list(s.key(kindFeature, ""))
	if err != nil {
		return nil, err
	}
	recs, err := decodeAll[featRecord](vals, "features")
	out := make([]state.Features, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Features)
	}
	return out, err
}

// PutLeg records a confirmed leg of this node under its lease.
func (s *Store) PutLeg(l state.Leg) error {
	if l.CallID == "" {
		return fmt.Errorf("%w: leg without Call-ID", state.ErrInvalid)
	}
	return s.put(s.legKey(l.CallID), l, true)
}

// DeleteLeg forgets a leg of this node that ended.
func (s *Store) DeleteLeg(callID string) error { return s.del(s.legKey(callID)) }

// Legs returns this node's recorded legs and, on the first call, the legs
// this node ID's previous run left when it died with nobody to clear them
// (orphans.go): a restarted node ends those calls as a single node does.
func (s *Store) Legs() ([]state.Leg, error) {
	vals, err := s.list(s.key(kindLeg, s.n.cfg.Node+"/"))
	if err != nil {
		return nil, err
	}
	legs, err := decodeAll[state.Leg](vals, "leg")
	s.n.orphans.Do(func() {
		old, oerr := s.n.orphanLegs()
		if oerr != nil { // not the store's failure: this run's legs are fine
			s.n.log.Warn().Err(oerr).Msg("cluster: the previous run's calls were not looked up")
		}
		legs = append(legs, old...)
	})
	return legs, err
}

// Close does nothing; the node closes the client.
func (s *Store) Close() error { return nil }
