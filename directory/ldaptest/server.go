package ldaptest

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure a test server. The zero value is a working server for
// example.com (NetBIOS EXAMPLE) with no users but the service account.
type Options struct {
	// Domain is the DNS domain; the base DN is made from it
	// (example.com -> DC=example,DC=com). Default example.com.
	Domain string
	// NetBIOS is the domain's NetBIOS name, set as nETBIOSName on its
	// crossRef under CN=Partitions. Default: the first label of Domain in
	// upper case.
	NetBIOS string
	// LDIF lists LDIF files bulk-loaded (slapadd) before the first start,
	// after the domain skeleton. Their DNs must lie under the base DN.
	LDIF []string
	// Users are bulk-loaded under CN=Users after the LDIF files.
	Users []User
	// Generate bulk-loads Numbered(0) … Numbered(Generate-1) as well.
	Generate int
	// SizeLimit is the most entries an unpaged search by a non-root bind
	// returns (AD's MaxPageSize); it also caps the page size. Default 1000.
	SizeLimit int
	// RequireTLS makes slapd refuse simple binds without TLS
	// (confidentialityRequired), as AD does with LDAP signing enforced.
	RequireTLS bool
	// Debug is slapd's -d level (e.g. "stats"); its output goes to t.Log.
	// Default: none.
	Debug string
}

// Server is a running (or stopped) slapd. Its methods call t.Fatal on
// failure, so call them from the test's goroutine.
type Server struct {
	// BaseDN is the domain naming context, e.g. DC=example,DC=com.
	BaseDN string
	// UsersDN is CN=Users under BaseDN, where users are created.
	UsersDN string
	// PartitionsDN is CN=Partitions,CN=Configuration,BaseDN, which holds the
	// crossRef with the NetBIOS name.
	PartitionsDN string
	// Domain and NetBIOS are the DNS and NetBIOS domain names.
	Domain, NetBIOS string
	// BindDN and Password are the service account (CN=svc-rcc,CN=Users,…):
	// a non-root user, subject to the size limit, that may read everything.
	BindDN, Password string
	// RootDN and RootPassword are slapd's rootdn, which bypasses limits and
	// ACLs; the helper methods use it.
	RootDN, RootPassword string

	t        testing.TB
	dir      string
	conf     string
	slapd    string
	pki      *testPKI
	ldapPort int
	tlsPort  int
	debug    string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the running slapd has exited
	output  *syncBuffer
	running bool
}

// Start writes the configuration and data into t.TempDir(), bulk-loads the
// entries and starts slapd. It is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Domain == "" {
		opts.Domain = "example.com"
	}
	if opts.NetBIOS == "" {
		opts.NetBIOS = strings.ToUpper(strings.SplitN(opts.Domain, ".", 2)[0])
	}
	if opts.SizeLimit == 0 {
		opts.SizeLimit = 1000
	}
	slapd := findBinary(t, "slapd")
	slapadd := findBinary(t, "slapadd")

	base := "DC=" + strings.ReplaceAll(opts.Domain, ".", ",DC=")
	s := &Server{
		BaseDN:       base,
		UsersDN:      "CN=Users," + base,
		PartitionsDN: "CN=Partitions,CN=Configuration," + base,
		Domain:       opts.Domain,
		NetBIOS:      opts.NetBIOS,
		BindDN:       "CN=svc-rcc,CN=Users," + base,
		Password:     randomSecret(),
		RootDN:       "CN=admin," + base,
		RootPassword: randomSecret(),
		t:            t,
		dir:          t.TempDir(),
		slapd:        slapd,
		debug:        opts.Debug,
	}
	var err error
	if s.pki, err = newTestPKI(s.dir); err != nil {
		t.Fatalf("ldaptest: test CA: %v", err)
	}
	s.conf, err = writeConfig(confData{
		Dir: s.dir, CAFile: s.pki.caFile, CertFile: s.pki.certFile, KeyFile: s.pki.keyFile,
		BaseDN: s.BaseDN, RootDN: s.RootDN, RootPassword: s.RootPassword,
		SizeLimit: opts.SizeLimit, RequireTLS: opts.RequireTLS,
	})
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	if err := s.bulkLoad(slapadd, opts); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(s.Stop)
	s.ldapPort, s.tlsPort = freePorts(t)
	s.Restart()
	return s
}

// URL is the plain LDAP URL (use StartTLS), e.g. ldap://127.0.0.1:40123.
func (s *Server) URL() string { return "ldap://127.0.0.1:" + strconv.Itoa(s.ldapPort) }

// LDAPSURL is the LDAP-over-TLS URL, e.g. ldaps://127.0.0.1:40124.
func (s *Server) LDAPSURL() string { return "ldaps://127.0.0.1:" + strconv.Itoa(s.tlsPort) }

// CAPool holds the test CA that signed the server certificate (valid for
// 127.0.0.1 and localhost).
func (s *Server) CAPool() *x509.CertPool { return s.pki.pool }

// CAFile is the test CA certificate as a PEM file.
func (s *Server) CAFile() string { return s.pki.caFile }

// Dir is the server's directory (configuration, database, certificates).
func (s *Server) Dir() string { return s.dir }

