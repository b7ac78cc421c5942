package switching

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestCloseUnderLoad closes the switch while phones' requests are still
// arriving: no handler may answer after the user agent is closed, since
// sipgo would open a fresh UDP socket (and a reader goroutine) for that
// answer that nothing ever closes.
func TestCloseUnderLoad(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	for i := range 30 {
		sw, err := New(Config{Listen: []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}, Domain: "switch.test",
			SetupTimeout: time.Second}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sw.Serve(context.Background()) }()
		c, err := net.Dial("udp", udpAddr(sw))
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			la := c.LocalAddr().(*net.UDPAddr)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := fmt.Sprintf("OPTIONS sip:switch@switch.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%d-%d\r\n"+
					"From: <sip:p@switch.test>;tag=a\r\nTo: <sip:switch@switch.test>\r\nCall-ID: c%d-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
					la.Port, i, n, i, n)
				_, _ = c.Write([]byte(msg))
			}
		}()
		time.Sleep(time.Duration(5+i%7) * time.Millisecond)
		_ = sw.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		close(stop)
		<-flooded
		_ = c.Close()
	}
	// sipgo's transaction timers may still be running; give them their end.
	deadline := time.Now().Add(40 * time.Second)
	for {
		err := goleak.Find(ignore, goleak.IgnoreTopFunction("github.com/emiago/sipgo/sip.(*TransactionLayer).handleRequestBackground"))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
