package e2e_test

import (
	"bytes"
	"context"
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

	"github.com/rccserver/rccserver/certs"
	"github.com/rccserver/rccserver/csta"
	"github.com/rccserver/rccserver/directory/ldaptest"
	"github.com/rccserver/rccserver/rccserver/api"
	"github.com/rccserver/rccserver/rccserver/lynctest"
	"github.com/rccserver/rccserver/station/switching/phonetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the rccserver command once per test run.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rccserver-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rccserver")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/rccserver/rccserver/rccserver/cmd/rccserver").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// site is one running rccserver binary with its directory and phones.
type site struct {
	t        testing.TB
	ldap     *ldaptest.Server // nil when the directory is Samba
	rccAddr  string
	tlsAddr  string // the tls listener, when siteOptions.tls is set
	phoneReg string // the switch's UDP address phones register at
	admin    string // admin listener
	api      string // API listener, when siteOptions.api is set
	config   string // the configuration file
	cmd      *exec.Cmd
	logs     *syncBuffer
	exited   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// adUsers are the Active Directory users of every site: RCC-enabled alice
// and bob, carol without the RCC option flag, mallory whose contact-center
// user has no client licence, eve whose line is alice's station, and judy,
// RCC-enabled in Lync but whose Windows account is disabled.
func adUsers() []ldaptest.User {
	u := func(sam, line string, flags int) ldaptest.User {
		return ldaptest.User{SAMAccountName: sam, UPN: sam + "@example.com", SIPAddress: "sip:" + sam + "@example.com",
			Line: line, LineServer: "sip:rcc@rcc.example.com", DisplayName: sam, OptionFlags: flags}
	}
	judy := u("judy", "tel:+13175551050", 16)
	judy.AccountDisabled = true
	return []ldaptest.User{
		u("alice", "tel:+13175551010", 16),
		u("bob", "tel:+13175551020", 16),
		u("carol", "tel:+13175551030", 0),
		u("mallory", "tel:+13175551040", 16),
		u("eve", "tel:+13175551010", 16),
		judy,
	}
}

// contactCenter is the users/stations part of the configuration.
func contactCenter(features, moreUsers, moreStations, trunk string) string {
	user := func(id, ext string, licence bool) string {
		return fmt.Sprintf("  - {id: %s, display_name: %s, domain_account: 'EXAMPLE\\%s', extension: %q, client_license: %v, user_type: RemoteCallControl}\n", id, id, id, ext, licence)
	}
	stationYAML := func(ext string) string {
		return fmt.Sprintf("  - {name: %q, extension: %q, identification_address: \"tel:+1317555%s\", connection: {kind: registered, username: %q, password: demo-%s}, answer_method: talkEvent, active: true}\n", ext, ext, ext, ext, ext)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "licensing:\n  features: [%s]\n  client_licenses: 10\nusers:\n", features)
	b.WriteString(user("alice", "1010", true) + user("bob", "1020", true) + user("mallory", "1040", false) + user("eve", "1010", true) +
		user("dave", "1030", true) + moreUsers)
	b.WriteString("stations:\n")
	for _, ext := range []string{"1010", "1020", "1030", "1040"} {
		b.WriteString(stationYAML(ext))
	}
	b.WriteString(moreStations)
	if trunk == "" {
		trunk = "127.0.0.1:9" // nothing listens: calls to the outside fail
	}
	fmt.Fprintf(&b, "trunk: {proxy: %q, transport: udp}\n", trunk)
	return b.String()
}

// dialPlan is the demo dial plan of examples/station.yaml.
func dialPlan(t testing.TB) string {
	b, err := os.ReadFile("../../examples/station.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return s[strings.Index(s, "dialplan:"):]
}

func freeTCPPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSite starts slapd and the rccserver binary on free loopback ports.
func startSite(t *testing.T, features string) *site {
	t.Helper()
	return startSiteWith(t, siteOptions{features: features})
}

// siteOptions vary a site: licences, a trunk, more users.
type siteOptions struct {
	features string
	trunk    string          // host:port of the trunk (udp); default a dead port
	adUsers  []ldaptest.User // added to adUsers()
	ccUsers  string          // YAML lines added to users:
	stations string          // YAML lines added to stations:
	env      []string        // added to the server's environment
	tls      *certs.DevFiles // adds a tls listener with this PKI; its address is site.tlsAddr
	phoneTCP bool            // the switch also listens on TCP, at phoneReg's port
	limits   string          // YAML flow mapping for listen.limits, e.g. "{idle_timeout: 2}"
	phoneLim string          // the same for phones.limits
	wrap     []string        // a command the binary runs under, e.g. prlimit
	// api turns the API listener on with e2eAllToken ("*") and e2eOneToken (1010 only).
	api bool
	// cluster is the YAML flow mapping of the cluster section, e.g.
	// `{etcd: ["http://127.0.0.1:2379"], node_id: a}`; "" leaves it out.
	cluster string
	// frontEnds is the YAML flow sequence of listen.front_ends, e.g. `["127.0.0.1"]`.
	frontEnds string
	// samba makes the directory the package's shared Samba AD DC (with
	// adUsers(); adUsers above is ignored) instead of a new slapd.
	samba bool
	// phoneAccess is the YAML flow sequence of phones.access; "" leaves it out.
	phoneAccess string
}

func startSiteWith(t testing.TB, o siteOptions) *site {
	t.Helper()
	features := o.features
	s := &site{t: t, logs: &syncBuffer{}, exited: make(chan error, 1)}
	var url, caFile, bindDN, password, baseDN string
	if o.samba {
		sb := sharedSamba(t)
		url, caFile, bindDN, password, baseDN = sb.URL(), sb.CAFile(), sb.BindDN, sb.Password, sb.BaseDN
	} else {
		s.ldap = ldaptest.Start(t, ldaptest.Options{Users: append(adUsers(), o.adUsers...)})
		url, caFile, bindDN, password, baseDN = s.ldap.URL(), s.ldap.CAFile(), s.ldap.BindDN, s.ldap.Password, s.ldap.BaseDN
	}
	rccPort, phonePort := freeTCPPort(t), phonetest.FreePort(t)
	s.rccAddr = "127.0.0.1:" + strconv.Itoa(rccPort)
	s.phoneReg = "127.0.0.1:" + strconv.Itoa(phonePort)
	s.admin = "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	listeners := fmt.Sprintf("{transport: tcp, addr: %q}", s.rccAddr)
	if o.tls != nil {
		s.tlsAddr = "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
		listeners += fmt.Sprintf(", {transport: tls, addr: %q, cert: %q, key: %q}", s.tlsAddr, o.tls.ServerCert, o.tls.ServerKey)
	}
	phoneListen := fmt.Sprintf("{network: udp, addr: %q}", s.phoneReg)
	if o.phoneTCP {
		phoneListen += fmt.Sprintf(", {network: tcp, addr: %q}", s.phoneReg)
	}
	limits, phoneLim := o.limits, o.phoneLim
	if limits == "" {
		limits = "{}"
	}
	if phoneLim == "" {
		phoneLim = "{}"
	}
	if o.frontEnds != "" {
		limits += "\n  front_ends: " + o.frontEnds
	}
	clusterYAML := ""
	if o.cluster != "" {
		clusterYAML = "cluster: " + o.cluster + "\n"
	}
	apiYAML := ""
	if o.api {
		s.api = "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
		apiYAML = fmt.Sprintf("api:\n  listen: %q\n  buffer: 64\n  tokens:\n    - {name: all, sha256: %s, stations: [\"*\"]}\n    - {name: one, sha256: %s, stations: [\"1010\"]}\n",
			s.api, api.HashToken(e2eAllToken), api.HashToken(e2eOneToken))
	}
	if o.phoneAccess != "" {
		phoneLim += "\n  access: " + o.phoneAccess
	}
	cfg := fmt.Sprintf(`listen:
  listeners: [%s]
  domains: [rcc.example.com]
  limits: %s
session: {session_expires: 1800, min_se: 90, keepalive: 60}
phones:
  listen: [%s]
  limits: %s
  domain: rcc.example.com
  ring_timeout: 15
  no_answer_timeout: 30
directory:
  kind: ldap
  url: %q
  start_tls: true
  ca_file: %q
  server_name: localhost
  bind_dn: %q
  bind_password: %q
  base_dn: %q
log: {level: debug, format: json}
admin: {listen: %q}
%s%s%s%s`, listeners, limits, phoneListen, phoneLim, url, caFile, bindDN, password, baseDN, s.admin, apiYAML, clusterYAML,
		contactCenter(features, o.ccUsers, o.stations, o.trunk), dialPlan(t))
	path := filepath.Join(t.TempDir(), "rccserver.yaml")
	s.config = path
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, o.wrap...), binary(t), "-config", path)
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.Dir = filepath.Dir(path) // the default state.file lands in the site's own directory
	s.cmd.Env = append(os.Environ(), o.env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", s.rccAddr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-s.exited:
			t.Fatalf("rccserver exited: %v\n%s", err, s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rccserver not listening on %s\n%s", s.rccAddr, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// logged reports whether the server's log contains all of subs within 5 s:
// a line is written before the answer goes out, but reaches the test's
// buffer through a pipe, possibly after the answer.
func (s *site) logged(subs ...string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		all := true
		logs := s.logs.String()
		for _, sub := range subs {
			all = all && strings.Contains(logs, sub)
		}
		if all || time.Now().After(deadline) {
			return all
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit within the shutdown bound.
func (s *site) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Errorf("rccserver exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("rccserver did not stop within 15 s of SIGTERM")
	}
	if s.t.Failed() {
		s.t.Logf("rccserver log:\n%s", s.logs.String())
	}
	s.cmd.Process = nil
}

// phone starts a baresip station registered with the site's switch.
func (s *site) phone(ext, answer string) *phonetest.Phone {
	s.t.Helper()
	p := phonetest.StartBaresip(s.t, phonetest.Options{User: ext, Password: "demo-" + ext, Registrar: s.phoneReg, AnswerMode: answer})
	// REGISTER_OK may fire before ctrl_tcp is connected; ask baresip instead.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := p.Command("reginfo", "")
		if err == nil && strings.Contains(out, "OK") {
			return p
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("phone %s did not register: %q %v", ext, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lync signs a Lync-shaped client in; the error carries the refusal's reason phrase.
func (s *site) lync(user, line string) (*lynctest.Client, int, string) {
	s.t.Helper()
	c, err := lynctest.New(lynctest.Options{Server: s.rccAddr, User: user, Line: line, Domain: "rcc.example.com"})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.SignIn(ctx)
	if res == nil {
		s.t.Fatalf("sign-in of %s: %v", user, err)
	}
	if res.StatusCode == 200 {
		if m, derr := csta.Decode(res.Body()); derr == nil {
			return c, 200, m.(*csta.RequestSystemStatusResponse).SystemStatus.String()
		}
	}
	return c, res.StatusCode, res.Reason
}

// request sends one CSTA request and returns the answer.
func request(t *testing.T, c *lynctest.Client, msg csta.Message) csta.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, _, err := c.Request(ctx, msg)
	if err != nil {
		t.Fatalf("%s: %v", msg.Root(), err)
	}
	return ans
}

// expect reads events until one of type T arrives (skipping none: every
// event read must be in want order) and returns it.
func next[T csta.Message](t *testing.T, c *lynctest.Client) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ev, err := c.NextEvent(ctx)
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v", zero, err)
	}
	m, ok := ev.Msg.(T)
	if !ok {
		var zero T
		t.Fatalf("got %s, want %T", ev.Msg.Root(), zero)
	}
	return m
}
