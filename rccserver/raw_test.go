package rccserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
)

// rawRequest sends one out-of-dialog request with any body and returns the
// final response.
func rawRequest(t *testing.T, addr string, method sip.RequestMethod, ct, body string) *sip.Response {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	uri := sip.Uri{Scheme: "sip", User: "rcc", Host: "rcc.example.com", UriParams: sip.NewParams(), Headers: sip.NewParams()}
	req := sip.NewRequest(method, uri)
	req.SetTransport("TCP")
	req.SetDestination(addr)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "client.invalid"}})
	if ct != "" {
		h := sip.ContentTypeHeader(ct)
		req.AppendHeader(&h)
	}
	if body != "" {
		req.SetBody([]byte(body))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if method == sip.INVITE && res.StatusCode >= 300 {
		// The transaction layer acknowledges non-2xx finals itself (RFC 3261 §17.1.1.3).
		return res
	}
	return res
}

func rawInvite(t *testing.T, addr, ct, body string) *sip.Response {
	return rawRequest(t, addr, sip.INVITE, ct, body)
}

var _ = csta.ContentType
