package certs_test

import (
	"crypto/x509"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rccserver/rccserver/certs"
)

func TestInitDevPKI(t *testing.T) {
	f := devPKI(t)
	ca := readCert(t, f.CA)
	server := readCert(t, f.ServerCert)
	if !slices.Contains(server.DNSNames, "rcc.example.com") || len(server.IPAddresses) == 0 || !server.IPAddresses[0].IsLoopback() {
		t.Errorf("server names %v %v", server.DNSNames, server.IPAddresses)
	}
	if err := server.CheckSignatureFrom(ca); err != nil {
		t.Errorf("server not signed by the CA: %v", err)
	}
	if client := readCert(t, f.ClientCert); client.Subject.CommonName != "lyncpool.example.com" ||
		!slices.Contains(client.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("client %v %v", client.Subject, client.ExtKeyUsage)
	}
	if slices.Contains(readCert(t, f.NoEKUCert).ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Error("noeku certificate has clientAuth")
	}
	if readCert(t, f.RogueCert).CheckSignatureFrom(ca) == nil {
		t.Error("rogue certificate signed by our CA")
	}
	if f != certs.DevFilesIn(filepath.Dir(f.CA)) {
		t.Error("DevFilesIn disagrees with InitDevPKI")
	}

	// Again: same CA, renewed leaves.
	if _, err := certs.InitDevPKI(filepath.Dir(f.CA), certs.DevPKIOptions{}); err != nil {
		t.Fatal(err)
	}
	if !readCert(t, f.CA).Equal(ca) {
		t.Error("CA replaced on the second run")
	}
	renewed := readCert(t, f.ServerCert)
	if renewed.Equal(server) || renewed.CheckSignatureFrom(ca) != nil {
		t.Error("server certificate not renewed under the same CA")
	}
}
