// Package phonetest runs real SIP phones for tests: baresip instances driven over their ctrl_tcp interface, twinkle-console phones that auto-answer on Call-Info/Alert-Info hints, and SIPp scenarios.
//
// The binaries come from Debian packages (baresip, twinkle-console,
// sip-tester) that the Taskfile's install-test-deps installs. A missing binary fails the test;
// it never skips it, so CI cannot pass without the real peers.
package phonetest
