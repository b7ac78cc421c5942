package rccserver

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/emiago/sipgo/sip"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/rccserver/clock"
)

// renderedInvites are INVITE headers whose From, To, Contact and
// Record-Route take the shapes sipgo's renderer treats differently:
// display names, URI and header parameters, IPv6, sips, tel, no port.
var renderedInvites = []string{
	"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:rcc@example.com>\r\nContact: <sip:alice@192.0.2.7:40000;transport=tcp>\r\n",
	"From: \"Alice Smith\" <sip:alice@example.com;user=phone>;tag=a1;epid=0f3c\r\nTo: \"RCC\" <sip:rcc@example.com:5061;transport=tls>\r\n" +
		"Contact: \"Alice\" <sips:alice@[2001:db8::7]:5061;transport=tls;ob>;+sip.instance=\"<urn:uuid:1>\"\r\n" +
		"Record-Route: <sip:fe1.example.com:5061;transport=tls;lr>\r\nRecord-Route: <sip:[2001:db8::1];lr>, <sip:fe2.example.com;lr>\r\n",
	"From: sip:alice@example.com;tag=x\r\nTo: tel:+13175551010\r\nContact: <sip:alice@client.invalid>\r\n",
	"From: <sip:al%20ice:pw@example.com?subject=hi>;tag=t\r\nTo: <sip:rcc@10.0.0.1>;x\r\nContact: <sip:10.0.0.2:5070;maddr=10.0.0.3>;expires=60\r\n",
}

// inviteAnd200 parses an INVITE with hdrs and builds sipgo's 200 to it
// (our tag in its To), as onInvite's dialog does.
func inviteAnd200(t testing.TB, hdrs string) (*sip.Request, *sip.Response, bool) {
	raw := "INVITE sip:rcc@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.7:40000;branch=z9hG4bK1\r\n" + hdrs +
		"Call-ID: 5-20330@127.0.0.1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		return nil, nil, false
	}
	inv, ok := msg.(*sip.Request)
	if !ok || inv.From() == nil || inv.To() == nil || inv.Contact() == nil || inv.CallID() == nil {
		return nil, nil, false
	}
	res := sip.NewResponseFromRequest(inv, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", "ourtag1")
	return inv, res, true
}

// renderedBefore is writeInDialog as it was, rendering sipgo's parsed
// headers for every request: the reference for the bytes on the wire.
func renderedBefore(buf *bytes.Buffer, inv *sip.Request, res *sip.Response, contact sip.ContactHeader, cseq uint32, branch string, body []byte) {
	target, from, to, callID := *inv.Contact().Address.Clone(), res.To().AsFrom(), inv.From().AsTo(), *inv.CallID()
	buf.WriteString("INFO ")
	target.StringWrite(buf)
	buf.WriteString(" SIP/2.0\r\nVia: SIP/2.0/TCP ")
	buf.WriteString(contact.Address.Host)
	if p := contact.Address.Port; p > 0 {
		buf.WriteString(":" + strconv.Itoa(p))
	}
	buf.WriteString(";branch=" + branch + "\r\n")
	from.StringWrite(buf)
	buf.WriteString("\r\n")
	to.StringWrite(buf)
	buf.WriteString("\r\n")
	callID.StringWrite(buf)
	buf.WriteString("\r\nCSeq: " + strconv.FormatUint(uint64(cseq), 10) + " INFO\r\nMax-Forwards: 70\r\n")
	for _, rr := range inv.GetHeaders("Record-Route") {
		buf.WriteString("Route: " + rr.Value() + "\r\n")
	}
	contact.StringWrite(buf)
	buf.WriteString("\r\n")
	if body != nil {
		buf.WriteString("Content-Type: " + csta.ContentType + "\r\nContent-Disposition: signal;handling=required\r\n")
	}
	buf.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	buf.Write(body)
}

// checkRendered compares an INFO written from the pre-rendered route with
// the reference, and the sipgo path's From and To with the parsed ones.
func checkRendered(t *testing.T, hdrs string, contactURI string) {
	inv, res, ok := inviteAnd200(t, hdrs)
	if !ok {
		return
	}
	var contact sip.ContactHeader
	if err := sip.ParseUri(contactURI, &contact.Address); err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, rr := range inv.GetHeaders("Record-Route") {
		routes = append(routes, rr.Value())
	}
	from, to := res.To().AsFrom(), inv.From().AsTo()
	r := newDialogRoute(&inv.Contact().Address, &from, &to, inv.CallID().Value(), routes, newLocalLines(contact))
	r.transport = "TCP"
	s := &Session{route: r}
	for _, body := range [][]byte{nil, []byte("<x/>")} {
		var got, want bytes.Buffer
		writeInDialog(&got, s, sip.INFO, 4294967295, []byte("z9hG4bK.ka1.2"), body)
		renderedBefore(&want, inv, res, contact, 4294967295, "z9hG4bK.ka1.2", body)
		if got.String() != want.String() {
			t.Fatalf("INFO differs from the reference\n got: %q\nwant: %q", got.String(), want.String())
		}
	}
	// The sipgo path writes From and To as generic headers of that text.
	for _, c := range []struct{ got, want sip.Header }{{sip.NewHeader("From", r.from()), &from}, {sip.NewHeader("To", r.to()), &to}} {
		if c.got.String() != c.want.String() {
			t.Fatalf("%s: %q, want %q", c.want.Name(), c.got.String(), c.want.String())
		}
	}
	// The sipgo path's request line is the same.
	if target, err := r.requestURI(); err != nil || target.String() != r.target {
		t.Fatalf("target %q, sipgo path %q (%v)", r.target, target.String(), err)
	}
	if !strings.HasSuffix(r.head, "\r\nCall-ID: "+inv.CallID().Value()+"\r\n") {
		t.Fatalf("head %q", r.head)
	}
	// A session record (adopt.go) has the parsed headers' URIs and tags.
	lu, lt, ru, rt := r.localURI, r.localTag, r.remoteURI, r.remoteTag
	wantLT, _ := from.Params.Get("tag")
	wantRT, _ := to.Params.Get("tag")
	if lu != from.Address.String() || lt != wantLT || ru != to.Address.String() || rt != wantRT {
		t.Fatalf("parties %q %q %q %q, want %q %q %q %q", lu, lt, ru, rt, from.Address.String(), wantLT, to.Address.String(), wantRT)
	}
}

