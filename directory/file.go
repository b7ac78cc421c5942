package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// fileDoc is the YAML user file: the same fields as Entry (and as the JSON
// snapshot), plus a default domain.
type fileDoc struct {
	// Domain is the NetBIOS domain of accounts written without one
	// (account: alice).
	Domain string     `yaml:"domain"`
	Users  []fileUser `yaml:"users"`
}

type fileUser struct {
	DN            string  `yaml:"dn"`
	SIPAddress    string  `yaml:"sip_address"`
	Account       Account `yaml:"account"`
	UPN           string  `yaml:"upn"`
	DisplayName   string  `yaml:"display_name"`
	Telephone     string  `yaml:"telephone"`
	LineURI       string  `yaml:"line_uri"`
	LineServerURI string  `yaml:"line_server_uri"`
	// RCCEnabled and Enabled default to true: the file lists RCC users.
	RCCEnabled *bool `yaml:"rcc_enabled"`
	Enabled    *bool `yaml:"enabled"`
	// AccountDisabled marks a disabled Windows account (default false).
	AccountDisabled bool `yaml:"account_disabled"`
}

// FileSource loads users from a YAML file, read again on every Load (so a
// reload picks up edits), or from fixed bytes (an embedded default).
type FileSource struct {
	path string
	data []byte
}

// NewFileSource returns a source reading the YAML file at path.
func NewFileSource(path string) *FileSource { return &FileSource{path: path} }

// NewBytesSource returns a source for YAML held in memory; name labels it
// in logs and entry DNs.
func NewBytesSource(name string, data []byte) *FileSource {
	return &FileSource{path: name, data: data}
}

// Name is the file name.
func (f *FileSource) Name() string { return "file " + f.path }

// Load parses the file. A syntax error or an unknown key fails the load;
// bad users are returned for the cache to skip.
func (f *FileSource) Load(ctx context.Context) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	data := f.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.path); err != nil {
			return Batch{}, fmt.Errorf("read directory file: %w", err)
		}
	}
	return parseFile(f.path, data)
}

// parseFile decodes the YAML strictly (unknown keys are errors, so a typo
// cannot silently drop a field) and turns users into entries; users get
// DN name#N (N counting from 1) unless they set dn.
func parseFile(name string, data []byte) (Batch, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Batch{}, fmt.Errorf("directory file %s: %w", name, err)
	}
	b := Batch{Entries: make([]Entry, 0, len(doc.Users))}
	for i, u := range doc.Users {
		e := Entry{
			DN:              u.DN,
			SIPAddress:      u.SIPAddress,
			Account:         u.Account,
			UPN:             u.UPN,
			DisplayName:     u.DisplayName,
			Telephone:       u.Telephone,
			LineURI:         u.LineURI,
			LineServerURI:   u.LineServerURI,
			RCCEnabled:      u.RCCEnabled == nil || *u.RCCEnabled,
			Enabled:         u.Enabled == nil || *u.Enabled,
			AccountDisabled: u.AccountDisabled,
		}
		if e.DN == "" {
			e.DN = name + "#" + strconv.Itoa(i+1)
		}
		if e.Account.Domain == "" {
			e.Account.Domain = doc.Domain
		}
		b.Entries = append(b.Entries, e)
	}
	return b, nil
}
