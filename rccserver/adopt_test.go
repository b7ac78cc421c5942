package rccserver_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// memStore is a SessionStore in memory; elsewhere lists Call-IDs another
// node is said to hold.
type memStore struct {
	mu        sync.Mutex
	recs      map[string]rccserver.SessionRecord
	saves     int
	lookups   int
	elsewhere map[string]bool
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]rccserver.SessionRecord{}, elsewhere: map[string]bool{}}
}

func (m *memStore) Save(_ context.Context, r rccserver.SessionRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.CallID] = r
	m.saves++
	return nil
}

func (m *memStore) Remove(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, id)
	return nil
}

func (m *memStore) Elsewhere(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	return m.elsewhere[id], nil
}

func (m *memStore) reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups
}

func (m *memStore) get(id string) (rccserver.SessionRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	return r, ok
}

// TestAdoptSession: a session signed in on server A is recorded at the ACK
// and at MonitorStart; server B adopts the record while the client's
// request for the dialog waits on B; the request is answered, the client
// gets B's UPDATE with B's Contact, and B's events carry the recorded
// monitor ID and a CSeq far above A's. The record is gone when the session ends.
func TestAdoptSession(t *testing.T) {
	storeA, storeB := newMemStore(), newMemStore()
	fronts := func(c *rccserver.Config) { c.FrontEnds = []string{"127.0.0.1"} }
	a := start(t, harnessOpts{sessions: storeA, cfg: fronts})
	b := start(t, harnessOpts{sessions: storeB, cfg: fronts, adoptWait: 5 * time.Second})
	c := a.client(lynctest.Options{})
	ctx := ctxT(t, 15*time.Second)
	deadline := time.Now().Add(2 * time.Second)
	for _, ok := storeA.get(c.CallID()); !ok; _, ok = storeA.get(c.CallID()) {
		if time.Now().After(deadline) {
			t.Fatal("no record after sign-in")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, _, err := c.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:73124;phone-context=dialstring"}); err != nil {
		t.Fatal(err)
	}
	rec, _ := storeA.get(c.CallID())
	if rec.Monitors["x1"] != "tel:73124;phone-context=dialstring" || rec.User != "sip:alice@example.com" || rec.LocalTag == "" {
		t.Fatalf("record %+v", rec)
	}

	// The client turns to B before B adopted: the request waits.
	var target sip.Uri
	if err := sip.ParseUri("sip:"+b.addr+";transport=tcp", &target); err != nil {
		t.Fatal(err)
	}
	c.Retarget(target)
	storeB.mu.Lock()
	storeB.elsewhere[c.CallID()] = true
	storeB.mu.Unlock()
	time.AfterFunc(300*time.Millisecond, func() {
		if _, err := b.srv.Adopt(context.Background(), rec); err != nil {
			t.Errorf("Adopt: %v", err)
		}
	})
	answer, _, err := c.Request(ctx, &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:+3222220220"})
	if err != nil {
		t.Fatalf("request after adoption: %v", err)
	}
	if _, ok := answer.(*csta.MakeCallResponse); !ok {
		t.Fatalf("answer %T", answer)
	}
	up, err := c.NextRefresh(ctx)
	if err != nil {
		t.Fatalf("no target refresh: %v", err)
	}
	if up.Contact() == nil || up.Contact().Address.Port != target.Port || up.CSeq().SeqNo < 1<<20 {
		t.Fatalf("UPDATE contact %v CSeq %d", up.Contact(), up.CSeq().SeqNo)
	}
	ev, err := c.NextEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Req.Source() == "" || ev.Req.CSeq().SeqNo <= up.CSeq().SeqNo {
		t.Fatalf("event CSeq %d after UPDATE %d", ev.Req.CSeq().SeqNo, up.CSeq().SeqNo)
	}
	if b.srv.Adoptions() != 1 {
		t.Fatalf("adoptions %d", b.srv.Adoptions())
	}
	sess := b.srv.Sessions()[0]
	if sess.Monitors()["x1"] == "" {
		t.Fatal("monitor not restored")
	}
	if _, ok := storeB.get(c.CallID()); !ok {
		t.Fatal("B did not record the adopted session")
	}
	// A second adoption of the same dialog is refused.
	if _, err := b.srv.Adopt(ctx, rec); err == nil {
		t.Fatal("second Adopt succeeded")
	}
	// Abandoning the session on A (its lease lost) sends nothing and leaves the record.
	a.srv.Sessions()[0].Abandon(rccserver.ErrClosedByServer)
	if _, ok := storeA.get(c.CallID()); !ok {
		t.Fatal("abandon removed A's record")
	}
	// The client signs out on B: the record goes.
	if err := c.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := storeB.get(c.CallID()); !ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := storeB.get(c.CallID()); ok {
		t.Fatal("record left after BYE")
	}
}

// TestAdoptWaitBounded: without a record elsewhere an unknown dialog
// is answered 481 at once, as before; with one, after the wait.
func TestAdoptWaitBounded(t *testing.T) {
	st := newMemStore()
	fronts := func(c *rccserver.Config) { c.FrontEnds = []string{"127.0.0.1"} }
	a := start(t, harnessOpts{cfg: fronts})
	b := start(t, harnessOpts{sessions: st, cfg: fronts, adoptWait: 700 * time.Millisecond})
	c := a.client(lynctest.Options{})
	var target sip.Uri
	_ = sip.ParseUri("sip:"+b.addr+";transport=tcp", &target)
	c.Retarget(target)
	ctx := ctxT(t, 10*time.Second)
	t0 := time.Now()
	_, res, _ := c.Request(ctx, &csta.SnapshotDevice{SnapshotObject: "tel:73124"})
	if res == nil || res.StatusCode != 481 || time.Since(t0) > 500*time.Millisecond {
		t.Fatalf("no record: %v after %v", res, time.Since(t0))
	}
	st.mu.Lock()
	st.elsewhere[c.CallID()] = true
	st.mu.Unlock()
	t0 = time.Now()
	_, res, _ = c.Request(ctx, &csta.SnapshotDevice{SnapshotObject: "tel:73124"})
	if res == nil || res.StatusCode != 481 || time.Since(t0) < 700*time.Millisecond {
		t.Fatalf("record elsewhere, no adoption: %v after %v", res, time.Since(t0))
	}
	// A node whose front ends do not include the sender does not wait (nor
	// read the store): only a front end can bring a dialog from another node.
	reads := st.reads()
	d := start(t, harnessOpts{sessions: st, cfg: func(c *rccserver.Config) { c.FrontEnds = []string{"192.0.2.1"} }, adoptWait: 700 * time.Millisecond})
	_ = sip.ParseUri("sip:"+d.addr+";transport=tcp", &target)
	c.Retarget(target)
	t0 = time.Now()
	_, res, _ = c.Request(ctx, &csta.SnapshotDevice{SnapshotObject: "tel:73124"})
	if res == nil || res.StatusCode != 481 || time.Since(t0) > 500*time.Millisecond || st.reads() != reads {
		t.Fatalf("not from a front end: %v after %v, %d store reads", res, time.Since(t0), st.reads()-reads)
	}
}

// TestAdoptUpdateRefused: a client that answers the target refresh 501
// (no UPDATE support) keeps its remote target; the adopted session still
// delivers its events, and the client's requests (through a front end)
// are answered.
func TestAdoptUpdateRefused(t *testing.T) {
	storeA, storeB := newMemStore(), newMemStore()
	fronts := func(c *rccserver.Config) { c.FrontEnds = []string{"127.0.0.1"} }
	a := start(t, harnessOpts{sessions: storeA, cfg: fronts})
	b := start(t, harnessOpts{sessions: storeB, cfg: fronts})
	c := a.client(lynctest.Options{UpdateStatus: 501})
	ctx := ctxT(t, 15*time.Second)
	if _, _, err := c.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:73124;phone-context=dialstring"}); err != nil {
		t.Fatal(err)
	}
	rec, ok := storeA.get(c.CallID())
	if !ok {
		t.Fatal("no record")
	}
	a.srv.Sessions()[0].Abandon(rccserver.ErrClosedByServer)
	if _, err := b.srv.Adopt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var target sip.Uri
	_ = sip.ParseUri("sip:"+b.addr+";transport=tcp", &target)
	c.Retarget(target) // what the front end's re-dispatch does
	for range 2 {
		if _, _, err := c.Request(ctx, &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:+3222220220"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.NextEvent(ctx); err != nil {
			t.Fatalf("no event after a refused UPDATE: %v", err)
		}
	}
	if up, err := c.NextRefresh(ctx); err != nil || up.CSeq().SeqNo < 1<<20 {
		t.Fatalf("UPDATE %v %v", up, err)
	}
}

// TestAdoptThroughFrontEnd: the client signs in on A through a
// record-routing front end; A dies silently and the front end re-dispatches
// to B. B's UPDATE goes to the front end (the dialog's first Route) on a
// connection of B's own and reaches the client, which then sends through
// the front end to B's Contact; B's events follow the same way.
func TestAdoptThroughFrontEnd(t *testing.T) {
	storeA, storeB := newMemStore(), newMemStore()
	fronts := func(c *rccserver.Config) { c.FrontEnds = []string{"127.0.0.1"} }
	a := start(t, harnessOpts{sessions: storeA, cfg: fronts})
	b := start(t, harnessOpts{sessions: storeB, cfg: fronts})
	fe := startFrontEnd(t, a.addr)
	c := a.newClient(lynctest.Options{Server: fe.addr()})
	ctx := ctxT(t, 15*time.Second)
	if _, err := c.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:73124;phone-context=dialstring"}); err != nil {
		t.Fatal(err)
	}
	rec, ok := storeA.get(c.CallID())
	if !ok || len(rec.Routes) != 1 {
		t.Fatalf("record %+v", rec)
	}
	a.srv.Sessions()[0].Abandon(rccserver.ErrClosedByServer)
	fe.redispatch(b.addr)
	if _, err := b.srv.Adopt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	up, err := c.NextRefresh(ctx)
	if err != nil {
		t.Fatalf("no UPDATE through the front end: %v", err)
	}
	if up.Contact() == nil || !strings.HasSuffix(b.addr, ":"+strconv.Itoa(up.Contact().Address.Port)) {
		t.Fatalf("UPDATE Contact %v, want B's %s", up.Contact(), b.addr)
	}
	if _, _, err := c.Request(ctx, &csta.MakeCall{CallingDevice: "tel:73124", CalledDirectoryNumber: "tel:+3222220220"}); err != nil {
		t.Fatalf("request through the front end after the failover: %v", err)
	}
	if _, err := c.NextEvent(ctx); err != nil {
		t.Fatalf("no event from B: %v", err)
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	var sawUpdate bool
	for _, s := range fe.fromSrv {
		if s.method == sip.UPDATE {
			sawUpdate = s.source != a.addr && strings.Contains(s.route, fe.self.Host+":"+strconv.Itoa(fe.self.Port))
		}
	}
	if !sawUpdate {
		t.Fatalf("front end did not see B's UPDATE with its Route: %+v", fe.fromSrv)
	}
}
