package ldaptest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// SambaOptions configure a Samba AD DC. The zero value is a domain
// example.com (NetBIOS EXAMPLE) with the Lync schema extension and only the
// service account.
type SambaOptions struct {
	// Domain is the DNS domain (the realm in upper case). Default example.com.
	Domain string
	// NetBIOS is the NetBIOS domain name. Default: the first label of
	// Domain in upper case.
	NetBIOS string
	// LDIF lists LDIF files added (ldbadd, offline) after the schema
	// extension. Records of users should carry userAccountControl: without
	// it AD creates the account disabled.
	LDIF []string
	// Users are added under CN=Users after the LDIF files (with
	// User.UserAccountControl).
	Users []User
	// Generate adds Numbered(0) … Numbered(Generate-1) as well.
	Generate int
}

// Samba is a running Samba Active Directory domain controller in a network
// namespace of its own (Samba binds the fixed LDAP ports 389, 636, 3268 and
// 3269, so two of them, or one and a system slapd, cannot share the host's
// loopback). Inside the namespace it listens on the namespace's loopback
// only; the test reaches it through TCP forwarders on the host's 127.0.0.1
// with free ports, which open their upstream sockets inside the namespace.
// No address is configured on the host.
//
// Provisioning (samba-tool domain provision --targetdir), the schema
// extension and the users all happen offline on sam.ldb before the first
// start, which keeps the start to a few seconds. Samba needs root (as in
// CI); when it or ip(8) is missing, StartSamba returns an error, which tests
// must report as a failure.
type Samba struct {
	// BaseDN is the domain naming context, e.g. DC=example,DC=com (AD's
	// case: upper-case attribute types).
	BaseDN string
	// UsersDN is CN=Users under BaseDN.
	UsersDN string
	// Domain and NetBIOS are the DNS and NetBIOS domain names.
	Domain, NetBIOS string
	// BindDN and Password are the service account CN=svc-rcc,CN=Users,…
	// (an ordinary domain user, which may read users).
	BindDN, Password string
	// AdminDN and AdminPassword are the domain Administrator, which the
	// helper methods use to add and delete users.
	AdminDN, AdminPassword string
	// Version is samba -V, e.g. "Version 4.17.12-Debian".
	Version string
	// Took is how long StartSamba took (provision, schema, users, start).
	Took time.Duration

	dir     string
	netns   string
	pki     *testPKI
	cmd     *exec.Cmd
	done    chan struct{}
	output  *syncBuffer
	fwd     [3]*forwarder // ldap, ldaps, global catalog
	closeMu sync.Mutex
	closed  bool
}

// sambaSeq numbers the namespaces of one process.
var sambaSeq atomic.Int32

// netnsPrefix starts the name of every namespace StartSamba creates; the
// rest is the process ID and a sequence number, so stale namespaces of dead
// test processes can be recognised and removed.
const netnsPrefix = "rccadtest-"

