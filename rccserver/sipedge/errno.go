package sipedge

import (
	"errors"
	"syscall"
)

// isResourceErr: the errnos accept(2) returns for a shortage or a peer
// that went away before it was accepted, all worth a retry.
func isResourceErr(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPERM, syscall.EPROTO, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
