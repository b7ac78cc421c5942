// Package certs loads and hot-reloads TLS certificates, applies the client-certificate policy for MTLS, and makes a development PKI.
//
// A [Manager] serves one listener's certificate (PEM certificate, key and
// chain, or a PKCS#12 bundle) through tls.Config.GetConfigForClient reading
// an atomic pointer, so [Manager.Reload] — on SIGHUP, on -reload, or when
// [Manager.Run] sees a file change — takes effect for the next handshake and
// never touches live connections. For MTLS the [Policy] checks the client's
// chain against the configured CA file, the clientAuth extended key usage
// (RFC 5280 §4.2.1.12; Lync's "Require mutual authentication" needs it) and
// an allow-list of peer names (CN or DNS SAN, "*.pool.example.com"
// wildcards), and refuses with a [*PeerError] naming the reason.
//
// [ClientConfig] is the client side, for the services rccserver connects
// to (etcd): the server verified against a CA file, an optional client
// certificate.
//
// [InitDevPKI] (and `go run ./certs/cmd/devpki DIR`) writes a CA, a server
// certificate for rcc.example.com, and good and bad Lync pool client
// certificates for tests, examples and demos.
package certs
