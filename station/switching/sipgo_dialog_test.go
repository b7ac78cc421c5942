package switching

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestSipgoDialogACKCSeq pins the sipgo behaviour that keeps leg.ack (and
// with it the UAC side of the dialog layer) hand-written: once a request
// went out in the early dialog through a DialogClientSession (a "talk"
// NOTIFY or uaCSTA INFO that answers the phone), the session's ACK for the
// 2xx carries that request's CSeq instead of the INVITE's, which RFC 3261
// §13.2.2.4 requires (sipgo PR #355, open). When this test fails, sipgo
// fixed it: the initial INVITE can move to DialogUA.
func TestSipgoDialogACKCSeq(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	uas, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(uas)
	if err != nil {
		t.Fatal(err)
	}
	notified := make(chan struct{})
	acks := make(chan uint32, 1)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		ringing := sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
		ringing.To().Params.Add("tag", "uas")
		_ = tx.Respond(ringing)
		select {
		case <-notified:
		case <-tx.Done():
			return
		}
		ok := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		ok.To().Params.Add("tag", "uas")
		ok.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1", Port: port}})
		_ = tx.Respond(ok)
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		close(notified)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		select {
		case acks <- req.CSeq().SeqNo:
		default:
		}
	})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(pc)
	}()

	uac, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(uac)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.Close()
		_ = uac.Close()
		_ = pc.Close()
		<-served
		_ = uas.Close()
	})
	dua := sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uac", Host: "127.0.0.1"}}}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	target := sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1", Port: port}
	sess, err := dua.Invite(ctx, target, nil)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	defer sess.Close()
	var notifySeq uint32
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.StatusCode != sip.StatusRinging {
			return nil
		}
		notify := sip.NewRequest(sip.NOTIFY, target)
		notify.AppendHeader(sip.NewHeader("Event", "talk"))
		nres, err := sess.Do(ctx, notify)
		if err != nil {
			return err
		}
		if !nres.IsSuccess() {
			t.Errorf("NOTIFY answered %d", nres.StatusCode)
		}
		notifySeq = notify.CSeq().SeqNo
		return nil
	}})
	if err != nil {
		t.Fatalf("WaitAnswer: %v", err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	inviteSeq := sess.InviteRequest.CSeq().SeqNo
	select {
	case got := <-acks:
		switch got {
		case inviteSeq:
			t.Fatalf("sipgo now ACKs with the INVITE's CSeq %d: leg.ack can use DialogClientSession.WriteAck", got)
		case notifySeq:
			t.Logf("ACK CSeq %d is the NOTIFY's, not the INVITE's %d: leg.ack stays hand-written", got, inviteSeq)
		default:
			t.Fatalf("ACK CSeq %d, INVITE %d, NOTIFY %d", got, inviteSeq, notifySeq)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no ACK")
	}
}

// TestSipgoDialog2xxRetransmission pins the sipgo behaviour that keeps
// respond2xx hand-written: DialogServerSession.WriteResponse retransmits an
// unacknowledged 2xx after T1 and then every T2, where RFC 3261 §13.3.1.4
// doubles the interval (T1, 2*T1, 4*T1, then T2). When this test fails,
// sipgo fixed it: the UAS answer can move to DialogServerSession.
func TestSipgoDialog2xxRetransmission(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	dua := sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1", Port: port}}}
	sessions := make(chan *sipgo.DialogServerSession, 1)
	answered := make(chan error, 1)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		s, err := dua.ReadInvite(req, tx)
		if err != nil {
			answered <- err
			return
		}
		sessions <- s
		answered <- s.Respond(sip.StatusOK, "OK", nil) // returns on the ACK
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		select {
		case s := <-sessions:
			_ = s.ReadAck(req, tx)
			sessions <- s
		default:
		}
	})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(pc)
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-served
		_ = cli.Close()
		_ = ua.Close()
	})

	// A UAC that never ACKs until it has seen three copies of the 200.
	uac, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer uac.Close()
	me := uac.LocalAddr().String()
	const callID = "retransmission-test"
	invite := "INVITE sip:uas@127.0.0.1:" + strconv.Itoa(port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + me + ";branch=z9hG4bK-inv-1\r\n" +
		"From: <sip:uac@127.0.0.1>;tag=uac\r\nTo: <sip:uas@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 INVITE\r\nContact: <sip:uac@" + me + ">\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := uac.WriteTo([]byte(invite), pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	var toTag string
	buf := make([]byte, 4096)
	for len(at) < 3 {
		_ = uac.SetReadDeadline(time.Now().Add(waitTimeout))
		n, _, err := uac.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d copies of the 200: %v", len(at), err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode == sip.StatusOK {
			at = append(at, time.Now())
			toTag, _ = res.To().Params.Get("tag")
		}
	}
	ack := "ACK sip:uas@127.0.0.1:" + strconv.Itoa(port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + me + ";branch=z9hG4bK-ack-1\r\n" +
		"From: <sip:uac@127.0.0.1>;tag=uac\r\nTo: <sip:uas@127.0.0.1>;tag=" + toTag + "\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := uac.WriteTo([]byte(ack), pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("Respond: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Respond did not return after the ACK")
	}
	// RFC 3261: the second retransmission follows 2*T1 after the first.
	if gap := at[2].Sub(at[1]); gap < (2*sip.T1+sip.T2)/2 {
		t.Fatalf("second retransmission after %v: sipgo now doubles the interval, respond2xx can use DialogServerSession", gap)
	} else {
		t.Logf("retransmissions after %v and %v (RFC 3261: T1=%v, then 2*T1): respond2xx stays hand-written", at[1].Sub(at[0]), gap, sip.T1)
	}
}
