// Package debian holds the Debian package build of rccserver: build.sh, run by
// `go tool task deb`, and the test that builds the package and checks it.
package debian
