package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rccserver/rccserver/rccserver/api"
)

// runAPIToken is `rccserver api-token [-name N] [-stations 1010,1020]`: a
// new random token, printed once, and the api.tokens entry holding its
// SHA-256 (the configuration never holds the token itself).
func runAPIToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rccserver api-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "operator", "the token's name in logs")
	stations := fs.String("stations", "*", "comma-separated extensions the token may use, or *")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rccserver api-token: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	var list []string
	for _, s := range strings.Split(*stations, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, fmt.Sprintf("%q", s))
		}
	}
	fmt.Fprintf(stdout, "# token (give it to the client; it is not stored anywhere):\n# %s\n", tok)
	fmt.Fprintf(stdout, "api:\n  tokens:\n    - name: %s\n      sha256: %s\n      stations: [%s]\n", *name, api.HashToken(tok), strings.Join(list, ", "))
	return 0
}
