package rccserver

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestWorkersNeverWaitBehindABlockedOne: with every worker held by a
// blocked job, a request runs on its caller's goroutine at once; once they
// are free, requests go to workers again; close stops them all.
func TestWorkersNeverWaitBehindABlockedOne(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := newWorkers()
	n := workersPerProc * runtime.GOMAXPROCS(0)
	for p.idle.Load() < int32(n) { // every worker started
		time.Sleep(time.Millisecond)
	}
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	var held sync.WaitGroup
	for range n {
		held.Go(func() { p.run(func() { started.Done(); <-release }) })
	}
	started.Wait()
	if p.idle.Load() > 0 { // each blocked job holds a worker
		t.Fatalf("%d workers idle with %d blocked jobs", p.idle.Load(), n)
	}
	done := make(chan struct{})
	go func() {
		p.run(func() {})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a request waited behind blocked workers")
	}
	close(release)
	held.Wait()
	var ran atomic.Int32
	for range 100 {
		p.run(func() { ran.Add(1) })
	}
	if ran.Load() != 100 {
		t.Fatalf("ran %d of 100", ran.Load())
	}
	p.close()
}

// TestWorkersPanicReachesTheCaller: a panic on a worker is raised again on
// the caller's goroutine, where the handler wrapper recovers it, and the
// worker lives on.
func TestWorkersPanicReachesTheCaller(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := newWorkers()
	defer p.close()
	for p.idle.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	got := func() (r any) {
		defer func() { r = recover() }()
		p.run(func() { panic("boom") })
		return nil
	}()
	wp, ok := got.(*workerPanic)
	if !ok || wp.value != "boom" || !strings.Contains(wp.String(), "TestWorkersPanicReachesTheCaller") {
		t.Fatalf("recovered %v", got)
	}
	ran := false
	p.run(func() { ran = true })
	if !ran {
		t.Fatal("workers stopped after a panic")
	}
}
