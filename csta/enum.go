package csta

// enumTable maps the tokens of one ECMA-323 enumeration to a typed value.
// Index 0 is the Unknown zero value and has no token.
type enumTable[E ~int] struct {
	name   string // the schema type, for error messages
	tokens []string
	index  map[string]E
}

func newEnumTable[E ~int](name string, tokens []string, aliases map[string]E) *enumTable[E] {
	t := &enumTable[E]{name: name, tokens: tokens, index: make(map[string]E, len(tokens)+len(aliases))}
	for i, tok := range tokens {
		if i > 0 {
			t.index[tok] = E(i)
		}
	}
	for tok, v := range aliases {
		t.index[tok] = v
	}
	return t
}

func (t *enumTable[E]) String(v E) string {
	if int(v) < len(t.tokens) && v != 0 {
		return t.tokens[v]
	}
	return "Unknown"
}

func (t *enumTable[E]) parse(s string) (E, error) {
	if v, ok := t.index[s]; ok {
		return v, nil
	}
	return 0, invalid(t.name, s)
}

func (t *enumTable[E]) marshal(v E) ([]byte, error) {
	if v == 0 || int(v) >= len(t.tokens) {
		return nil, invalid(t.name, "Unknown")
	}
	return []byte(t.tokens[v]), nil
}
