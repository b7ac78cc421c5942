package switching

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// Benchmarks of the switching function with SIPp phones on loopback.
// Run them with `go tool task bench:switching`; figures go to
// docs/performance.md ("Switching function").

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}

func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkMakeCallToRinging measures MakeCall until the destination rings
// (EventDelivered): INVITE to the calling station, its 200 and our ACK,
// INVITE to the destination, its 180. Both stations are SIPp UAS; each
// call is then cleared.
func BenchmarkMakeCallToRinging(b *testing.B) {
	caller, callee := phonetest.FreePort(b), phonetest.FreePort(b)
	cfg := Config{Stations: []Station{
		{Extension: "1050", StaticContact: fmt.Sprintf("sip:1050@127.0.0.1:%d", caller)},
		{Extension: "1060", StaticContact: fmt.Sprintf("sip:1060@127.0.0.1:%d", callee)},
	}}
	sw := startSwitch(b, cfg)
	phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: sippDir + "station_autoanswer.xml", Port: caller, Calls: 1 << 20, Timeout: time.Hour})
	phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: sippDir + "station_ring.xml", Port: callee, Calls: 1 << 20, Timeout: time.Hour})
	ev := subscribe(b, sw, "1050")
	var lat []time.Duration
	ctx := context.Background()
	for b.Loop() {
		start := time.Now()
		ref, err := sw.MakeCall(ctx, "1050", "1060")
		if err != nil {
			b.Fatal(err)
		}
		next(b, ev, EventDelivered, inCall(ref.CallID))
		lat = append(lat, time.Since(start))
		if err := sw.Clear(ctx, "1050", ref.CallID); err != nil {
			b.Fatal(err)
		}
		next(b, ev, EventCleared, inCall(ref.CallID), about("1050"))
	}
	b.ReportMetric(float64(quantile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(quantile(lat, 0.99).Microseconds()), "p99-µs")
}

// loadRun drives SIPp's UAC at rate calls/s for n calls against remote
// (a SIPp UAS directly, or the switch) and returns the INVITE-to-200
// response times, the achieved rate and the failed calls.
func loadRun(b *testing.B, remote string, uacPort, n int, rate float64) ([]time.Duration, float64) {
	b.Helper()
	start := time.Now()
	uac := phonetest.StartSIPp(b, phonetest.SIPpOptions{
		Scenario: sippDir + "load_uac.xml", Remote: remote, Port: uacPort, Service: "1040",
		Calls: n, Rate: rate, Timeout: time.Duration(float64(n)/rate*3+10) * time.Second,
		Extra: []string{"-trace_rtt", "-rtt_freq", "1"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(n)/rate*3+20)*time.Second)
	defer cancel()
	if err := uac.Wait(ctx); err != nil {
		b.Fatalf("load through %s: %v", remote, err)
	}
	cps := float64(n) / time.Since(start).Seconds()
	rt, err := uac.ResponseTimes()
	if err != nil {
		b.Fatal(err)
	}
	return rt, cps
}

// BenchmarkTrunkLoad200cps offers 200 calls/s for 10 s from SIPp (as the
// trunk) to a SIPp station, first directly (the baseline) and then through
// the switch, and reports INVITE-to-200 percentiles of both, the added
// latency and the achieved rate. Any failed call fails the benchmark.
func BenchmarkTrunkLoad200cps(b *testing.B) {
	const rate, n = 200, 2000
	for b.Loop() {
		uas := phonetest.FreePort(b)
		phonetest.StartSIPp(b, phonetest.SIPpOptions{Scenario: sippDir + "load_uas.xml", Port: uas, Calls: 2 * n, Timeout: time.Hour})
		direct, _ := loadRun(b, fmt.Sprintf("127.0.0.1:%d", uas), phonetest.FreePort(b), n, rate)

		trunk := phonetest.FreePort(b)
		cfg := withTrunk(Config{Stations: []Station{{Extension: "1040", StaticContact: fmt.Sprintf("sip:1040@127.0.0.1:%d", uas)}}}, trunk, "udp")
		sw := startSwitch(b, cfg)
		through, cps := loadRun(b, udpAddr(sw), trunk, n, rate)

		b.ReportMetric(ms(quantile(direct, 0.5)), "direct-p50-ms")
		b.ReportMetric(ms(quantile(direct, 0.99)), "direct-p99-ms")
		b.ReportMetric(ms(mean(direct)), "direct-mean-ms")
		b.ReportMetric(ms(quantile(through, 0.5)), "switch-p50-ms")
		b.ReportMetric(ms(quantile(through, 0.99)), "switch-p99-ms")
		b.ReportMetric(ms(mean(through)), "switch-mean-ms")
		b.ReportMetric(ms(quantile(through, 0.99)-quantile(direct, 0.99)), "added-p99-ms")
		b.ReportMetric(cps, "calls/s")
		b.ReportMetric(float64(len(through)), "calls")
	}
}
