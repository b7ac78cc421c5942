#!/bin/sh
# The same TLS client hop as stunnel.conf, with socat, for a quick try
# (run in a devpki directory; see docs/tls.md):
#   sh socat.sh [listen-port] [rccserver-host:port]
# then: sipp -sf rcc_tls.xml -t t1 -m 1 127.0.0.1:15061
set -eu
LISTEN=${1:-15061}
SERVER=${2:-127.0.0.1:11001}
exec socat -d -d "TCP-LISTEN:${LISTEN},bind=127.0.0.1,reuseaddr,fork" \
  "OPENSSL:${SERVER},cert=lyncpool.pem,key=lyncpool-key.pem,cafile=ca.pem,commonname=rcc.example.com,openssl-min-proto-version=TLS1.2"
