package phonetest

import (
	"fmt"
	"net"
	"testing"
)

// FreePort returns a port that is free on 127.0.0.1 for both UDP and TCP
// at the time of the call. Another process may take it before it is used;
// callers that can bind port 0 themselves should do that instead.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("phonetest: free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		return port
	}
	t.Fatalf("phonetest: no port free for both UDP and TCP")
	return 0
}

// freeSIPPort returns a port free for UDP and TCP whose next port is free
// for TCP too: baresip also binds SIP over TLS on the SIP port + 1, and a
// taken neighbour makes it fail to start ("SIP/TLS transport failed").
func freeSIPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := FreePort(t)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p
	}
	t.Fatalf("phonetest: no SIP port with a free neighbour for baresip's TLS")
	return 0
}
