package rccserver_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// TestKeepAliveLinesOnWildcard: on a listener bound to 0.0.0.0, the
// keep-alive INFO carries, in its Contact and its Via sent-by, the address
// the client reached, as our 200 did: the lines rendered for the
// connection, not the listener's wildcard.
func TestKeepAliveLinesOnWildcard(t *testing.T) {
	clock := newFakeClock()
	h := start(t, harnessOpts{clock: clock, cfg: func(c *rccserver.Config) {
		c.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "0.0.0.0:0"}}
		c.KeepAlive = 30 * time.Second
	}})
	_, port, err := net.SplitHostPort(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	h.addr = net.JoinHostPort("127.0.0.1", port)
	c := h.newClient(lynctest.Options{Server: h.addr})
	res, err := c.SignIn(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h.watch()
	if ct := res.Contact(); ct == nil || ct.Address.Host != "127.0.0.1" || strconv.Itoa(ct.Address.Port) != port {
		t.Fatalf("200 Contact %v", res.Contact())
	}
	ev := h.nextKeepAlive(c, clock, 30*time.Second)
	if _, ok := ev.Msg.(*csta.SystemStatusMsg); !ok {
		t.Fatalf("event %T, want the keep-alive", ev.Msg)
	}
	if got, want := ev.Req.Contact().String(), res.Contact().String(); got != want {
		t.Errorf("keep-alive %s, 200 %s", got, want)
	}
	if via := ev.Req.Via(); via.Host != "127.0.0.1" || strconv.Itoa(via.Port) != port || via.Transport != "TCP" {
		t.Errorf("keep-alive Via %s", via.Value())
	}
}
