package csta

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fastSeeds are bodies in and just outside the fast path's subset.
var fastSeeds = []string{
	`<MakeCall><callingDevice>tel:1</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`,
	`<MakeCall xmlns:csta="x"><callingDevice> a </callingDevice><calledDirectoryNumber/></MakeCall>`,
	`<MakeCall><callingDevice>a</callingDevice><callingDevice>b</callingDevice></MakeCall>`,
	`<MakeCall><callingDevice>a&amp;b</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`,
	`<MakeCall><callingDevice>a` + "\r\n" + `</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><MakeCall><callingDevice>a</callingDevice></MakeCall>`,
	`<MonitorStart><monitorObject><deviceObject>tel:1</deviceObject></monitorObject><monitorType>call</monitorType></MonitorStart>`,
	`<MonitorStart><monitorObject/><extensions/></MonitorStart>`,
	`<GetCSTAFeatures xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>`,
	`<MakeCall xmlns:c="u"/>`,
	`<GetCSTAFeatures />`,
	`<GetCSTAFeatures><extensions><privateData><private><x:line xmlns:x="u"> tel:1 </x:line></private></privateData></extensions></GetCSTAFeatures>`,
	`<GetCSTAFeatures><extensions></extensions></GetCSTAFeatures>`,
	`<AnswerCall><callToBeAnswered><callID>1</callID></callToBeAnswered></AnswerCall>`,
	`<ClearConnection><connectionToBeCleared><deviceID>d</deviceID><callID>c</callID></connectionToBeCleared></ClearConnection>`,
	`<HoldCall><callToBeHeld/></HoldCall>`,
	`<RetrieveCall><callToBeRetrieved><callID></callID><deviceID>d</deviceID></callToBeRetrieved></RetrieveCall>` + "\n",
	`<SnapshotDevice><snapshotObject>tel:1</snapshotObject></SnapshotDevice> x`,
	`<GetForwarding><device>tel:1</device></GetForwarding>`,
	`<GetDoNotDisturb><device>tel:1</device></GetDoNotDisturb>`,
	`<SetDoNotDisturb><device>tel:1</device><doNotDisturbOn>1</doNotDisturbOn></SetDoNotDisturb>`,
	`<SetDoNotDisturb><device>tel:1</device><doNotDisturbOn>TRUE</doNotDisturbOn></SetDoNotDisturb>`,
	`<SetDoNotDisturb><device>tel:1</device><doNotDisturbOn/></SetDoNotDisturb>`,
}

func fastSeedFiles(tb testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"golden", "lync"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.xml"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	for _, s := range fastSeeds {
		out = append(out, []byte(s))
	}
	return out
}

// sameAsFull fails when the fast path gives an answer the full decoder does not.
func sameAsFull(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	msg, ok, err := decodeFast(body)
	if !ok {
		if msg != nil || err != nil {
			t.Fatalf("not understood, yet %#v, %v", msg, err)
		}
		return false
	}
	want, wantErr := decodeXML(body)
	if !reflect.DeepEqual(msg, want) {
		t.Fatalf("fast %#v, full %#v\nbody %q", msg, want, body)
	}
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("fast error %v, full error %v\nbody %q", err, wantErr, body)
	}
	var e *Error
	if err != nil && (msg != nil || !errors.As(err, &e)) {
		t.Fatalf("error %v (%T) with value %#v", err, err, msg)
	}
	return true
}

// FuzzFastDecode: whenever the fast path answers, the answer is the full
// decoder's, value and error alike.
func FuzzFastDecode(f *testing.F) {
	for _, b := range fastSeedFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameAsFull(t, body) })
}

// TestFastDecodeTaken: the requests Lync and the golden files send take the
// fast path, so a change that silently drops them to encoding/xml shows here.
func TestFastDecodeTaken(t *testing.T) {
	for _, dir := range []string{"golden", "lync"} {
		for root := range fastRoots {
			p := filepath.Join("testdata", dir, root+".xml")
			b, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameAsFull(t, b) {
				t.Errorf("%s: not on the fast path", p)
			}
		}
	}
	for _, s := range fastSeeds {
		sameAsFull(t, []byte(s))
	}
}

// BenchmarkDecodePaths decodes each request Lync sends (testdata/lync) by
// Decode (the fast path where it applies) and by the full decoder alone, in
// the same run.
func BenchmarkDecodePaths(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "lync", "*.xml"))
	for _, p := range files {
		body, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(p)
		name = name[:len(name)-len(".xml")]
		for _, d := range []struct {
			path   string
			decode func([]byte) (Message, error)
		}{{"Decode", Decode}, {"Full", decodeXML}} {
			b.Run(name+"/"+d.path, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _ = d.decode(body)
				}
			})
		}
	}
}
