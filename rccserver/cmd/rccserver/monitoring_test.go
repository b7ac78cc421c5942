package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// collectorMetrics are the metric names the admin collector exposes, with
// the series names of histograms (_bucket, _sum, _count).
func collectorMetrics() map[string]bool {
	ch := make(chan *prometheus.Desc, 64)
	go func() { collector{}.Describe(ch); close(ch) }()
	re := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	out := map[string]bool{}
	for d := range ch {
		if m := re.FindStringSubmatch(d.String()); m != nil {
			out[m[1]] = true
			if strings.HasSuffix(m[1], "_seconds") {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					out[m[1]+s] = true
				}
			}
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\brcc_[a-z_]+\b`)

func checkNames(t *testing.T, file, text string, known map[string]bool) {
	t.Helper()
	names := metricName.FindAllString(text, -1)
	if len(names) == 0 {
		t.Errorf("%s names no rcc_ metric", file)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s uses %s, which the admin collector does not expose", file, n)
		}
	}
}

// TestGrafanaDashboard: the dashboard parses, is shaped as Grafana imports
// it (unique panel ids, a grid position, a query per target), and every
// metric it names exists.
func TestGrafanaDashboard(t *testing.T) {
	const file = "../../../examples/grafana/rccserver-dashboard.json"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title         string `json:"title"`
		UID           string `json:"uid"`
		SchemaVersion int    `json:"schemaVersion"`
		Panels        []struct {
			ID      int             `json:"id"`
			Type    string          `json:"type"`
			Title   string          `json:"title"`
			GridPos *map[string]int `json:"gridPos"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatal(err)
	}
	if dash.Title == "" || dash.UID == "" || dash.SchemaVersion < 30 || len(dash.Panels) == 0 {
		t.Fatalf("dashboard header: %q %q schema %d, %d panels", dash.Title, dash.UID, dash.SchemaVersion, len(dash.Panels))
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || p.GridPos == nil || len(p.Targets) == 0 || (p.Type != "timeseries" && p.Type != "stat") {
			t.Errorf("panel %d %q: title, gridPos, targets and a known type needed", p.ID, p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" || strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %d: target %+v", p.ID, tg)
			}
		}
	}
	checkNames(t, file, string(b), collectorMetrics())
}

// TestAlertRules: the rules parse as a Prometheus rule file, each has what
// an on-call reader needs, and every metric they name exists.
func TestAlertRules(t *testing.T) {
	const file = "../../../examples/prometheus/rccserver-alerts.yaml"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: alert, expr, labels.severity and annotations.summary needed", r)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, m := range []string{"rcc_certificate_days_left", "rcc_directory_sync_failures_total", "rcc_keepalive_failures_total",
		"rcc_refusals_total", "rcc_events_dropped_total"} {
		if !strings.Contains(all, m) {
			t.Errorf("no alert on %s", m)
		}
	}
	checkNames(t, file, all, collectorMetrics())
}

// TestLatencyHistogramsExposed: /metrics carries the latency histograms.
func TestLatencyHistogramsExposed(t *testing.T) {
	known := collectorMetrics()
	for _, m := range []string{"rcc_csta_request_duration_seconds_bucket", "rcc_event_delivery_duration_seconds_count"} {
		if !known[m] {
			t.Errorf("%s not exposed", m)
		}
	}
}
