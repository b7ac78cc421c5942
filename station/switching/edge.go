package switching

import (
	"fmt"
	"runtime/debug"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/rccserver/sipedge"
)

func (sw *Switch) countEdge(c sipedge.Code) { sw.refusals.inc(LogCode(c)) }

// carriesState reports whether a phone's registration or call leg lives
// on the connection from remote: such a connection is never closed for
// idleness, since requests to that phone must go out on it (RFC 5626 §3).
func (sw *Switch) carriesState(remote string) bool {
	sw.reg.mu.Lock()
	for _, b := range sw.reg.bindings {
		if b.source == remote {
			sw.reg.mu.Unlock()
			return true
		}
	}
	sw.reg.mu.Unlock()
	sw.legsMu.Lock()
	defer sw.legsMu.Unlock()
	for _, l := range sw.legs {
		if l.dest == remote {
			return true
		}
	}
	return false
}

// guarded is the boundary of every phones' side handler: a request
// without its mandatory headers never reaches one (the edge refuses it
// first; this is the second guard), and a handler's panic is logged as a
// bug with its stack, answered 500, and survived.
func (sw *Switch) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		// Close waits for handlers in flight before it closes the user agent:
		// an answer sent after that makes sipgo open a UDP socket (and a
		// reader) that nothing closes. A request that arrives while the switch
		// stops goes unanswered, as if it had come a moment later.
		if !sw.enterOwned() {
			return
		}
		defer sw.bg.Done()
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			sw.refusals.inc(codeInternal)
			sw.log.Error().Str("code", string(codeInternal)).Str("method", string(req.Method)).Str("peer", req.Source()).
				Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("bug: phones' handler panicked")
			if req.Method != sip.ACK {
				func() {
					defer func() { _ = recover() }()
					_ = respond(tx, req, sip.StatusInternalServerError, "Internal Error")
				}()
			}
		}()
		if missing := sipedge.MissingHeader(req); missing != "" {
			sw.refusals.inc(LogCode(sipedge.CodeMalformed))
			if req.Method != sip.ACK {
				_ = respond(tx, req, sip.StatusBadRequest, "Bad Request")
			}
			return
		}
		h(req, tx)
	}
}

// codeInternal is the log code of a bug caught at the handler boundary.
const codeInternal LogCode = "Cs_InternalError"
