// Command devpki writes a development PKI for rccserver: a CA, a server
// certificate for the RCC FQDN, and good and bad Lync pool client
// certificates (see certs.InitDevPKI and docs/tls.md).
//
//	go run ./certs/cmd/devpki [-server rcc.example.com] [-pool lyncpool.example.com] [-password rccserver] DIR
//
// Running it again on the same DIR keeps the CA and renews the rest.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rccserver/rccserver/certs"
)

func main() {
	var o certs.DevPKIOptions
	flag.StringVar(&o.ServerName, "server", "rcc.example.com", "FQDN of the RCC server (the static route's MatchUri)")
	flag.StringVar(&o.PoolName, "pool", "lyncpool.example.com", "FQDN of the Lync pool (the client certificates' name)")
	flag.StringVar(&o.PKCS12Password, "password", "rccserver", "password of server.p12")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: devpki [flags] DIR\n\nWrites a development CA and certificates into DIR. Not for production.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := certs.InitDevPKI(flag.Arg(0), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devpki:", err)
		os.Exit(1)
	}
	for _, l := range []struct{ what, path string }{
		{"CA (client_ca, clients' trust anchor)", f.CA},
		{"server certificate", f.ServerCert},
		{"server key", f.ServerKey},
		{"server PKCS#12 (password " + f.Password + ")", f.ServerPKCS12},
		{"Lync pool client certificate", f.ClientCert},
		{"  without clientAuth EKU", f.NoEKUCert},
		{"  expired", f.ExpiredCert},
		{"  from an unknown CA", f.RogueCert},
		{"intruder (name not allowed)", f.IntruderCert},
	} {
		fmt.Printf("%-40s %s\n", l.what, l.path)
	}
}
