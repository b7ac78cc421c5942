// Package sipedgetest drives SIP request handlers in-process, without a
// transport: fuzz targets parse bytes as the edge and sipgo would, then
// call the handler with a Tx that records what it answers.
package sipedgetest

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Tx is a server transaction with no transport behind it. OnRespond, if
// set, sees every response (e.g. to acknowledge a 2xx to an INVITE).
type Tx struct {
	OnRespond func(*sip.Response)

	mu        sync.Mutex
	responses []*sip.Response
	done      chan struct{}
	once      sync.Once
	acks      chan *sip.Request
	onTerm    []sip.FnTxTerminate
}

// NewTx returns a live transaction.
func NewTx() *Tx { return &Tx{done: make(chan struct{}), acks: make(chan *sip.Request, 1)} }

// Respond records res.
func (t *Tx) Respond(res *sip.Response) error {
	t.mu.Lock()
	t.responses = append(t.responses, res)
	t.mu.Unlock()
	if t.OnRespond != nil {
		t.OnRespond(res)
	}
	return nil
}

// Responses returns what the handler answered, in order.
func (t *Tx) Responses() []*sip.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*sip.Response(nil), t.responses...)
}

// Acks never delivers: ACKs of a 2xx are their own requests (RFC 3261 §17.2.1).
func (t *Tx) Acks() <-chan *sip.Request { return t.acks }

// OnCancel accepts f while the transaction lives; no CANCEL ever comes.
func (t *Tx) OnCancel(sip.FnTxCancel) bool {
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

// Terminate ends the transaction and runs the OnTerminate callbacks.
func (t *Tx) Terminate() {
	t.once.Do(func() {
		close(t.done)
		t.mu.Lock()
		fs := t.onTerm
		t.onTerm = nil
		t.mu.Unlock()
		for _, f := range fs {
			f("", nil)
		}
	})
}

// OnTerminate registers f, or returns false if the transaction has ended.
func (t *Tx) OnTerminate(f sip.FnTxTerminate) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.done:
		return false
	default:
	}
	t.onTerm = append(t.onTerm, f)
	return true
}

// Done is closed by Terminate.
func (t *Tx) Done() <-chan struct{} { return t.done }

// Err is always nil.
func (t *Tx) Err() error { return nil }

var _ sip.ServerTransaction = (*Tx)(nil)