// TestDialogRouteRendered: the INFO the table writes from the dialog's
// text rendered once is byte for byte the one it wrote by rendering
// sipgo's parsed headers for each request.
func TestDialogRouteRendered(t *testing.T) {
	for i, hdrs := range renderedInvites {
		if _, _, ok := inviteAnd200(t, hdrs); !ok {
			t.Fatalf("INVITE %d does not parse", i)
		}
		for _, contact := range []string{"sip:127.0.0.1:5060;transport=tcp", "sip:[::1]:5061;transport=tls", "sip:rcc.example.com"} {
			checkRendered(t, hdrs, contact)
		}
	}
}

// FuzzDialogRoute: the same for hostile From, To, Contact and
// Record-Route values (any INVITE sipgo parses).
func FuzzDialogRoute(f *testing.F) {
	for _, h := range renderedInvites {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, hdrs string) {
		if strings.Contains(hdrs, "\r\n\r\n") || strings.Contains(strings.ToLower(hdrs), "content-length") {
			return
		}
		checkRendered(t, hdrs, "sip:"+net.JoinHostPort("127.0.0.1", "5060")+";transport=tcp")
	})
}

// TestBranchLookup: an answer finds its INFO only by the exact branch the
// INFO carried; the number alone, another random part, other digits or
// trailing bytes find nothing.
func TestBranchLookup(t *testing.T) {
	k := newInfoTable(clock.NewFake(time.Unix(1_700_000_000, 0)), 0)
	w := &kaWait{k: k, n: 1234567, rnd: 1<<64 - 1}
	k.waiting[w.n] = w
	var b [branchMax]byte
	branch := string(k.appendBranch(b[:0], w.n, w.rnd))
	if got := k.lookupLocked([]byte(branch)); got != w {
		t.Fatalf("%q: %v", branch, got)
	}
	num := strconv.FormatUint(w.n, 16)
	for _, forged := range []string{
		k.branch + num + ".0",
		k.branch + num + "." + strconv.FormatUint(w.rnd-1, 16),
		k.branch + "0" + num + "." + strconv.FormatUint(w.rnd, 16),
		k.branch + strings.ToUpper(num) + "." + strconv.FormatUint(w.rnd, 16),
		branch + "x", branch + ".", branch[:len(branch)-1], k.branch + num, k.branch, "",
		strings.Replace(branch, ".ka", ".kb", 1),
		k.branch + strings.Repeat("f", 40) + "." + strconv.FormatUint(w.rnd, 16),
	} {
		if got := k.lookupLocked([]byte(forged)); got != nil {
			t.Errorf("%q matched", forged)
		}
	}
}

// TestSessionSizeClass: a held Session, with the 8-byte header the Go
// runtime puts before objects over 512 bytes that hold pointers, fits the
// 896-byte size class; eight bytes more and every held session costs 128
// bytes more (docs/performance.md, "Issue 16: keep-alive with
// pre-rendered dialog headers").
func TestSessionSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(Session{}); size+8 > 896 {
		t.Fatalf("Session is %d bytes: with its malloc header over the 896-byte size class", size)
	}
}

// TestKeepAliveScheduleStale: sessions that end leave stale entries in the
// keep-alive and expiry heaps, which never outnumber the live ones; a
// session scheduled twice has one live entry; the heaps stay ordered.
func TestKeepAliveScheduleStale(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	k := newInfoTable(clk, 30*time.Second)
	ss := make([]*Session, 1000)
	for i := range ss {
		ss[i] = &Session{}
		k.schedule(ss[i], clk.Now().Add(time.Duration(i%97)*time.Second))
		k.expireAt(ss[i], clk.Now().Add(time.Duration(i%89)*time.Second))
	}
	k.schedule(ss[0], clk.Now().Add(time.Hour)) // again: replaces the first
	k.expireAt(ss[0], clk.Now().Add(time.Hour))
	for i, s := range ss {
		if i%4 != 0 {
			k.unschedule(s)
		}
	}
	k.unschedule(ss[4]) // twice: no second stale count
	k.unschedule(ss[4])
	for name, h := range map[string]*dueHeap{"keep-alive": &k.kas, "expiry": &k.expiries} {
		live := map[*Session]int{}
		for i, e := range h.entries {
			if e.gen == *h.gen(e.s) {
				live[e.s]++
			}
			if l, r := 2*i+1, 2*i+2; (l < len(h.entries) && h.entries[l].due < e.due) || (r < len(h.entries) && h.entries[r].due < e.due) {
				t.Fatalf("%s: heap order broken at %d", name, i)
			}
		}
		if len(live) != 249 || h.live() != 249 {
			t.Fatalf("%s: %d live sessions, %d entries, %d stale; want 249 live", name, len(live), len(h.entries), h.stale)
		}
		for s, n := range live {
			if n != 1 || *h.gen(s)&1 != 1 {
				t.Fatalf("%s: a live session has %d entries, generation %d", name, n, *h.gen(s))
			}
		}
		if h.stale*2 > len(h.entries) {
			t.Fatalf("%s: %d stale of %d entries", name, h.stale, len(h.entries))
		}
	}
}
