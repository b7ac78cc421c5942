// Command rccserver is the Remote Call Control server: Lync/Skype for Business
// clients drive desk phones through it with CSTA over SIP (ECMA TR/87).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "dialplan":
			return runDialplan(args[1:], stdout, stderr)
		case "api-token":
			return runAPIToken(args[1:], stdout, stderr)
		case "status":
			return runStatus(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("rccserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	configPath := fs.String("config", "", "configuration file (YAML); without it the embedded default runs")
	check := fs.Bool("check", false, "validate the configuration, print every problem, and exit")
	reloadFlag := fs.Bool("reload", false, "tell the running server (through admin.listen) to reload the directory and configuration, print what changed")
	var sets []string
	fs.Func("set", "override one configuration key, key=value (repeatable), e.g. -set session.keepalive=0", func(kv string) error {
		sets = append(sets, kv)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The subcommands are above; anything else left over is a typo or a
	// command from another tool, never a reason to start the server.
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rccserver: unknown subcommand or argument %q (subcommands: dialplan, status, api-token; flags: -h)\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "rccserver %s\n", version)
		return 0
	}
	cfg, err := loadConfig(*configPath, sets...)
	if *check {
		return printCheck(cfg, err, stdout, stderr)
	}
	if *reloadFlag {
		if cfg == nil {
			fmt.Fprintf(stderr, "rccserver -reload: configuration: %v\n", err)
			return 1
		}
		return requestReload(cfg, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rccserver: configuration:\n%s\n", indent(err))
		return 1
	}
	log := newLogger(stderr, cfg.file.Log.Level, cfg.file.Log.Format)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := newDaemon(cfg, log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		return 1
	}
	log.Info().Str("version", version).Msg("rccserver starting")
	if err := d.run(ctx); err != nil {
		log.Error().Err(err).Msg("rccserver failed")
		return 1
	}
	log.Info().Msg("rccserver stopped")
	return 0
}

// printCheck is -check: every problem on its own line, exit 1 if any.
func printCheck(cfg *config, err error, stdout, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintf(stderr, "configuration has problems:\n%s\n", indent(err))
		return 1
	}
	fmt.Fprintf(stdout, "configuration OK: %s\n", cfg.source)
	if cfg.file.Cluster.enabled() {
		fmt.Fprintf(stdout, "note: cluster.etcd is set: registrations, forwarding, DND and call records are kept in etcd; state.file %q is not used\n", cfg.file.State.File)
	}
	for _, w := range cfg.station.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return 0
}

func indent(err error) string {
	return "  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
}
