package rccserver

// KeepAlivesSent returns how many keep-alives fell due, and how many INFOs
// are queued, being written or awaiting their answer (benchmarks).
func (s *Server) KeepAlivesSent() (sent uint64, awaited int) {
	k := s.infos
	k.mu.Lock()
	sent, awaited = k.due.Load(), len(k.waiting)
	k.mu.Unlock()
	if awaited > 0 {
		return sent, awaited
	}
	for _, sess := range s.Sessions() {
		sess.mu.Lock()
		awaited += len(sess.queue)
		if sess.sending {
			awaited++
		}
		sess.mu.Unlock()
	}
	s.windows.mu.Lock() // INFOs sent as sipgo transactions (UseSipgoKeepAlives)
	for _, n := range s.windows.n {
		awaited += n
	}
	s.windows.mu.Unlock()
	return sent, awaited
}

// UseSipgoKeepAlives sends every INFO (keep-alives, events) as a sipgo
// client transaction, as before the INFO table: the baseline of
// BenchmarkKeepAlive.
func (s *Server) UseSipgoKeepAlives() {
	k := s.infos
	k.mu.Lock()
	k.viaSipgo = true
	k.mu.Unlock()
}

// KeepAlivesScheduled returns how many sessions have a keep-alive scheduled.
func (s *Server) KeepAlivesScheduled() int {
	k := s.infos
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kas.live()
}

// AnswersTaken returns how many answers to our INFOs the edge handed to
// the INFO table without sipgo.
func (s *Server) AnswersTaken() uint64 { return s.infos.taken.Load() }

// FastInfos returns how many INFO requests the edge's fast path took.
func (s *Server) FastInfos() uint64 { return s.fastInfos.Load() }

// EventsSentCount is Stats().EventsSent without Stats's allocations, for
// BenchmarkEventINFO's wait loop.
func (s *Server) EventsSentCount() int64 { return s.metrics.eventsSent.Load() }

// AnswersDue returns the bytes of answers counted in bursts (the edge
// coalesces its reads for them, sipedge/coalesce.go) and not yet settled,
// whether or not their burst's window has ended.
func (s *Server) AnswersDue() int {
	k := s.infos
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, w := range k.waiting {
		if w.burst != nil {
			n += int(w.floor)
		}
	}
	return n
}
