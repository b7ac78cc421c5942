package directory

// Log codes of the directory: the "code" field of its log lines, in the
// Cs_ convention of the server's codes (rccserver/logcodes.go);
// docs/troubleshooting.md explains each.
const (
	// CodeEmpty: a load returned no usable users. At start it is an error
	// (no empty directory is served); on a refresh the current data stays.
	CodeEmpty = "Cs_DirectoryEmpty"
	// CodeShrunk: a refresh returned far fewer users than the directory
	// has (more than CacheOptions.MaxShrinkPercent fewer); it is refused
	// and the current data stays.
	CodeShrunk = "Cs_DirectoryShrunk"
)
