#!/bin/bash
# Builds the Debian package: build.sh VERSION OUTDIR (go tool task deb).
# Contents: /usr/bin/rccserver, the systemd unit of examples/, the example
# configuration in /etc/rccserver (conffiles), a system user made by
# postinst. docs/operations.md "Debian package" says what it does.
set -euo pipefail
version=${1:?version}
out=${2:?output directory}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Debian versions start with a digit; git describe may give a bare hash.
v=${version#v}
[[ $v =~ ^[0-9]+\.[0-9] ]] || v="0~git$v"
v=${v//-/+}
debversion="$v-1"
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/rccserver"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/rccserver" \
	"$pkg/usr/share/doc/rccserver/examples"

# A static binary: it runs on any Debian 12 without matching libc.
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$version" -o "$pkg/usr/bin/rccserver" ./rccserver/cmd/rccserver)

# The unit as in examples/, with the packaged binary's path.
sed 's|/usr/local/bin/rccserver|/usr/bin/rccserver|g' "$root/examples/rccserver.service" > "$pkg/lib/systemd/system/rccserver.service"

# One configuration file: the embedded default (loopback only) with its
# contact-center part, the directory file by absolute path.
{
	echo "# rccserver configuration (docs/configuration.md). Installed by the package"
	echo "# as the embedded demo default: loopback only, public demo passwords."
	echo "# Change it before opening any listener (docs/install.md)."
	sed 's|file: directory.yaml|file: /etc/rccserver/directory.yaml|' "$root/examples/rccserver.yaml"
	echo
	cat "$root/examples/station.yaml"
} > "$pkg/etc/rccserver/rccserver.yaml"
install -m 0644 "$root/examples/directory.yaml" "$pkg/etc/rccserver/directory.yaml"
chmod 0644 "$pkg/etc/rccserver/rccserver.yaml"
printf '/etc/rccserver/rccserver.yaml\n/etc/rccserver/directory.yaml\n' > "$pkg/DEBIAN/conffiles"

install -m 0644 "$root/LICENSE" "$pkg/usr/share/doc/rccserver/copyright"
install -m 0644 "$root/examples/grafana/rccserver-dashboard.json" "$root/examples/prometheus/rccserver-alerts.yaml" \
	"$pkg/usr/share/doc/rccserver/examples/"

for f in postinst prerm postrm; do
	install -m 0755 "$here/$f" "$pkg/DEBIAN/$f"
done
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/control.in" > "$pkg/DEBIAN/control"

mkdir -p "$out"
dpkg-deb --root-owner-group --build "$pkg" "$out/rccserver_${debversion}_${arch}.deb" >/dev/null
echo "$out/rccserver_${debversion}_${arch}.deb"
