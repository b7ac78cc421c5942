package rccserver

import (
	"runtime"
	"sync"
)

// codecPool runs CSTA decoding and encoding on a few long-lived goroutines.
// sipgo handles every message on a fresh goroutine, and encoding/xml's deep
// call chain made each of them grow (copy) its stack: about a sixth of the
// server's CPU under load went to runtime.copystack (docs/performance.md).
// Workers keep their grown stacks. Only pure CPU work goes here — nothing
// that blocks — so one slow client cannot hold a worker.
type codecPool struct {
	jobs chan func()
	wg   sync.WaitGroup
	once sync.Once
}

func newCodecPool() *codecPool {
	p := &codecPool{jobs: make(chan func())}
	for range runtime.GOMAXPROCS(0) {
		p.wg.Go(func() {
			for job := range p.jobs {
				job()
			}
		})
	}
	return p
}

// do runs f on a worker and waits for it.
func (p *codecPool) do(f func()) {
	done := make(chan struct{})
	p.jobs <- func() { f(); close(done) }
	<-done
}

// close stops the workers once no caller is left.
func (p *codecPool) close() {
	p.once.Do(func() {
		close(p.jobs)
		p.wg.Wait()
	})
}
