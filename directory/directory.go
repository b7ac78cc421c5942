package directory

// Directory answers who a Lync user is. Lookups are answered from memory and
// never wait for a directory server; they are safe for concurrent use.
type Directory interface {
	// LookupSIP finds the user with this SIP address. The address may come
	// with or without the sip: scheme, in angle brackets, with URI
	// parameters, and in any case: <SIP:Alice@Example.com;transport=tls>
	// finds sip:alice@example.com (see NormalizeSIPAddress). It returns
	// ErrNotFound (wrapped) when nobody has it.
	LookupSIP(address string) (Entry, error)

	// LookupLine finds the user whose line URI (msRTCSIP-Line) is uri:
	// first as given, then in normalised form (see NormalizeLineURI), so
	// tel:+13175551010 finds TEL:+1 (317) 555-1010. It returns ErrNotFound
	// when nobody has the line and ErrAmbiguous when several users do.
	LookupLine(uri string) (Entry, error)
}
