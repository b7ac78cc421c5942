package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// heapHold is how long every session is held before the second reading:
// past sipgo's 64·T1 = 32 s lifetime of an INVITE server transaction
// (Timer L, RFC 6026 §8.7), so the figure is what a session costs for hours.
const heapHold = 36 * time.Second

// BenchmarkHeapPerSession guards issue 16's heap goal (docs/performance.md,
// "Heap per held session"): a held session costs at most 4 KB of live heap,
// less than bare sipgo (rccserver/cmd/rccbare) holding the same dialogs.
// The built rccserver (keep-alive every 60 s, so each session has its
// timer) and the built rccbare run side by side; one SIPp per server signs
// in HEAP_N sessions (default 2000) over one TCP connection with
// examples/sipp/load/rcc_load.xml, each with its MonitorStart, and holds
// them (its t0 a day away; -aa answers keep-alives), as the load script
// does. Each server's live heap after a GC (rccserver: its admin listener's
// /debug/pprof/heap?gc=1, then go_memstats_heap_alloc_bytes; rccbare: its
// -debug /heap) is read before the sign-ins and heapHold after the last;
// the difference over HEAP_N is B/session (rccserver), bare-B/session and
// their ratio x-bare. RCC_BIN names an rccserver binary to measure instead
// of this tree's. One iteration takes about a minute.
//
//	go test -run '^$' -bench HeapPerSession -benchtime 1x -count 2 ./rccserver/cmd/rccserver/
func BenchmarkHeapPerSession(b *testing.B) {
	n := 2000
	if v := os.Getenv("HEAP_N"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 {
			b.Fatalf("HEAP_N=%q: want a count of sessions", v)
		}
		n = k
	}
	rcc := os.Getenv("RCC_BIN")
	if rcc == "" {
		rcc = buildDaemon(b)
	}
	bare := buildBare(b)
	scenario, err := filepath.Abs("../../../examples/sipp/load/rcc_load.xml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d := startBinary(b, rcc, serverConfig(b, 60))
		admin := adminAddr(b, d)
		debug := fmt.Sprintf("127.0.0.1:%d", phonetest.FreePort(b))
		bp := startBare(b, bare, "features", "-debug", debug)
		servers := []struct {
			addr string
			heap func() (int64, error)
		}{
			{d.addr, func() (int64, error) { return rccHeap(admin) }},
			{bp.addr, func() (int64, error) { return bareHeap(debug) }},
		}
		time.Sleep(time.Second) // start-up done, as in the load script
		var before, after [2]int64
		holds := make([]*sippHold, len(servers))
		for i, s := range servers {
			if before[i], err = retryHeap(s.heap); err != nil {
				b.Fatal(err)
			}
			holds[i] = startHold(b, scenario, s.addr, n)
		}
		for _, h := range holds {
			h.waitHeld(b, n)
		}
		time.Sleep(heapHold)
		for i, s := range servers {
			if after[i], err = s.heap(); err != nil {
				b.Fatal(err)
			}
		}
		for _, h := range holds {
			h.stop()
		}
		_ = d.stop(15 * time.Second)
		rccPer := float64(after[0]-before[0]) / float64(n)
		barePer := float64(after[1]-before[1]) / float64(n)
		b.ReportMetric(rccPer, "B/session")
		b.ReportMetric(barePer, "bare-B/session")
		b.ReportMetric(rccPer/barePer, "x-bare")
	}
}

// rccHeap is rccserver's live heap after a GC, from its admin listener.
func rccHeap(admin string) (int64, error) {
	if _, err := httpGet("http://" + admin + "/debug/pprof/heap?gc=1"); err != nil {
		return 0, err
	}
	m, err := httpGet("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_alloc_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64) // Prometheus' text format may write 1.2e+07
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no go_memstats_heap_alloc_bytes in %s/metrics", admin)
}

// bareHeap is rccbare's live heap after a GC, from its -debug listener.
func bareHeap(debug string) (int64, error) {
	body, err := httpGet("http://" + debug + "/heap")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
}

// retryHeap reads a heap for up to 5 s: rccbare starts its -debug listener
// alongside the SIP one, so it may not be up yet.
func retryHeap(read func() (int64, error)) (int64, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := read()
		if err == nil || time.Now().After(deadline) {
			return h, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(url string) ([]byte, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return body, err
}

// sippHold is a SIPp holding sessions: the load scenario with its t0 a day
// away, so that every session, once signed in and monitoring, waits.
type sippHold struct {
	cmd  *exec.Cmd
	log  string // SIPp's -log_file: a "held" line per session in the hold
	out  *bytes.Buffer
	done chan struct{}
}

func startHold(b *testing.B, scenario, addr string, n int) *sippHold {
	b.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		b.Fatalf("sipp is not installed (package sip-tester, go tool task install-test-deps): %v", err)
	}
	dir := b.TempDir()
	far := time.Now().Add(24 * time.Hour).UnixMilli()
	h := &sippHold{log: filepath.Join(dir, "log"), out: &bytes.Buffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(bin, "-sf", scenario, "-t", "t1", "-aa", "-i", "127.0.0.1", "-p", strconv.Itoa(phonetest.FreePort(b)),
		"-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", "1000", "-rp", "1000",
		"-set", "t0", strconv.FormatInt(far, 10), "-set", "k", "1", "-nostdin",
		"-trace_logs", "-log_file", h.log, "-trace_err", "-error_file", filepath.Join(dir, "errors"), addr)
	h.cmd.Dir = dir
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out // read only once it has exited
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = h.cmd.Wait(); close(h.done) }() // ends when stop kills it
	b.Cleanup(h.stop)
	return h
}

// waitHeld waits until n sessions are held, failing when SIPp exits or
// adds none for 30 s (a session it aborted never reaches the hold).
func (h *sippHold) waitHeld(b *testing.B, n int) {
	b.Helper()
	last, since := -1, time.Now()
	for {
		raw, _ := os.ReadFile(h.log)
		held := bytes.Count(raw, []byte("\nheld ")) // every line but the first follows a newline
		if bytes.HasPrefix(raw, []byte("held ")) {
			held++
		}
		if held >= n {
			return
		}
		select {
		case <-h.done:
			errs, _ := os.ReadFile(filepath.Join(filepath.Dir(h.log), "errors"))
			b.Fatalf("sipp exited with %d of %d sessions held: %s\n%s", held, n, excerptOf(h.out.Bytes()), excerptOf(errs))
		case <-time.After(200 * time.Millisecond):
		}
		if held != last {
			last, since = held, time.Now()
		} else if time.Since(since) > 30*time.Second {
			errs, _ := os.ReadFile(filepath.Join(filepath.Dir(h.log), "errors"))
			b.Fatalf("%d of %d sessions held, none more for 30 s: %s", held, n, excerptOf(errs))
		}
	}
}

// stop kills SIPp's process group and waits for it.
func (h *sippHold) stop() {
	select {
	case <-h.done:
	default:
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
	}
}
