package sipedge

import (
	"time"

	"github.com/emiago/sipgo"
)

// CloseSettle is how long CloseUA lets sipgo's last request goroutines run.
const CloseSettle = 50 * time.Millisecond

// CloseUA closes a sipgo user agent whose listeners are already closed.
//
// sipgo handles each request on a goroutine of its own that nobody can join.
// One that looks up its answer's connection after the close opens a fresh
// socket with a reader that nothing closes (sipgo v1.7.x, createConnection;
// seen in CI as a leaked UDP reader). With the listeners closed no such
// goroutine starts any more, so CloseUA lets the last ones run (scheduler
// time, not protocol time: no injected clock) and closes what they opened.
func CloseUA(ua *sipgo.UserAgent) {
	_ = ua.Close()
	time.Sleep(CloseSettle)
	_ = ua.TransportLayer().Close()
}
