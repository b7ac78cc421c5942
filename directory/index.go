package directory

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Skip is a directory object left out of the directory, and why.
type Skip struct {
	DN     string `json:"dn"`
	Reason string `json:"reason"`
}

// LineConflict is a line URI that several users have; lookups of that line
// return ErrAmbiguous. The users stay in the directory.
type LineConflict struct {
	LineURI string   // normalised
	DNs     []string // the users that share it
}

// ambiguous marks a line key that several entries share.
const ambiguous = -1

// index is one immutable, fully built generation of the directory. Lookups
// read it without locks; a refresh builds a new one and swaps the pointer.
type index struct {
	entries  []Entry
	bySIP    map[string]int // NormalizeSIPAddress -> entries[i]
	byLine   map[string]int // line URI as stored -> entries[i] or ambiguous
	byLineN  map[string]int // NormalizeLineURI -> entries[i] or ambiguous
	skipped  []Skip
	conflict []LineConflict

	loaded       time.Time // when the data was loaded from the source
	fromSnapshot bool      // the data came from the snapshot file
	pages        int       // LDAP pages the load fetched
}

// buildIndex validates the candidates and indexes the good ones. It skips
// (and reports) entries without a valid SIP address, without a domain
// account, or with a malformed line URI, and every entry whose SIP address
// appears more than once: picking one of them could admit the wrong
// account. Users sharing a line stay, but the line is ambiguous.
func buildIndex(candidates []Entry) *index {
	ix := &index{
		entries: make([]Entry, 0, len(candidates)),
		bySIP:   make(map[string]int, len(candidates)),
	}

	// Pass 1: per-entry checks, and who uses each SIP address (first user
	// in first, all users of shared addresses in dups). keys holds each
	// valid entry's normalised SIP address ("" for invalid ones), computed
	// once.
	keys := make([]string, len(candidates))
	first := ix.bySIP // becomes bySIP in pass 2
	var dups map[string][]int
	for i := range candidates {
		e := &candidates[i]
		k := NormalizeSIPAddress(e.SIPAddress)
		if reason := checkEntry(e, k); reason != "" {
			ix.skipped = append(ix.skipped, Skip{DN: e.DN, Reason: reason})
			continue
		}
		keys[i] = k
		j, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		if dups == nil {
			dups = map[string][]int{}
		}
		if dups[k] == nil {
			dups[k] = []int{j}
		}
		dups[k] = append(dups[k], i)
	}

	// Pass 2: keep entries whose SIP address is unique, re-pointing their
	// key from the candidate to the kept entry (an update of an existing
	// key, cheaper than filling a second map).
	for i := range candidates {
		k := keys[i]
		if k == "" {
			continue
		}
		e := candidates[i]
		if h := dups[k]; len(h) > 1 {
			ix.skipped = append(ix.skipped, Skip{DN: e.DN, Reason: fmt.Sprintf(
				"duplicate SIP address %s, also on %s", e.SIPAddress, otherDNs(candidates, h, i))})
			delete(ix.bySIP, k)
			continue
		}
		ix.bySIP[k] = len(ix.entries)
		ix.entries = append(ix.entries, e)
	}

	// Pass 3: lines, grouped by normalised form.
	ix.byLine = map[string]int{} // lines not stored in normal form only
	ix.byLineN = make(map[string]int, len(ix.entries))
	var shared map[string][]int
	for i := range ix.entries {
		line := ix.entries[i].LineURI
		if line == "" {
			continue
		}
		n := NormalizeLineURI(line)
		j, seen := ix.byLineN[n]
		if !seen {
			ix.byLineN[n] = i
			if line != n {
				// Only lines not stored in normal form need the exact
				// map: a lookup of a normal line finds it in byLineN.
				ix.byLine[line] = i
			}
			continue
		}
		if shared == nil {
			shared = map[string][]int{}
		}
		if j != ambiguous {
			shared[n] = []int{j}
		}
		shared[n] = append(shared[n], i)
		ix.byLineN[n] = ambiguous
	}
	for n, users := range shared {
		c := LineConflict{LineURI: n}
		for _, i := range users {
			ix.byLine[ix.entries[i].LineURI] = ambiguous
			c.DNs = append(c.DNs, ix.entries[i].DN)
		}
		ix.conflict = append(ix.conflict, c)
	}
	slices.SortFunc(ix.conflict, func(a, b LineConflict) int { return strings.Compare(a.LineURI, b.LineURI) })
	return ix
}

// checkEntry returns why e cannot be used, or "". key is
// NormalizeSIPAddress(e.SIPAddress).
func checkEntry(e *Entry, key string) string {
	if err := validSIPKey(e.SIPAddress, key); err != nil {
		return err.Error()
	}
	if e.Account.SAM == "" {
		return "no sAMAccountName"
	}
	if strings.ContainsAny(e.Account.SAM, `\@/ `) {
		return fmt.Sprintf("malformed sAMAccountName %q", e.Account.SAM)
	}
	if e.Account.Domain == "" {
		return "no NetBIOS domain name"
	}
	if err := validLineURI(e.LineURI); err != nil {
		return err.Error()
	}
	return ""
}

func otherDNs(c []Entry, holders []int, self int) string {
	var dns []string
	for _, h := range holders {
		if h != self {
			dns = append(dns, c[h].DN)
		}
	}
	return strings.Join(dns, "; ")
}

// lookupSIP finds an entry by SIP address.
func (ix *index) lookupSIP(address string) (Entry, error) {
	if i, ok := ix.bySIP[NormalizeSIPAddress(address)]; ok {
		return ix.entries[i], nil
	}
	return Entry{}, fmt.Errorf("SIP address %q: %w", address, ErrNotFound)
}

// lookupLine finds an entry by line URI: exact match first, then normalised.
func (ix *index) lookupLine(uri string) (Entry, error) {
	uri = strings.TrimSpace(uri)
	i, ok := ix.byLine[uri]
	if !ok {
		i, ok = ix.byLineN[NormalizeLineURI(uri)]
	}
	switch {
	case !ok:
		return Entry{}, fmt.Errorf("line URI %q: %w", uri, ErrNotFound)
	case i == ambiguous:
		return Entry{}, fmt.Errorf("line URI %q: %w", uri, ErrAmbiguous)
	}
	return ix.entries[i], nil
}
