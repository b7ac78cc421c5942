package csta_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	. "github.com/rccserver/rccserver/csta"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

var cmpOpts = cmp.Options{cmpopts.EquateEmpty()}

// TestGolden: Encode writes each golden file exactly, Decode reads it back to
// the same value, and decode → encode is byte-stable.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", tc.name+".xml")
			got, err := Encode(tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode differs from %s:\n got %s\nwant %s", path, got, want)
			}
			decoded, err := Decode(want)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.msg, decoded, cmpOpts); diff != "" {
				t.Fatalf("Decode mismatch (-want +got):\n%s", diff)
			}
			again, err := Encode(decoded)
			if err != nil {
				t.Fatalf("re-Encode: %v", err)
			}
			if !bytes.Equal(again, want) {
				t.Fatalf("decode → encode not byte-stable:\n got %s\nwant %s", again, want)
			}
		})
	}
}

// TestGoldenCoversEveryRoot keeps the golden set complete as types are added.
func TestGoldenCoversEveryRoot(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range goldenCases {
		covered[tc.msg.Root()] = true
	}
	for _, root := range Roots() {
		if !covered[root] {
			t.Errorf("no golden case for %s", root)
		}
	}
}
