package directory

import "errors"

// Sentinel errors. Functions wrap them with context (fmt.Errorf("…: %w")),
// so test for them with errors.Is.
var (
	// ErrNotFound: no user has this SIP address or line URI.
	ErrNotFound = errors.New("not in the directory")

	// ErrAmbiguous: more than one user has this line URI (after
	// normalisation), so the line cannot identify a user.
	ErrAmbiguous = errors.New("line URI belongs to more than one user")

	// ErrNotLoaded: the directory has no data yet (Start has not succeeded).
	ErrNotLoaded = errors.New("directory not loaded yet")

	// ErrInvalidConfig: the configuration is wrong; the *ConfigError that
	// wraps it names the key.
	ErrInvalidConfig = errors.New("invalid directory configuration")

	// ErrInsecureBind: a simple bind would send the password without TLS
	// and AllowInsecure is not set.
	ErrInsecureBind = errors.New("refusing simple bind without TLS (use ldaps:// or start_tls)")

	// ErrUnreachable: the LDAP server could not be reached (the TCP
	// connection failed or timed out), or an established connection broke.
	ErrUnreachable = errors.New("LDAP server unreachable")

	// ErrTLS: the TCP connection was made but TLS failed: the server's
	// certificate did not verify (unknown authority, wrong name, expired),
	// the server refused StartTLS, or the handshake failed. The message
	// names the cause.
	ErrTLS = errors.New("TLS with the LDAP server failed")

	// ErrBind: the server refused the bind (wrong name or password, locked
	// account, TLS required, …).
	ErrBind = errors.New("LDAP bind failed")

	// ErrSearch: the server answered a search with an error (e.g. a size
	// limit, a bad base DN or filter, no access).
	ErrSearch = errors.New("LDAP search failed")

	// ErrNoNetBIOS: the NetBIOS domain name is neither configured nor
	// found under CN=Partitions.
	ErrNoNetBIOS = errors.New("NetBIOS domain name not found")

	// ErrEmpty: a load returned no usable users (a filter naming an
	// attribute the schema lacks makes AD answer success with 0 entries).
	ErrEmpty = errors.New("directory source returned no users")

	// ErrShrunk: a refresh returned far fewer users than the directory has
	// (see CacheOptions.MaxShrinkPercent) and was refused.
	ErrShrunk = errors.New("directory refresh refused: far fewer users than before")

	// ErrSnapshot: the snapshot file could not be read or written.
	ErrSnapshot = errors.New("directory snapshot")
)
