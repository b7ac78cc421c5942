package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// BenchmarkEventLatency200cps measures how long after a desk phone sends its
// 180 the monitoring RCC client receives the DeliveredEvent, with calls
// arriving from the trunk at 200 calls/s to one station that one RCC
// session monitors (docs/performance.md, "Event latency"). The baseline is
// a direct SIPp-to-SIPp hop in the same run: the same caller scenario sends
// its INVITEs straight to the phone, and the hop is INVITE sent → INVITE
// received. SIPp stamps what it sends in the action of the <send> itself,
// just after handing it to the kernel (a <nop> before the send stamped it
// about 1 ms early: SIPp's own scheduling). The RCC client is rawMonitor,
// which stamps each INFO when its read returns. All times come from the
// clock of this one machine (SIPp's gettimeofday, Go's time.Now).
//
// RCC_BIN names an rccserver binary to measure instead of this tree's (the
// "before" figures were taken with the parent commit's build).
// RCC_CLIENT=lynctest measures with the Go client instead, =silent with the
// Go client answering no INFO (as pidgin-sipe).
//
//	go test -run '^$' -bench EventLatency -benchtime 1x ./rccserver/cmd/rccserver
//	RCC_BIN=/tmp/before/rccserver go test -run '^$' -bench EventLatency -benchtime 1x ./rccserver/cmd/rccserver
func BenchmarkEventLatency200cps(b *testing.B) {
	const rate, n = 200, 2000
	bin := os.Getenv("RCC_BIN")
	if bin == "" {
		bin = buildDaemon(b)
	}
	dir, _ := filepath.Abs("../../../examples/sipp/latency")
	for b.Loop() {
		uasLog := filepath.Join(b.TempDir(), "uas.log")
		uasPort := phonetest.FreePort(b)
		phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: filepath.Join(dir, "station_uas.xml"), Port: uasPort,
			Calls: 2 * n, Timeout: time.Hour, Extra: []string{"-trace_logs", "-log_file", uasLog}})

		// Direct: caller → phone.
		directLog := filepath.Join(b.TempDir(), "direct.log")
		runCaller(b, dir, fmt.Sprintf("127.0.0.1:%d", uasPort), phonetest.FreePort(b), "1998", directLog, n, rate)

		// Through rccserver: caller → trunk → switch → phone, one RCC session monitoring the phone.
		trunk, phones := phonetest.FreePort(b), phonetest.FreePort(b)
		d := startBinary(b, bin, latencyConfig(b, uasPort, trunk, phones))
		quietClient(b)
		var got func() map[string]time.Time
		if c := os.Getenv("RCC_CLIENT"); c == "lynctest" || c == "silent" {
			got = monitorDelivered(b, d.addr)
		} else {
			got = startRawMonitor(b, d.addr).stop
		}
		runCaller(b, dir, fmt.Sprintf("127.0.0.1:%d", phones), trunk, "1999", filepath.Join(b.TempDir(), "through.log"), n, rate)
		time.Sleep(2 * time.Second) // the last events
		delivered := got()

		sent := readSIPpLog(b, directLog, "invite")
		received := readSIPpLog(b, uasLog, "received")
		ringing := readSIPpLog(b, uasLog, "ringing")
		var hop, event []time.Duration
		for num, at := range sent {
			if r, ok := received[num]; ok && strings.HasPrefix(num, "+1998") {
				hop = append(hop, r.Sub(at))
			}
		}
		for num, at := range ringing {
			if e, ok := delivered[strings.TrimPrefix(num, "+")]; ok && strings.HasPrefix(num, "+1999") {
				event = append(event, e.Sub(at))
			}
		}
		if len(hop) < n*9/10 || len(event) < n*9/10 {
			b.Fatalf("matched %d direct hops and %d events of %d calls", len(hop), len(event), n)
		}
		slices.Sort(hop)
		slices.Sort(event)
		q := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / 1e6 }
		b.ReportMetric(q(hop, 0.5), "hop-p50-ms")
		b.ReportMetric(q(hop, 0.99), "hop-p99-ms")
		b.ReportMetric(q(event, 0.5), "event-p50-ms")
		b.ReportMetric(q(event, 0.99), "event-p99-ms")
		b.ReportMetric(q(event, 0.5)/q(hop, 0.5), "p50-ratio")
		b.ReportMetric(q(event, 0.99)/q(hop, 0.99), "p99-ratio")
		b.ReportMetric(float64(len(event)), "events")
		_ = d.stop(15 * time.Second)
	}
}

// runCaller places n calls at rate from the caller scenario and waits.
func runCaller(b *testing.B, dir, remote string, port int, prefix, log string, n int, rate float64) {
	b.Helper()
	s := phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: filepath.Join(dir, "trunk_uac.xml"), Remote: remote, Port: port,
		Service: "1010", Calls: n, Rate: rate, Timeout: time.Duration(float64(n)/rate*3+20) * time.Second,
		Vars: map[string]string{"prefix": prefix}, Extra: []string{"-trace_logs", "-log_file", log}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(n)/rate*3+30)*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		b.Fatalf("caller through %s: %v\n%s", remote, err, s.Errors())
	}
}

