package rccserver

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// workers run the CPU part of a request — CSTA decoding, the handler,
// encoding and the answer — on a few long-lived goroutines. sipgo handles
// every message on a fresh goroutine whose stack starts small, and the
// request path's call depth (sipgo's transaction layer, encoding/xml, the
// handler) made each of them grow (copy) its stack once or twice: 10–15 %
// of the server's CPU under load went to runtime.newstack/copystack
// (docs/performance.md). Workers keep their grown stacks. A request finds
// an idle worker or runs on its own goroutine: a handler that blocks (a
// slow switch operation, a full socket) holds at most one worker, and
// never makes another request wait for one.
type workers struct {
	jobs chan *job
	// idle counts workers on their way to take a job and not claimed by a
	// caller: a caller that claims one never waits behind a busy worker.
	idle atomic.Int32
	free sync.Pool // of *job
	wg   sync.WaitGroup
	once sync.Once
}

// job is one hand-off to a worker; done is reused with the job.
type job struct {
	f     func()
	done  chan struct{}
	panic *workerPanic // f panicked: raised again on the caller's goroutine
	// detached: nobody waits (spawn); the worker recycles the job.
	detached bool
}

// workerPanic carries a panic from a worker to the request's own goroutine,
// whose handler wrapper (Server.recoverHandler) logs it and answers 500.
type workerPanic struct {
	value any
	stack []byte
}

func (p *workerPanic) String() string {
	return fmt.Sprintf("%v (on a request worker)\n%s", p.value, p.stack)
}

// workersPerProc: workers beyond GOMAXPROCS cover those held by a blocked
// handler, so that the CPU-bound requests still find one idle.
const workersPerProc = 32

func newWorkers() *workers {
	p := &workers{jobs: make(chan *job)}
	p.free.New = func() any { return &job{done: make(chan struct{}, 1)} }
	for range workersPerProc * runtime.GOMAXPROCS(0) {
		p.wg.Go(func() {
			for {
				p.idle.Add(1)
				j, ok := <-p.jobs
				if !ok {
					return
				}
				j.runCatching()
				if j.detached {
					j.f, j.panic, j.detached = nil, nil, false // f recovers its own panics
					p.free.Put(j)
					continue
				}
				j.done <- struct{}{}
			}
		})
	}
	return p
}

// run runs f on an idle worker and waits for it, or runs it on the
// caller's goroutine if every worker is busy.
func (p *workers) run(f func()) {
	for {
		n := p.idle.Load()
		if n <= 0 {
			f()
			return
		}
		if p.idle.CompareAndSwap(n, n-1) {
			break
		}
	}
	j := p.free.Get().(*job)
	j.f = f
	p.jobs <- j
	<-j.done
	wp := j.panic
	j.f, j.panic = nil, nil
	p.free.Put(j)
	if wp != nil {
		panic(wp)
	}
}

// spawn runs f on an idle worker, or on a goroutine of its own if every
// worker is busy, and returns at once. f must recover its own panics and
// be waited for by its caller's owner (Server.handlers for the edge's
// INFOs, fastinfo.go).
func (p *workers) spawn(f func()) {
	for {
		n := p.idle.Load()
		if n <= 0 {
			go f()
			return
		}
		if p.idle.CompareAndSwap(n, n-1) {
			break
		}
	}
	j := p.free.Get().(*job)
	j.f, j.detached = f, true
	p.jobs <- j
}

// runCatching runs the job's f; a panic must not kill the worker (and the
// process) but reach the caller, as it would have without workers.
func (j *job) runCatching() {
	defer func() {
		if r := recover(); r != nil {
			j.panic = &workerPanic{value: r, stack: debug.Stack()}
		}
	}()
	j.f()
}

// close stops the workers once no caller is left.
func (p *workers) close() {
	p.once.Do(func() {
		close(p.jobs)
		p.wg.Wait()
	})
}
