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
	"syscall"

	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "dialplan" {
		return runDialplan(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("rccserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "rccserver %s\n", version)
		return 0
	}

	log := zerolog.New(stderr).With().Timestamp().Str("service", "rccserver").Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info().Str("version", version).Msg("rccserver started on the embedded default")
	<-ctx.Done()
	log.Info().Msg("rccserver stopped")
	return 0
}
