#!/bin/sh
# runtime-packages.sh BINARY... - prints, one a line, the Debian packages
# holding the shared libraries the binaries load (what the Dockerfile's
# runtime stage installs), so that a new library linked into mnemod (say,
# libmicrohttpd) needs no edit here. Fails, naming it, when a library
# belongs to no package. Run on the build stage, where the binaries were
# linked.
set -eu
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }
libs=$(ldd "$@" | awk '/=> \// { print $3 }' | sort -u)
for lib in $libs; do
    # dpkg records a file under one spelling of the merged /usr: try the
    # path ldd printed, then the resolved one, then the /usr-less one.
    real=$(realpath "$lib")
    pkg=
    for p in "$lib" "$real" "${real#/usr}"; do
        pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$pkg" ] && break
    done
    if [ -z "$pkg" ]; then
        echo "runtime-packages.sh: no package holds $lib" >&2
        exit 1
    fi
    echo "$pkg"
done | sort -u