// Running reports whether slapd is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Restart starts slapd again on the same ports with the same database,
// after Stop. Start calls it for the first start.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.t.Fatalf("ldaptest: Restart: slapd is running; Stop it first")
	}
	debug := "0"
	if s.debug != "" {
		debug = s.debug
	}
	urls := s.URL() + "/ " + s.LDAPSURL() + "/"
	// -d keeps slapd in the foreground, so the test owns the process.
	cmd := exec.Command(s.slapd, "-d", debug, "-f", s.conf, "-h", urls)
	s.output = &syncBuffer{}
	if s.debug != "" {
		cmd.Stderr = &logWriter{t: s.t, buf: s.output}
	} else {
		cmd.Stderr = s.output
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("ldaptest: start slapd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	if err := waitListening(done, 15*time.Second, s.ldapPort, s.tlsPort); err != nil {
		_ = cmd.Process.Kill()
		<-done
		s.t.Fatalf("ldaptest: slapd did not come up: %v\n%s", err, s.output.String())
	}
	s.running = true
}

// Stop stops slapd (SIGTERM, then SIGKILL after 10 s) and waits for it to
// exit. The database stays; Restart brings it back. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	s.running = false
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// bulkLoad writes the skeleton, the LDIF files and the users into one LDIF
// file and loads it with slapadd, which is much faster than LDAP adds.
func (s *Server) bulkLoad(slapadd string, opts Options) error {
	path := filepath.Join(s.dir, "data.ldif")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := newLDIFWriter(f)
	s.writeSkeleton(w)
	if err := w.flush(); err != nil {
		f.Close()
		return err
	}
	for _, name := range opts.LDIF {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(append(bytes.TrimRight(data, "\n"), '\n', '\n')); err != nil {
			f.Close()
			return err
		}
	}
	for _, u := range opts.Users {
		s.writeUser(w, u)
	}
	for i := range opts.Generate {
		s.writeUser(w, Numbered(i, s.Domain))
	}
	if err := w.flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.Command(slapadd, "-q", "-f", s.conf, "-l", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	return nil
}

// writeSkeleton writes the domain root, CN=Users, the configuration
// container with the crossRef that maps the naming context to its NetBIOS
// name (as AD has under CN=Partitions), and the service account.
func (s *Server) writeSkeleton(w *ldifWriter) {
	rec := func(dn string, attrs ...string) {
		w.attr("dn", dn)
		for i := 0; i+1 < len(attrs); i += 2 {
			w.attr(attrs[i], attrs[i+1])
		}
		w.end()
	}
	first := strings.SplitN(s.Domain, ".", 2)[0]
	rec(s.BaseDN, "objectClass", "top", "objectClass", "domain", "dc", first)
	rec(s.UsersDN, "objectClass", "top", "objectClass", "container", "cn", "Users")
	rec("CN=Configuration,"+s.BaseDN, "objectClass", "top", "objectClass", "container", "cn", "Configuration")
	rec(s.PartitionsDN, "objectClass", "top", "objectClass", "container", "cn", "Partitions")
	rec("CN="+s.NetBIOS+","+s.PartitionsDN,
		"objectClass", "top", "objectClass", "crossRef", "cn", s.NetBIOS,
		"nCName", s.BaseDN, "dnsRoot", s.Domain, "nETBIOSName", s.NetBIOS)
	s.writeUser(w, User{CN: "svc-rcc", SAMAccountName: "svc-rcc", UPN: "svc-rcc@" + s.Domain, Password: s.Password})
}

func (s *Server) writeUser(w *ldifWriter, u User) {
	w.attr("dn", s.UserDN(u))
	for _, a := range u.attributes() {
		w.attr(a[0], a[1])
	}
	w.end()
}

// UserDN is the DN u has (or would have) under CN=Users.
func (s *Server) UserDN(u User) string {
	return "CN=" + escapeRDN(u.RDN()) + "," + s.UsersDN
}

// escapeRDN escapes an attribute value for a DN string (RFC 4514 section 2.4).
func escapeRDN(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`,+"\<>;=`, c) >= 0,
			c == '#' && i == 0,
			c == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// findBinary finds an OpenLDAP program on PATH or in /usr/sbin, where Debian
// puts it (often not on a non-root PATH). Missing programs fail the test.
func findBinary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	t.Fatalf("ldaptest: %s not found on PATH or in /usr/sbin: install the Debian packages slapd and ldap-utils (go tool task install-test-deps)", name)
	return ""
}

// freePorts returns two distinct free TCP ports on 127.0.0.1. (They are
// free when returned; slapd binds them a moment later.)
func freePorts(t testing.TB) (int, int) {
	t.Helper()
	var ports [2]int
	var ls [2]net.Listener
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("ldaptest: free port: %v", err)
		}
		ls[i] = l
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		l.Close()
	}
	return ports[0], ports[1]
}

// waitListening polls until every port accepts a TCP connection, slapd
// exits (done), or the deadline passes.
func waitListening(done <-chan struct{}, timeout time.Duration, ports ...int) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, p := range ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %w", addr, err)
			}
			select {
			case <-done:
				return errors.New("slapd exited")
			case <-tick.C:
			}
		}
	}
	return nil
}

func randomSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for the process-output goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logWriter copies slapd's output to t.Log (and keeps it for errors).
type logWriter struct {
	t   testing.TB
	buf *syncBuffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Logf("slapd: %s", bytes.TrimRight(p, "\n"))
	return w.buf.Write(p)
}
