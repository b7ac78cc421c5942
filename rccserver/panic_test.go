package rccserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver"
	"github.com/rccserver/rccserver/rccserver/lynctest"
)

// TestHandlerPanicAnswered500: a handler that panics (a bug) costs its
// request a 500, not the process, though handlers run on request workers;
// the next request is answered.
func TestHandlerPanicAnswered500(t *testing.T) {
	h := start(t, harnessOpts{handler: rccserver.HandlerFunc(func(ctx context.Context, s *rccserver.Session, req csta.Message) (csta.Message, error) {
		if _, ok := req.(*csta.GetDoNotDisturb); ok {
			panic("handler bug")
		}
		return &csta.GetCSTAFeaturesResponse{}, nil
	})})
	c := h.client(lynctest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := c.Request(ctx, &csta.GetDoNotDisturb{Device: "tel:+13175551010"})
	if err == nil || res == nil || res.StatusCode != 500 {
		t.Fatalf("panicking handler: %v %v, want 500", res, err)
	}
	if _, _, err := c.Request(ctx, &csta.GetCSTAFeatures{}); err != nil {
		t.Fatalf("next request: %v", err)
	}
}
