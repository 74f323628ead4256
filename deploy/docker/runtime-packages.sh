#!/bin/sh
# runtime-packages.sh BINARY... - prints, one a line, the Debian packages
# holding the shared libraries the binaries load (what the Dockerfile's
# runtime stage installs), so that a new library linked into mnemod (say,
# libmicrohttpd) needs no edit here. Fails, naming it, when a library
# belongs to no package. Run on the build stage, where the binaries were
# linked.
set -eu
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ldd "$@" | awk '/=> \// { print $3 }' | sort -u >"$tmp/libs"
# dpkg records a file under one spelling of the merged /usr: ask for the
# path ldd printed, the resolved one and the /usr-less one, in one query
# (each query reads every package's file list).
while read -r lib; do
    real=$(realpath "$lib")
    printf '%s\n%s\n%s\n' "$lib" "$real" "${real#/usr}"
done <"$tmp/libs" | sort -u >"$tmp/paths"
xargs dpkg-query -S <"$tmp/paths" 2>/dev/null >"$tmp/owners" || true
# "pkg:arch: /path" (or "pkg1, pkg2: /path" for a shared directory).
while read -r lib; do
    real=$(realpath "$lib")
    pkg=$(awk -v a="$lib" -v b="$real" -v c="${real#/usr}" '
        { path = $NF; if (path == a || path == b || path == c) { sub(/:.*/, ""); print; exit } }' \
        "$tmp/owners")
    if [ -z "$pkg" ]; then
        echo "runtime-packages.sh: no package holds $lib" >&2
        exit 1
    fi
    echo "$pkg"
done <"$tmp/libs" >"$tmp/packages"
sort -u "$tmp/packages"
