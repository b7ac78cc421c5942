package e2e_test

import (
	"errors"
	"io"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
)

// TestFileDescriptorExhaustion starts the binary under a low fd limit,
// floods both SIP ports with idle connections past the connection cap and
// past the fd limit, and shows that it survives (accept backs off instead
// of exiting), refuses with a code, closes the idle connections after the
// idle timeout, and then signs a client in normally.
func TestFileDescriptorExhaustion(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed: %v", err)
	}
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", phoneTCP: true,
		limits:   "{idle_timeout: 2, max_connections: 30}",
		phoneLim: "{idle_timeout: 2}",
		wrap:     []string{prlimit, "--nofile=96:96", "--"}})

	var mu sync.Mutex
	var flood []net.Conn
	dial := func(addr string, n int) {
		for range n {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				continue // the backlog may be full: that is the point
			}
			mu.Lock()
			flood = append(flood, c)
			mu.Unlock()
		}
	}
	dial(s.rccAddr, 60)   // past max_connections: Cs_ConnectionLimit
	dial(s.phoneReg, 150) // past the fd limit: EMFILE, Cs_AcceptError
	t.Logf("%d idle connections open", len(flood))
	time.Sleep(time.Second)
	s.alive(t)

	// Every flood connection is closed by the server: refused at once, or
	// accepted (perhaps after the back-off) and closed when idle.
	var wg sync.WaitGroup
	var stillOpen sync.Map
	for _, c := range flood {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				stillOpen.Store(c, true)
			}
			_ = c.Close()
		})
	}
	wg.Wait()
	open := 0
	stillOpen.Range(func(any, any) bool { open++; return true })
	if open > 0 {
		t.Errorf("%d of %d idle connections still open after 60 s", open, len(flood))
	}
	s.alive(t)

	m := s.metrics(t)
	if m[`rcc_refusals_total{code="Cs_ConnectionLimit"}`] == 0 {
		t.Errorf("no Cs_ConnectionLimit refusal counted on the RCC port")
	}
	if m[`rcc_refusals_total{code="Cs_IdleConnectionClosed"}`] == 0 || m[`rcc_phone_refusals_total{code="Cs_IdleConnectionClosed"}`] == 0 {
		t.Errorf("idle closes not counted: %v / %v", m[`rcc_refusals_total{code="Cs_IdleConnectionClosed"}`], m[`rcc_phone_refusals_total{code="Cs_IdleConnectionClosed"}`])
	}
	if m[`rcc_phone_refusals_total{code="Cs_AcceptError"}`] == 0 {
		t.Errorf("the phones' flood never hit the fd limit (no Cs_AcceptError counted)")
	}
	if !s.logged("too many open files") {
		t.Errorf("no accept error logged")
	}

	// And the server still does its job.
	alice, st, reason := s.lync("sip:alice@example.com", aliceLine)
	if st != 200 {
		t.Fatalf("sign-in after the flood: %d %s", st, reason)
	}
	if _, ok := request(t, alice, &csta.GetCSTAFeatures{}).(*csta.GetCSTAFeaturesResponse); !ok {
		t.Fatal("no GetCSTAFeaturesResponse after the flood")
	}
}
