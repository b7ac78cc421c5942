package e2e_test

import (
	"strings"
	"testing"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory/ldaptest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestAnswerCallOnTwinkle: AnswerCall from the Lync side answers a real
// ringing phone. Twinkle (Debian's twinkle-console) honours the
// auto-answer re-offer (answer_method autoAnswerReoffer, docs/station.md
// "Answer methods and phones"); a baresip phone calls it, the client sees
// it ring, answers it, and both phones are in the call.
func TestAnswerCallOnTwinkle(t *testing.T) {
	const line = "tel:+13175551060"
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC",
		adUsers: []ldaptest.User{{SAMAccountName: "frank", UPN: "frank@example.com", SIPAddress: "sip:frank@example.com",
			Line: line, LineServer: "sip:rcc@rcc.example.com", DisplayName: "frank", OptionFlags: 16}},
		ccUsers:  "  - {id: frank, display_name: frank, domain_account: 'EXAMPLE\\frank', extension: \"1060\", client_license: true, user_type: RemoteCallControl}\n",
		stations: "  - {name: \"1060\", extension: \"1060\", identification_address: \"" + line + "\", connection: {kind: registered, username: \"1060\", password: demo-1060}, answer_method: autoAnswerReoffer, active: true}\n",
	})
	tw := phonetest.StartTwinkle(t, phonetest.TwinkleOptions{User: "1060", Password: "demo-1060", Registrar: s.phoneReg})
	a := s.phone("1010", "manual")

	frank, st, reason := s.lync("sip:frank@example.com", line)
	if st != 200 || reason != "normal" {
		t.Fatalf("frank sign-in: %d %s", st, reason)
	}
	xref := request(t, frank, &csta.MonitorStart{MonitorObject: line}).(*csta.MonitorStartResponse).MonitorCrossRefID
	if xref == "" {
		t.Fatal("no monitor")
	}
	a.Dial("1060")
	de := next[*csta.DeliveredEvent](t, frank)
	if de.LocalConnectionInfo != csta.LCSAlerting {
		t.Fatalf("DeliveredEvent %+v: the line is not ringing", de)
	}
	ans := request(t, frank, &csta.AnswerCall{CallToBeAnswered: csta.ConnectionID{CallID: de.Connection.CallID, DeviceID: line}})
	if _, ok := ans.(*csta.AnswerCallResponse); !ok {
		t.Fatalf("AnswerCall: %s %v", ans.Root(), ans)
	}
	es := next[*csta.EstablishedEvent](t, frank)
	if es.EstablishedConnection.CallID != de.Connection.CallID {
		t.Fatalf("EstablishedEvent for %q, want %q", es.EstablishedConnection.CallID, de.Connection.CallID)
	}
	a.WaitEvent("CALL_ESTABLISHED")
	answered := false
	for _, m := range tw.SIPMessages(true) {
		if strings.HasPrefix(m, "SIP/2.0 200") && strings.Contains(m, "application/sdp") {
			answered = true
		}
	}
	if !answered {
		t.Fatalf("twinkle sent no 200 with SDP: the phone did not answer\n%s", tw.Log())
	}
	a.Hangup()
	a.WaitEvent("CALL_CLOSED")
	next[*csta.ConnectionClearedEvent](t, frank)
}
