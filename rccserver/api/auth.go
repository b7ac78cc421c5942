package api

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// tokens checks bearer tokens (RFC 6750 §2.1, Authorization header only:
// tokens in URLs end up in logs) against the configured hashes.
type tokens struct {
	list   []Token
	hashes [][]byte
}

func newTokens(list []Token) *tokens {
	t := &tokens{list: list}
	for _, tok := range list {
		b, _ := hex.DecodeString(strings.ToLower(tok.SHA256))
		t.hashes = append(t.hashes, b)
	}
	return t
}

// check returns the token r presents, or ErrUnauthorized. Every hash is
// compared in constant time so timing says nothing about which matched.
func (t *tokens) check(r *http.Request) (*Token, error) {
	h := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("%w: no bearer token", ErrUnauthorized)
	}
	sum, _ := hex.DecodeString(HashToken(strings.TrimSpace(value)))
	var found *Token
	for i, want := range t.hashes {
		if subtle.ConstantTimeCompare(sum, want) == 1 {
			found = &t.list[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: token matches no api.tokens hash", ErrUnauthorized)
	}
	return found, nil
}
