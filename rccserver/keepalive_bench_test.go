package rccserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/clock"
)

// BenchmarkKeepAlive: the server's CPU per keep-alive INFO, for N sessions
// that SIPp holds over one loopback TCP connection and whose keep-alives it
// answers (-aa; examples/sipp/keepalive/rcc_hold.xml). Each round advances
// the injected clock by one keep-alive period, so every session sends one,
// and waits until all are answered. SIPp runs in its own process, so the
// test process's CPU (getrusage) is the server's; the CPU of the same wall
// time idle, measured just before, is subtracted (docs/performance.md,
// "Keep-alive CPU"). "table" is the keep-alive table (keepalive.go),
// "sipgo" the same server sending each keep-alive as a sipgo client
// transaction, the baseline in the same run.
func BenchmarkKeepAlive(b *testing.B) {
	for _, path := range []string{"table", "sipgo"} {
		b.Run(fmt.Sprintf("%s/N=1000", path), func(b *testing.B) { benchKeepAlive(b, 1000, path == "sipgo") })
	}
}

func benchKeepAlive(b *testing.B, n int, viaSipgo bool) {
	const period = 30 * time.Second
	// clock.Fake fires every due timer in one pass: 1000 sessions cost it
	// no more than the keep-alives measured.
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	h := start(b, harnessOpts{clock: clk, cfg: func(c *rccserver.Config) {
		c.KeepAlive = period
		c.RequestTimeout = 5 * time.Second
		c.ShutdownTimeout = 100 * time.Millisecond // SIPp is gone by then: no BYE is answered
	}})
	if viaSipgo {
		h.srv.UseSipgoKeepAlives()
	}
	holdWithSIPp(b, h, n, 30*time.Second)
	time.Sleep(200 * time.Millisecond) // the last ACKs: every keep-alive timer armed

	if f := os.Getenv("RCC_BENCH_CPUPROFILE"); f != "" { // the rounds only, without the sign-ins
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); _ = out.Close() }()
	}
	var busy, idle time.Duration
	b.ResetTimer()
	for range b.N {
		sent0, _ := h.srv.KeepAlivesSent()
		c0, t0 := cpuTime(), time.Now()
		clk.Advance(period)
		for {
			time.Sleep(5 * time.Millisecond)
			sent, awaited := h.srv.KeepAlivesSent()
			if sent >= sent0+uint64(n) && awaited == 0 {
				time.Sleep(2 * time.Millisecond)
				if _, awaited = h.srv.KeepAlivesSent(); awaited == 0 {
					break
				}
			}
			if time.Since(t0) > 20*time.Second {
				b.Fatalf("keep-alives not answered: sent %d of %d, %d awaited", sent-sent0, n, awaited)
			}
		}
		c1, wall := cpuTime(), time.Since(t0)
		busy += c1 - c0
		// The same wall time with nothing to do: the idle baseline.
		time.Sleep(wall)
		idle += cpuTime() - c1
	}
	b.StopTimer()
	if st := h.srv.Stats(); st.Unanswered != 0 || st.KeepAliveFailures != 0 {
		b.Fatalf("unanswered %d, failed %d", st.Unanswered, st.KeepAliveFailures)
	}
	kas := float64(b.N * n)
	b.ReportMetric(float64((busy-idle).Microseconds())/kas, "cpu-µs/keepalive")
	b.ReportMetric(float64(busy.Microseconds())/kas, "cpu-µs-gross/keepalive")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// holdWithSIPp has SIPp (examples/sipp/keepalive/rcc_hold.xml, -aa) sign in
// n sessions at 1000/s over one TCP connection to h and hold them until the
// benchmark ends; it waits until the server has all n, at most within.
func holdWithSIPp(b *testing.B, h *harness, n int, within time.Duration) {
	b.Helper()
	sipp := lookPath(b, "sipp")
	scenario, err := filepath.Abs("../examples/sipp/keepalive/rcc_hold.xml")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sp := exec.CommandContext(ctx, sipp, "-sf", scenario, "-t", "t1", "-aa", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(b)),
		"-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", "1000", "-d", "3600000", "-nostdin", h.addr)
	sp.Dir = b.TempDir()
	if err := sp.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		_ = sp.Wait()
	})
	deadline := time.Now().Add(within)
	for len(h.srv.Sessions()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("SIPp signed in %d of %d sessions", len(h.srv.Sessions()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
