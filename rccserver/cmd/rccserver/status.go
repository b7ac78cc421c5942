package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// statusReport is what `rccserver status` reads from the admin listener.
type statusReport struct {
	Admin    string        `json:"admin"`
	Sessions []sessionView `json:"sessions"`
	Stations []stationView `json:"stations"`
	Calls    []callView    `json:"calls"`
}

// runStatus is `rccserver status [-config f | -admin host:port] [-json]`:
// sessions, stations and calls of the running server, read from its admin
// listener; a table for people, JSON for scripts.
func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rccserver status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file whose admin.listen to read (default: the embedded default's)")
	admin := fs.String("admin", "", "admin listener host:port (overrides -config)")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rccserver status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	addr := *admin
	if addr == "" {
		cfg, err := loadConfig(*configPath)
		if cfg == nil {
			fmt.Fprintf(stderr, "rccserver status: configuration: %v\n", err)
			return 1
		}
		addr = cfg.file.Admin.Listen
	}
	if addr == "" {
		fmt.Fprintln(stderr, "rccserver status: admin.listen is off in the configuration; give -admin host:port")
		return 1
	}
	rep := statusReport{Admin: addr}
	client := &http.Client{Timeout: 10 * time.Second}
	for path, dst := range map[string]any{"/debug/sessions": &rep.Sessions, "/debug/stations": &rep.Stations, "/debug/calls": &rep.Calls} {
		if err := getJSON(client, "http://"+addr+path, dst); err != nil {
			fmt.Fprintf(stderr, "rccserver status: %v\n", err)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SESSIONS (%d)\n", len(rep.Sessions))
	fmt.Fprintln(tw, "USER\tLINE\tSTATUS\tPEER\tMONITORS")
	for _, s := range rep.Sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", s.User, s.Line, s.Status, s.Peer, len(s.Monitors))
	}
	fmt.Fprintf(tw, "\nSTATIONS (%d)\n", len(rep.Stations))
	fmt.Fprintln(tw, "EXTENSION\tNAME\tPHONE\tUSER")
	for _, s := range rep.Stations {
		phone := "not registered"
		if s.Registered {
			phone = "registered"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Extension, s.Name, phone, dash(s.User))
	}
	fmt.Fprintf(tw, "\nCALLS (%d)\n", len(rep.Calls))
	fmt.Fprintln(tw, "STATION\tCALL\tSTATE\tCALLING\tCALLED")
	for _, c := range rep.Calls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Station, c.CallID, c.State, c.Calling, c.Called)
	}
	_ = tw.Flush()
	return 0
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func getJSON(c *http.Client, url string, dst any) error {
	res, err := c.Get(url)
	if err != nil {
		return fmt.Errorf("no server answered: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(dst); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}
