package rccserver_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// TestAccessListTCP: a peer outside listen.access is refused at connect
// time with one Cs_AccessDenied line; a listed peer signs in.
func TestAccessListTCP(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		h, logs := startLogged(t, func(c *rccserver.Config) {
			c.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "127.0.0.1:0"}}
			c.Access = []string{"10.0.0.0/8", "192.0.2.7"}
		})
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n"))
		logs.wait(t, map[string]string{"code": "Cs_AccessDenied", "reason": "address_not_allowed", "peer": c.LocalAddr().String(), "transport": "TCP"}, 2*time.Second)
		expectClosed(t, c)
		if st := h.srv.Stats(); st.AccessDenied != 1 || st.Refusals["Cs_AccessDenied"] != 1 {
			t.Fatalf("AccessDenied %d, Refusals %v", st.AccessDenied, st.Refusals)
		}
		if logs.find(map[string]string{"message": "listener accepts any peer*"}) != nil {
			t.Error("open-listener warning despite an access list")
		}
	})
	t.Run("allowed", func(t *testing.T) {
		h, logs := startLogged(t, func(c *rccserver.Config) {
			c.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "127.0.0.1:0"}}
			c.Access = []string{"10.0.0.0/8", "::ffff:127.0.0.0/104"} // IPv4-mapped form of 127/8
		})
		h.client(lynctest.Options{})
		if st := h.srv.Stats(); st.AccessDenied != 0 {
			t.Fatalf("AccessDenied %d", st.AccessDenied)
		}
		if logs.find(map[string]string{"code": "Cs_AccessDenied"}) != nil {
			t.Fatal("allowed peer logged as refused")
		}
	})
	t.Run("empty list warns", func(t *testing.T) {
		_, logs := startLogged(t, func(c *rccserver.Config) {
			c.Listeners = []rccserver.Listener{{Transport: "tcp", Addr: "127.0.0.1:0"}}
		})
		logs.wait(t, map[string]string{"level": "warn", "transport": "TCP", "message": "listener accepts any peer*"}, time.Second)
	})
}

// TestAccessListUDP: datagrams from a peer outside the list are dropped
// before SIP parsing.
func TestAccessListUDP(t *testing.T) {
	h, logs := startLogged(t, func(c *rccserver.Config) {
		c.Listeners = []rccserver.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}}
		c.Access = []string{"10.0.0.0/8"}
	})
	c, err := net.Dial("udp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK1\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: acl@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, map[string]string{"code": "Cs_AccessDenied", "reason": "address_not_allowed", "transport": "UDP", "peer": c.LocalAddr().String()}, 2*time.Second)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 2048)); err == nil {
		t.Fatalf("refused peer got an answer (%d bytes)", n)
	}
	if st := h.srv.Stats(); st.AccessDenied != 1 {
		t.Fatalf("AccessDenied %d", st.AccessDenied)
	}
}

func TestAccessListValidate(t *testing.T) {
	tests := []struct {
		access []string
		want   string
	}{
		{[]string{"10.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::ffff:10.1.1.1", "::ffff:10.0.0.0/104"}, ""},
		{[]string{"10.0.0.1", "lyncfe01.example.com"}, "listen.access[1]"},
		{[]string{"10.0.0.0/33"}, "listen.access[0]"},
	}
	for _, tc := range tests {
		c := rccserver.DefaultConfig()
		c.Access = tc.access
		err := c.Validate()
		if tc.want == "" && err != nil {
			t.Errorf("%v: %v", tc.access, err)
		}
		if tc.want != "" && (!errors.Is(err, rccserver.ErrConfig) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %s", tc.access, err, tc.want)
		}
	}
}
