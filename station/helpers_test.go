package station

import (
	"os"
	"strings"
	"testing"
)

// loadYAML loads a configuration from text or fails the test.
func loadYAML(t testing.TB, text string) *Config {
	t.Helper()
	c, err := LoadYAML(strings.NewReader(text))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

// readTestdata returns a testdata file's text.
func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces old with new in text exactly once, or fails the test.
func edit(t testing.TB, text, old, new string) string {
	t.Helper()
	if strings.Count(text, old) != 1 {
		t.Fatalf("edit: %q occurs %d times", old, strings.Count(text, old))
	}
	return strings.Replace(text, old, new, 1)
}

// exampleConfig loads examples/station.yaml.
func exampleConfig(t testing.TB) *Config {
	t.Helper()
	c, err := LoadFile("../examples/station.yaml")
	if err != nil {
		t.Fatalf("examples/station.yaml: %v", err)
	}
	return c
}
