package state

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBoltKeepsRecordsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	reg := Registration{Extension: "1010", Contact: "sip:1010@127.0.0.1:5070", Source: "127.0.0.1:5070", Transport: "UDP", Expires: exp}
	feat := Features{Extension: "1010", DND: true, Forwarding: []Forward{{Type: "immediate", On: true, Destination: "1020"}}}
	leg := Leg{CallID: "c1", Device: "1010", LocalTag: "a", RemoteTag: "b", LocalURI: "sip:x@y", RemoteURI: "sip:1010@y",
		RemoteTarget: "sip:1010@127.0.0.1:5070", Routes: []string{"<sip:p;lr>"}, CSeq: 7, Transport: "UDP", Dest: "127.0.0.1:5070"}
	for _, err := range []error{
		s.PutRegistration(reg), s.PutRegistration(Registration{Extension: "1020", Contact: "sip:1020@h"}),
		s.DeleteRegistration("1020"), s.PutFeatures(feat), s.PutLeg(leg), s.PutLeg(Leg{CallID: "c2"}), s.DeleteLeg("c2"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLeg(leg); !errors.Is(err, ErrClosed) {
		t.Errorf("PutLeg after Close = %v, want ErrClosed", err)
	}

	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	regs, err := s.Registrations()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Registration{reg}, regs); d != "" {
		t.Errorf("registrations (-want +got):\n%s", d)
	}
	feats, _ := s.Features()
	if d := cmp.Diff([]Features{feat}, feats); d != "" {
		t.Errorf("features (-want +got):\n%s", d)
	}
	legs, _ := s.Legs()
	if d := cmp.Diff([]Leg{leg}, legs); d != "" {
		t.Errorf("legs (-want +got):\n%s", d)
	}
}

func TestBoltRefusesEmptyKeyAndSecondOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutRegistration(Registration{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutRegistration(empty) = %v, want ErrInvalid", err)
	}
	// bbolt holds an exclusive flock: a second opener (another daemon on
	// the same file) fails after lockTimeout instead of sharing it.
	if s2, err := OpenBolt(path); !errors.Is(err, ErrOpen) {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("second OpenBolt = %v, want ErrOpen", err)
	}
}
