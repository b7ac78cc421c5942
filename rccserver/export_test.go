package rccserver

// KeepAlivesSent returns how many keep-alives the keep-alive table has
// written, and how many of them still await their answer (benchmarks).
func (s *Server) KeepAlivesSent() (sent uint64, awaited int) {
	k := s.keepAlives
	k.mu.Lock()
	sent, awaited = k.n.Load(), len(k.waiting)
	k.mu.Unlock()
	s.windows.mu.Lock() // INFOs sent as sipgo transactions (UseSipgoKeepAlives)
	for _, n := range s.windows.n {
		awaited += n
	}
	s.windows.mu.Unlock()
	return sent, awaited
}

// UseSipgoKeepAlives sends keep-alives as sipgo client transactions, as
// before the keep-alive table: the baseline of BenchmarkKeepAlive.
func (s *Server) UseSipgoKeepAlives() {
	k := s.keepAlives
	k.mu.Lock()
	k.viaSipgo = true
	k.mu.Unlock()
}
