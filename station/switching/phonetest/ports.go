package phonetest

import (
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