// latencyConfig is the embedded default on loopback ports with station
// 1010 (alice's line) a static contact at the phone, and the trunk at the
// caller's address.
func latencyConfig(b *testing.B, phone, trunk, phones int) string {
	b.Helper()
	base, err := os.ReadFile("../../../examples/rccserver.yaml")
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.ReadFile("../../../examples/station.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dirFile, _ := filepath.Abs("../../../examples/directory.yaml")
	y := string(base)
	// Never the demo's fixed ports: a shape change of the example fails here.
	for from, to := range map[string]string{
		"addr: 127.0.0.1:11001": "addr: 127.0.0.1:0",
		"addr: 127.0.0.1:5060\n    - network: tcp\n      addr: 127.0.0.1:5060": "addr: 127.0.0.1:" + strconv.Itoa(phones),
	} {
		if !strings.Contains(y, from) {
			b.Fatalf("examples/rccserver.yaml changed shape: no %q", from)
		}
		y = strings.Replace(y, from, to, 1)
	}
	y = strings.Replace(y, "file: directory.yaml", "file: "+dirFile, 1)
	y += "\nadmin: {listen: \"127.0.0.1:0\"}\n"
	if w := os.Getenv("RCC_INITIAL_WINDOW"); w != "" { // session.initial_window, to compare with the default
		if _, err := strconv.Atoi(w); err != nil || !strings.Contains(y, "\nsession:\n") {
			b.Fatalf("RCC_INITIAL_WINDOW=%q: not a number, or examples/rccserver.yaml has no session section", w)
		}
		y = strings.Replace(y, "\nsession:\n", "\nsession:\n  initial_window: "+w+"\n", 1)
	}
	s := string(st)
	s = strings.Replace(s, `connection: {kind: registered, username: "1010", password: demo-1010}`,
		fmt.Sprintf(`connection: {kind: static, address: "sip:1010@127.0.0.1:%d"}`, phone), 1)
	s = strings.Replace(s, "proxy: 127.0.0.1:5080", fmt.Sprintf("proxy: 127.0.0.1:%d", trunk), 1)
	path := filepath.Join(b.TempDir(), "rccserver.yaml")
	if err := os.WriteFile(path, []byte(y+"\n"+s), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// quietClient turns off the garbage collector of this process, the
// measuring client's, until the benchmark ends (RCC_CLIENT_GC=on keeps it):
// its pauses belong to the instrument, not to the server, and the baseline
// hop has none either (SIPp to SIPp; docs/performance.md, "Issue 16: the
// instrument of the event latency"). A run allocates a few hundred MB at
// most.
func quietClient(b *testing.B) {
	if os.Getenv("RCC_CLIENT_GC") == "on" {
		return
	}
	old := debug.SetGCPercent(-1)
	b.Cleanup(func() { debug.SetGCPercent(old) })
}

// monitorDelivered signs alice in, monitors her line and records when each
// DeliveredEvent arrives, by the caller's number (digits and +).
func monitorDelivered(b *testing.B, addr string) func() map[string]time.Time {
	b.Helper()
	opts := lynctest.Options{Server: addr, User: "sip:alice@example.com", Line: "tel:+13175551010", Domain: "rcc.example.com"}
	if os.Getenv("RCC_CLIENT") == "silent" {
		opts.InfoStatus = func(csta.Message) int { return 0 }
	}
	c, err := lynctest.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	if _, err := c.SignIn(ctx); err != nil {
		b.Fatalf("sign-in: %v", err)
	}
	if _, _, err := c.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:+13175551010"}); err != nil {
		b.Fatalf("MonitorStart: %v", err)
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := c.NextEvent(ctx)
			if err != nil {
				return
			}
			at := time.Now()
			if d, ok := ev.Msg.(*csta.DeliveredEvent); ok {
				num := strings.TrimPrefix(strings.TrimPrefix(d.CallingDevice.DeviceIdentifier, "tel:"), "+")
				if i := strings.IndexAny(num, ";@"); i >= 0 {
					num = num[:i]
				}
				mu.Lock()
				if _, dup := seen[num]; !dup {
					seen[num] = at
				}
				mu.Unlock()
			}
		}
	}()
	return func() map[string]time.Time {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// readSIPpLog reads "KIND NUMBER SEC USEC" lines of a SIPp -log_file.
func readSIPpLog(b *testing.B, path, kind string) map[string]time.Time {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := map[string]time.Time{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[0] != kind {
			continue
		}
		sec, err1 := strconv.ParseFloat(fs[2], 64)
		usec, err2 := strconv.ParseFloat(fs[3], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out[fs[1]] = time.Unix(int64(sec), int64(usec)*1000)
	}
	return out
}

// BenchmarkEventLatencyMakeCall200cps measures MakeCall sent by the RCC
// client → DeliveredEvent received by it, with one client placing 200
// MakeCalls/s from alice's line (station 1010, a SIPp phone that answers
// at once) to station 1020 (a SIPp phone that rings until cancelled); a
// second session of alice's clears each call with ClearConnection once it
// is delivered. Both times are the client's (time.Now); the MakeCall's time
// is taken when the request is handed to the client, which sends one
// request at a time, so a slow answer to one MakeCall delays the next and
// counts in the figure. The DeliveredEvent is matched to its MakeCall by
// the callID of the MakeCallResponse (docs/performance.md, "Event
// latency").
//
//	go test -run '^$' -bench EventLatency -benchtime 1x ./rccserver/cmd/rccserver
func BenchmarkEventLatencyMakeCall200cps(b *testing.B) {
	const rate, n = 200, 2000
	bin := os.Getenv("RCC_BIN")
	if bin == "" {
		bin = buildDaemon(b)
	}
	sippDir, _ := filepath.Abs("../../../station/switching/testdata/sipp")
	for b.Loop() {
		alicePort, bobPort := phonetest.FreePort(b), phonetest.FreePort(b)
		phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: filepath.Join(sippDir, "station_autoanswer.xml"), Port: alicePort, Calls: 1 << 20, Timeout: time.Hour})
		phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: filepath.Join(sippDir, "station_ring.xml"), Port: bobPort, Calls: 1 << 20, Timeout: time.Hour})
		config := latencyConfig(b, alicePort, phonetest.FreePort(b), phonetest.FreePort(b))
		y, err := os.ReadFile(config)
		if err != nil {
			b.Fatal(err)
		}
		ys := strings.Replace(string(y), `connection: {kind: registered, username: "1020", password: demo-1020}`,
			fmt.Sprintf(`connection: {kind: static, address: "sip:1020@127.0.0.1:%d"}`, bobPort), 1)
		if ys == string(y) {
			b.Fatal("examples/station.yaml changed shape: cannot make station 1020 a static contact")
		}
		if err := os.WriteFile(config, []byte(ys), 0o600); err != nil {
			b.Fatal(err)
		}
		d := startBinary(b, bin, config)
		quietClient(b)

		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		opts := lynctest.Options{Server: d.addr, User: "sip:alice@example.com", Line: "tel:+13175551010", Domain: "rcc.example.com"}
		caller, clearer := latencySignIn(b, ctx, opts), latencySignIn(b, ctx, opts)
		if _, _, err := caller.Request(ctx, &csta.MonitorStart{MonitorObject: "tel:+13175551010"}); err != nil {
			b.Fatalf("MonitorStart: %v", err)
		}

		var mu sync.Mutex
		sent, delivered := map[string]time.Time{}, map[string]time.Time{}
		clears := make(chan string, n)
		events := make(chan struct{})
		go func() { // the monitor's events: note each Delivered, have the call cleared
			defer close(events)
			for {
				ev, err := caller.NextEvent(ctx)
				if err != nil {
					return
				}
				at := time.Now()
				if e, ok := ev.Msg.(*csta.DeliveredEvent); ok {
					mu.Lock()
					_, dup := delivered[e.Connection.CallID]
					if !dup {
						delivered[e.Connection.CallID] = at
					}
					mu.Unlock()
					if !dup {
						clears <- e.Connection.CallID
					}
				}
			}
		}()
		cleared := make(chan struct{})
		go func() {
			defer close(cleared)
			for id := range clears {
				_, _, _ = clearer.Request(ctx, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: "tel:+13175551010"}})
			}
		}()

		var failed int
		tick := time.NewTicker(time.Second / rate)
		for range n {
			<-tick.C
			at := time.Now()
			msg, _, err := caller.Request(ctx, &csta.MakeCall{CallingDevice: "tel:+13175551010", CalledDirectoryNumber: "tel:+13175551020", AutoOriginate: "doNotPrompt"})
			r, ok := msg.(*csta.MakeCallResponse)
			if err != nil || !ok {
				failed++
				continue
			}
			mu.Lock()
			sent[r.CallingDevice.CallID] = at
			mu.Unlock()
		}
		tick.Stop()
		time.Sleep(2 * time.Second) // the last events and clears
		cancel()
		<-events
		close(clears)
		<-cleared

		var lat []time.Duration
		mu.Lock()
		for id, at := range sent {
			if e, ok := delivered[id]; ok {
				lat = append(lat, e.Sub(at))
			}
		}
		mu.Unlock()
		if len(lat) < n*9/10 {
			b.Fatalf("%d MakeCalls failed, %d of %d delivered", failed, len(lat), n)
		}
		slices.Sort(lat)
		q := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / 1e6 }
		b.ReportMetric(q(lat, 0.5), "makecall-p50-ms")
		b.ReportMetric(q(lat, 0.99), "makecall-p99-ms")
		b.ReportMetric(float64(len(lat)), "delivered")
		b.ReportMetric(float64(failed), "failed")
		_ = d.stop(15 * time.Second)
	}
}

// latencySignIn signs a lynctest client in and closes it when the benchmark ends.
func latencySignIn(b *testing.B, ctx context.Context, opts lynctest.Options) *lynctest.Client {
	b.Helper()
	c, err := lynctest.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if _, err := c.SignIn(ctx); err != nil {
		b.Fatalf("sign-in: %v", err)
	}
	return c
}
