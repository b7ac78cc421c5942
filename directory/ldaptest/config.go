package ldaptest

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// adLyncSchema is testdata/ad-lync.schema: the AD user, container and
// crossRef classes with the msRTCSIP-* attributes, under their AD OIDs.
//
//go:embed testdata/ad-lync.schema
var adLyncSchema []byte

// Well-known locations of the Debian slapd package; other layouts are tried
// after them.
var (
	schemaDirs = []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"}
	moduleDirs = []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap"}
)

// slapdConf is the server configuration (slapd.conf(5)). Notes:
//   - limits: a non-root bind gets at most SizeLimit entries from an unpaged
//     search (result code 4, sizeLimitExceeded), like AD's MaxPageSize, but
//     any total through paged results (size.prtotal=unlimited; without it
//     slapd's default sizelimit also caps the total of a paged search by a
//     non-root bind, slapd.conf(5) "limits");
//   - ACLs: anonymous users may only bind (and read the root DSE), users
//     read everything but passwords;
//   - security simple_bind: with RequireTLS, simple binds need TLS, like AD
//     with LDAP signing enforced.
var slapdConf = template.Must(template.New("slapd.conf").Parse(`# written by ldaptest
include {{.SchemaDir}}/core.schema
include {{.SchemaDir}}/cosine.schema
include {{.SchemaDir}}/inetorgperson.schema
include {{.Dir}}/ad-lync.schema
{{- if .ModuleDir}}
modulepath {{.ModuleDir}}
moduleload back_mdb
{{- end}}
pidfile {{.Dir}}/slapd.pid
argsfile {{.Dir}}/slapd.args
TLSCACertificateFile {{.CAFile}}
TLSCertificateFile {{.CertFile}}
TLSCertificateKeyFile {{.KeyFile}}
{{- if .RequireTLS}}
security simple_bind=64
{{- end}}
sizelimit {{.SizeLimit}}

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
maxsize 4294967296
suffix "{{.BaseDN}}"
rootdn "{{.RootDN}}"
rootpw {{.RootPassword}}
directory {{.Dir}}/db
index objectClass eq
index msRTCSIP-PrimaryUserAddress,msRTCSIP-Line,sAMAccountName eq,pres
limits users size.soft={{.SizeLimit}} size.hard={{.SizeLimit}} size.pr={{.SizeLimit}} size.prtotal=unlimited
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
`))

type confData struct {
	Dir, SchemaDir, ModuleDir string
	CAFile, CertFile, KeyFile string
	BaseDN, RootDN            string
	RootPassword              string
	SizeLimit                 int
	RequireTLS                bool
}

// writeConfig writes slapd.conf and the schema into dir and returns the
// path of slapd.conf.
func writeConfig(d confData) (string, error) {
	var err error
	if d.SchemaDir, err = firstExisting(schemaDirs, "core.schema"); err != nil {
		return "", fmt.Errorf("OpenLDAP schema directory: %w (install slapd)", err)
	}
	// No module directory means a slapd with back_mdb built in.
	d.ModuleDir, _ = firstExisting(moduleDirs, "back_mdb.la")
	if err := os.WriteFile(filepath.Join(d.Dir, "ad-lync.schema"), adLyncSchema, 0o600); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(d.Dir, "db"), 0o700); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := slapdConf.Execute(&b, d); err != nil {
		return "", err
	}
	path := filepath.Join(d.Dir, "slapd.conf")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// firstExisting returns the first directory in dirs that holds file.
func firstExisting(dirs []string, file string) (string, error) {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, file)); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no %s in %s", file, strings.Join(dirs, ", "))
}
