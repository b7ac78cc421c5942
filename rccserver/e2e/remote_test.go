package e2e_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory/ldaptest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

// TestRemoteNumberLogon: a user whose Lync line is not a station but an
// outside number logs on to that remote number (the guide's second logon
// kind); MakeCall rings the remote phone through the trunk first, then the
// destination, with the usual events on the user's line.
func TestRemoteNumberLogon(t *testing.T) {
	const frankLine = "tel:+14155550100"
	scenario, _ := filepath.Abs("testdata/remote_phone.xml")
	mobile := phonetest.StartSIPp(t, phonetest.SIPpOptions{Scenario: scenario, Calls: 1, Timeout: 60 * time.Second})
	s := startSiteWith(t, siteOptions{
		features: "I3_FEATURE_LYNC",
		trunk:    "127.0.0.1:" + strconv.Itoa(mobile.Port),
		adUsers: []ldaptest.User{{SAMAccountName: "frank", UPN: "frank@example.com", SIPAddress: "sip:frank@example.com",
			Line: frankLine, OptionFlags: 16}},
		ccUsers: "  - {id: frank, display_name: frank, domain_account: 'EXAMPLE\\frank', extension: \"1050\", client_license: true, user_type: RemoteCallControl, remote_number_logon: true}\n",
	})
	b := s.phone("1020", "manual")

	frank, st, reason := s.lync("sip:frank@example.com", frankLine)
	if st != 200 || reason != "normal" {
		t.Fatalf("frank's remote-number logon: %d %s", st, reason)
	}
	xref := request(t, frank, &csta.MonitorStart{MonitorObject: frankLine}).(*csta.MonitorStartResponse).MonitorCrossRefID
	resp := request(t, frank, &csta.MakeCall{CallingDevice: frankLine, CalledDirectoryNumber: bobLine})
	mc, ok := resp.(*csta.MakeCallResponse)
	if !ok {
		t.Fatalf("MakeCall answered %v", resp)
	}
	id := mc.CallingDevice.CallID
	until(t, frank, func(e *csta.OriginatedEvent) bool { return e.OriginatedConnection.CallID == id })
	b.WaitEvent("CALL_INCOMING") // the remote phone answered, now the destination rings
	b.Accept()
	es := until(t, frank, func(e *csta.EstablishedEvent) bool { return e.EstablishedConnection.CallID == id })
	if es.MonitorCrossRefID != xref || es.CallingDevice.DeviceIdentifier != frankLine {
		t.Fatalf("EstablishedEvent %+v", es)
	}
	request(t, frank, &csta.ClearConnection{ConnectionToBeCleared: csta.ConnectionID{CallID: id, DeviceID: frankLine}})
	b.WaitEvent("CALL_CLOSED")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := mobile.Wait(ctx); err != nil {
		t.Fatalf("remote phone scenario: %v\n%s", err, mobile.Errors())
	}
}
