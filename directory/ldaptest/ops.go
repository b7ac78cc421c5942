package ldaptest

import (
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Conn returns a connection bound as the rootdn over plain LDAP, closed when
// the test ends.
func (s *Server) Conn() *ldap.Conn {
	s.t.Helper()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		s.t.Fatalf("ldaptest: dial %s: %v", s.URL(), err)
	}
	c.SetTimeout(10 * time.Second)
	s.t.Cleanup(func() { c.Close() })
	if err := c.Bind(s.RootDN, s.RootPassword); err != nil {
		c.Close()
		s.t.Fatalf("ldaptest: bind as rootdn: %v", err)
	}
	return c
}

// AddUser adds u under CN=Users while the server runs and returns its DN.
func (s *Server) AddUser(u User) string {
	s.t.Helper()
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
	c := s.Conn()
	defer c.Close()
	if err := c.Add(req); err != nil {
		s.t.Fatalf("ldaptest: add %s: %v", dn, err)
	}
	return dn
}

// DeleteUser deletes the entry dn while the server runs.
func (s *Server) DeleteUser(dn string) {
	s.t.Helper()
	c := s.Conn()
	defer c.Close()
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		s.t.Fatalf("ldaptest: delete %s: %v", dn, err)
	}
}
