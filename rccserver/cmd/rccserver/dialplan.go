package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rccserver/rccserver/examples"
	"github.com/rccserver/rccserver/station"
)

// defaultStationFile is the embedded example used when -config is not given.
const defaultStationFile = "station.yaml"

// runDialplan is the dial-plan simulator, `rccserver dialplan [-config FILE]
// NUMBER...`: like the suite's administrator tool it shows, for each number,
// the rule that matched and every step of the result (docs/dialplan.md).
// Exit status: 0 all numbers matched a rule, 1 a number matched none or the
// configuration is invalid, 2 usage.
func runDialplan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rccserver dialplan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration `FILE` (default: the embedded examples/"+defaultStationFile+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rccserver dialplan [-config FILE] NUMBER...")
		fmt.Fprintln(stderr, "Shows how the dial plan reads each NUMBER (e.g. tel:+13175551010, 911, sip:bob@example.com).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg, source, err := loadStationConfig(*configFile)
	if err != nil {
		fmt.Fprintf(stderr, "rccserver dialplan: %s:\n", source)
		for _, p := range station.Problems(err) {
			fmt.Fprintf(stderr, "  %v\n", p)
		}
		return 1
	}
	code := 0
	step(stdout, "dial plan", source)
	for _, number := range fs.Args() {
		fmt.Fprintln(stdout)
		if !printResolution(stdout, cfg, number) {
			code = 1
		}
	}
	return code
}

// loadStationConfig loads the station part of the configuration from file,
// or from the embedded example.
func loadStationConfig(file string) (*station.Config, string, error) {
	if file != "" {
		cfg, err := station.LoadFile(file)
		return cfg, file, err
	}
	source := "examples/" + defaultStationFile + " (embedded)"
	data, err := examples.FS.ReadFile(defaultStationFile)
	if err != nil {
		return nil, source, err
	}
	cfg, err := station.LoadYAML(bytes.NewReader(data))
	return cfg, source, err
}

// printResolution prints each step for one number; false if no rule matched.
func printResolution(w io.Writer, cfg *station.Config, number string) bool {
	r, err := cfg.DialPlan.Resolve(number)
	step(w, "input", r.Input)
	step(w, "normalised", r.Normalized)
	if errors.Is(err, station.ErrNoRule) {
		step(w, "matched rule", "none: no rule matches this number")
		return false
	}
	rule := r.Rule
	step(w, "matched rule", fmt.Sprintf("dialplan.rules[%d] %q", rule.Index, rule.Name))
	pattern := rule.Pattern.String()
	if len(rule.List) > 0 {
		pattern += " ($ from " + strings.Join(rule.List, ", ") + ")"
	}
	step(w, "pattern", pattern)
	if wild := rule.Pattern.Wildcards(); wild != "" {
		parts := make([]string, len(r.Matches))
		for i, m := range r.Matches {
			parts[i] = fmt.Sprintf("%c=%s", wild[i], m)
		}
		step(w, "wildcards", strings.Join(parts, " "))
	}
	step(w, "standardized", r.Standardized)
	step(w, "classification", r.Classification.String())
	step(w, "dial string", r.DialString)
	step(w, "target", describeTarget(cfg, r))
	return true
}

func describeTarget(cfg *station.Config, r station.Result) string {
	switch r.Target {
	case station.TargetStation:
		if s := r.Station; s != nil {
			state := "active"
			if !s.Active {
				state = "inactive"
			}
			return fmt.Sprintf("station %q (extension %s, %s, answer method %s)", s.Name, s.Extension, state, s.AnswerMethod)
		}
		return fmt.Sprintf("station extension %s (no such station configured)", r.DialString)
	case station.TargetTrunk:
		if cfg.Trunk.Proxy == "" {
			return "trunk (no trunk configured)"
		}
		return fmt.Sprintf("trunk %s (%s)", cfg.Trunk.Proxy, cfg.Trunk.Transport)
	case station.TargetNone:
		return "none (not dialable)"
	}
	return r.Target.String()
}

func step(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%-16s %s\n", name, value)
}
