package switching

import (
	"context"
	"net"
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
