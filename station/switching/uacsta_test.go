package switching

import (
	"testing"

	"github.com/rccserver/rccserver/csta"
)

// TestAnswerCallXML: the uaCSTA AnswerCall body round-trips through csta,
// markup in the identifiers included.
func TestAnswerCallXML(t *testing.T) {
	body, err := answerCallXML(`c<1>&"2"`, "1040")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := csta.Decode(body)
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	ac, ok := msg.(*csta.AnswerCall)
	if !ok {
		t.Fatalf("decoded %T, want *csta.AnswerCall", msg)
	}
	if want := (csta.ConnectionID{CallID: `c<1>&"2"`, DeviceID: "1040"}); ac.CallToBeAnswered != want {
		t.Fatalf("got %+v, want %+v", ac.CallToBeAnswered, want)
	}
	if _, err := answerCallXML("", ""); err == nil {
		t.Fatal("empty connection encoded")
	}
}
