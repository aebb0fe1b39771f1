#!/usr/bin/env bash
# Builds a Go program of the project offline, GOPATH layout (GO111MODULE=off), against the Go packages
# Debian installs under /usr/share/gocode (golang-etcd-server-dev: etcd's clientv3 3.4, grpc 1.33), and
# prints the binary's path on stdout. Programs live under a GOPATH tree of the repo (default test/go, so
# test/go/src/cairn.dev/goclient is the import path cairn.dev/goclient).
#
#   scripts/build-go.sh [--gopath DIR] <import path> [<output binary>]
#
# Default output: dist/go/bin/<last element of the import path> (dist/ is git-ignored). The binary is
# reused while its inputs are unchanged: every file of the GOPATH tree, the Go toolchain's version, the
# installed golang-* Debian packages and this script (a stamp file next to the binary records their hash).
# GOCACHE defaults to dist/go/cache (override with CAIRN_GOCACHE); nothing is read from or written to $HOME.
# Needs golang-go and golang-etcd-server-dev: scripts/install-test-deps.sh installs them.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  echo "usage: $0 [--gopath DIR] <import path> [<output binary>]" >&2
  exit 2
}

gopath_dir="$repo/test/go"
if [ "${1:-}" = "--gopath" ]; then
  [ $# -ge 2 ] || usage
  gopath_dir="$(cd "$2" && pwd)"
  shift 2
fi
[ $# -ge 1 ] && [ $# -le 2 ] || usage
package="$1"
output="${2:-$repo/dist/go/bin/${package##*/}}"

if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; then
  echo "needs golang-go and golang-etcd-server-dev: run scripts/install-test-deps.sh" >&2
  exit 1
fi
if [ ! -d "$gopath_dir/src/$package" ]; then
  echo "no package $package under $gopath_dir/src" >&2
  exit 1
fi

# Offline and self-contained: no modules, no proxy, no cgo (no C compiler needed), caches in the repo.
export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
export GOPATH="$gopath_dir:/usr/share/gocode"
export GOCACHE="${CAIRN_GOCACHE:-$repo/dist/go/cache}"
mkdir -p "$GOCACHE" "$(dirname "$output")"

stamp="$output.stamp"
inputs="$(
  {
    echo "$package"
    go version
    dpkg-query -W -f '${Package} ${Version}\n' 'golang-*' 2>/dev/null | sort
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    (cd "$gopath_dir/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
)"
if [ -x "$output" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  echo "$output"
  exit 0
fi

# Build next to the output and rename, so a reader never runs a half-written binary.
tmp="$output.tmp.$$"
trap 'rm -f "$tmp"' EXIT
go build -o "$tmp" "$package" >&2
mv -f "$tmp" "$output"
echo "$inputs" >"$stamp"
echo "$output"
