// Package phonetest runs real SIP phones for tests: baresip instances driven over their ctrl_tcp interface, and SIPp scenarios.
//
// The binaries come from Debian packages (baresip, sip-tester) that the
// Taskfile's install-test-deps installs. A missing binary fails the test;
// it never skips it, so CI cannot pass without the real peers.
package phonetest