// StartSamba provisions a domain in a temporary directory, extends the
// schema, adds the users and starts samba in a new network namespace. Close
// stops it and removes everything.
func StartSamba(opts SambaOptions) (_ *Samba, err error) {
	start := time.Now()
	if opts.Domain == "" {
		opts.Domain = "example.com"
	}
	if opts.NetBIOS == "" {
		opts.NetBIOS = strings.ToUpper(strings.SplitN(opts.Domain, ".", 2)[0])
	}
	bins := map[string]string{}
	for _, name := range []string{"samba", "samba-tool", "ldbadd", "ldbmodify", "ip"} {
		p, err := lookBinary(name)
		if err != nil {
			return nil, fmt.Errorf("ldaptest: %w: install the Debian packages samba-ad-dc, samba-ad-provision, ldb-tools and iproute2 (go tool task install-test-deps)", err)
		}
		bins[name] = p
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("ldaptest: Samba AD DC needs root (network namespace, samba's own checks); run the tests as root, as CI does")
	}
	dir, err := os.MkdirTemp("", "ldaptest-samba-")
	if err != nil {
		return nil, err
	}
	base := "DC=" + strings.ReplaceAll(opts.Domain, ".", ",DC=")
	s := &Samba{
		BaseDN:        base,
		UsersDN:       "CN=Users," + base,
		Domain:        opts.Domain,
		NetBIOS:       opts.NetBIOS,
		BindDN:        "CN=svc-rcc,CN=Users," + base,
		Password:      complexSecret(),
		AdminDN:       "CN=Administrator,CN=Users," + base,
		AdminPassword: complexSecret(),
		dir:           dir,
		netns:         fmt.Sprintf("%s%d-%d", netnsPrefix, os.Getpid(), sambaSeq.Add(1)),
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if out, err := exec.Command(bins["samba"], "-V").Output(); err == nil {
		s.Version = strings.TrimSpace(string(out))
	}
	removeStaleNamespaces(bins["ip"])

	if s.pki, err = newTestPKI(dir, "dc1."+opts.Domain); err != nil {
		return nil, fmt.Errorf("ldaptest: test CA: %w", err)
	}
	target := filepath.Join(dir, "samba")
	run := func(name string, args ...string) error {
		out, err := exec.Command(bins[name], args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ldaptest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	// --dns-backend=NONE: no DNS zones (and so no DomainDnsZones /
	// ForestDnsZones partitions); the tests name the server by address.
	if err := run("samba-tool", "domain", "provision", "--targetdir="+target,
		"--realm="+strings.ToUpper(opts.Domain), "--domain="+opts.NetBIOS, "--server-role=dc",
		"--dns-backend=NONE", "--host-name=dc1", "--adminpass="+s.AdminPassword); err != nil {
		return nil, err
	}
	conf := filepath.Join(target, "etc", "smb.conf")
	if err := s.adjustConfig(conf); err != nil {
		return nil, fmt.Errorf("ldaptest: %s: %w", conf, err)
	}
	sam := filepath.Join(target, "private", "sam.ldb")
	// The schema objects first, then (in a second process, which loads the
	// extended schema) the User class change and the users.
	schema, classes := lyncSchemaLDIF(base)
	for i, ldif := range []string{schema, classes} {
		path := filepath.Join(dir, fmt.Sprintf("schema%d.ldif", i))
		if err := os.WriteFile(path, []byte(ldif), 0o600); err != nil {
			return nil, err
		}
		if err := run("ldbmodify", "-H", sam, "--option=dsdb:schema update allowed=true", path); err != nil {
			return nil, err
		}
	}
	users, err := s.writeUsers(opts)
	if err != nil {
		return nil, err
	}
	if err := run("ldbadd", "-H", sam, users); err != nil {
		return nil, err
	}
	for _, name := range opts.LDIF {
		if err := run("ldbadd", "-H", sam, name); err != nil {
			return nil, err
		}
	}

	if err := run("ip", "netns", "add", s.netns); err != nil {
		s.netns = ""
		return nil, err
	}
	if err := run("ip", "-n", s.netns, "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	if err := s.startSamba(bins["ip"], bins["samba"], conf); err != nil {
		return nil, err
	}
	for i, port := range []int{389, 636, 3268} {
		if s.fwd[i], err = newForwarder("/run/netns/"+s.netns, "127.0.0.1:"+strconv.Itoa(port)); err != nil {
			return nil, fmt.Errorf("ldaptest: forwarder: %w", err)
		}
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		return nil, fmt.Errorf("ldaptest: samba did not come up: %w\n%s", err, s.output.String())
	}
	s.Took = time.Since(start)
	return s, nil
}

// adjustConfig narrows the provisioned smb.conf to what the tests need: the
// LDAP server only, on the namespace's loopback, with the test PKI, and
// logs in the target directory.
func (s *Samba) adjustConfig(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		key, _, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch strings.TrimSpace(key) {
		case "server services", "log file", "logging", "max log size":
			continue
		}
		out = append(out, line)
		if strings.TrimSpace(line) == "[global]" {
			out = append(out,
				"\tserver services = ldap",
				"\tinterfaces = lo",
				"\tbind interfaces only = yes",
				"\ttls enabled = yes",
				"\ttls keyfile = "+s.pki.keyFile,
				"\ttls certfile = "+s.pki.certFile,
				"\ttls cafile = "+s.pki.caFile,
				"\tlog file = "+filepath.Join(s.dir, "samba.log"),
				// Out of /run/samba, so that several test binaries (and a
				// system samba) can run at once.
				"\tpid directory = "+s.dir,
				"\tncalrpc dir = "+filepath.Join(s.dir, "ncalrpc"),
			)
		}
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o600)
}

// startSamba runs samba in the foreground (-i) with the single process
// model inside the namespace.
func (s *Samba) startSamba(ip, samba, conf string) error {
	cmd := exec.Command(ip, "netns", "exec", s.netns, samba, "-i", "-M", "single", "-s", conf)
	s.output = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	// Its own process group: Close signals samba, not the test. If the
	// test binary dies without Close (a timeout panic, SIGKILL), the
	// kernel kills samba too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ldaptest: start samba: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	return nil
}

// waitReady waits until a simple bind over StartTLS succeeds.
func (s *Samba) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := s.dialAdmin()
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-s.done:
			return errors.New("samba exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeUsers writes the service account, opts.Users and the generated
// users as an LDIF file for ldbadd and returns its path.
func (s *Samba) writeUsers(opts SambaOptions) (string, error) {
	path := filepath.Join(s.dir, "users.ldif")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := newLDIFWriter(f)
	// The service account has a password (unicodePwd: the UTF-16LE of the
	// quoted password, [MS-ADTS] section 3.1.1.3.1.5.1); local ldbadd may
	// set it without an encrypted connection.
	w.attr("dn", s.BindDN)
	w.attr("objectClass", "user")
	w.attr("sAMAccountName", "svc-rcc")
	w.attr("userPrincipalName", "svc-rcc@"+s.Domain)
	w.attr("unicodePwd", utf16le(`"`+s.Password+`"`))
	w.attr("userAccountControl", strconv.Itoa(UFNormalAccount))
	w.end()
	write := func(u User) {
		w.attr("dn", s.UserDN(u))
		for _, a := range u.attributes() {
			w.attr(a[0], a[1])
		}
		w.end()
	}
	for _, u := range opts.Users {
		write(u)
	}
	for i := range opts.Generate {
		write(Numbered(i, s.Domain))
	}
	if err := w.flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// UserDN is the DN u has (or would have) under CN=Users.
func (s *Samba) UserDN(u User) string { return "CN=" + escapeRDN(u.RDN()) + "," + s.UsersDN }

// URL is the plain LDAP URL (use StartTLS), e.g. ldap://127.0.0.1:40123.
func (s *Samba) URL() string { return "ldap://" + s.fwd[0].addr() }

// LDAPSURL is the LDAP-over-TLS URL.
func (s *Samba) LDAPSURL() string { return "ldaps://" + s.fwd[1].addr() }

// GlobalCatalogURL is the global catalog (port 3268 in the namespace), plain
// LDAP: use StartTLS.
func (s *Samba) GlobalCatalogURL() string { return "ldap://" + s.fwd[2].addr() }

// CAPool holds the test CA that signed Samba's certificate (valid for
// 127.0.0.1, localhost and dc1.<domain>).
func (s *Samba) CAPool() *x509.CertPool { return s.pki.pool }

// CAFile is the test CA certificate as a PEM file.
func (s *Samba) CAFile() string { return s.pki.caFile }

// Dir is the directory holding the provisioned domain and the PKI.
func (s *Samba) Dir() string { return s.dir }

// Output is what samba wrote so far (its log at the default level).
func (s *Samba) Output() string { return s.output.String() }

// dialAdmin connects over StartTLS and binds as the Administrator.
func (s *Samba) dialAdmin() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	if err := c.StartTLS(s.tlsConfig()); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Conn returns a connection bound as the Administrator over StartTLS,
// closed when the test ends.
func (s *Samba) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := s.dialAdmin()
	if err != nil {
		t.Fatalf("ldaptest: samba: bind as Administrator: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// AddUser adds u under CN=Users while Samba runs and returns its DN.
func (s *Samba) AddUser(t testing.TB, u User) string {
	t.Helper()
	dn := s.UserDN(u)
	req := ldap.NewAddRequest(dn, nil)
	attrs := map[string][]string{}
	var order []string
	for _, a := range u.attributes() {
		if _, ok := attrs[a[0]]; !ok {
			order = append(order, a[0])
		}
		attrs[a[0]] = append(attrs[a[0]], a[1])
	}
	for _, name := range order {
		req.Attribute(name, attrs[name])
	}
	if err := s.Conn(t).Add(req); err != nil {
		t.Fatalf("ldaptest: samba: add %s: %v", dn, err)
	}
	return dn
}

// DeleteUser deletes the entry dn while Samba runs.
func (s *Samba) DeleteUser(t testing.TB, dn string) {
	t.Helper()
	if err := s.Conn(t).Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("ldaptest: samba: delete %s: %v", dn, err)
	}
}

// Close stops samba, the forwarders and the namespace, and removes the
// directory. It may be called more than once.
func (s *Samba) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, f := range s.fwd {
		if f != nil {
			f.close()
		}
	}
	if s.cmd != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	if s.netns != "" {
		_ = exec.Command("ip", "netns", "del", s.netns).Run()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// removeStaleNamespaces deletes namespaces left by test processes that
// died before Close (their process ID no longer exists).
func removeStaleNamespaces(ip string) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), netnsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			// Whatever still runs in it was started by that test binary.
			out, _ := exec.Command(ip, "netns", "pids", e.Name()).Output()
			for _, f := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
			_ = exec.Command(ip, "netns", "del", e.Name()).Run()
		}
	}
}

// lookBinary finds a program on PATH or in /usr/sbin and /sbin.
func lookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin", name)
}

// complexSecret is a random password that meets AD's default complexity
// rule (three of: upper case, lower case, digits, symbols).
func complexSecret() string { return "Rcc-" + randomSecret() + "-X9" }

// utf16le encodes s as UTF-16LE (for unicodePwd; s is ASCII here).
func utf16le(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	return b.String()
}
