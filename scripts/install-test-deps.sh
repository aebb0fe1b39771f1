#!/usr/bin/env bash
# Installs the Debian packages the cross-process test suites (test/) need:
#   etcd-server  real etcd 3.4, the reference the compat tests are validated against (CAIRN_TEST_TARGET=etcd)
#   etcd-client  etcdctl 3.4, driven by test/compat/etcdctl.test.ts
#   chromium     (with --browser) headless browser for the console tests
#   postgresql   a real PostgreSQL server for the audit archive tests (libs/audit, test/audit start their own
#                throwaway cluster from /usr/lib/postgresql/*/bin; the packaged one is not used)
#   golang-go, golang-etcd-server-dev
#                Go 1.19 and the etcd 3.4 Go client sources (GOPATH layout under /usr/share/gocode), from which
#                scripts/build-go.sh builds the Go client suite (test/compat/go-client.test.ts) offline
#   kubernetes-client
#                Debian's kubectl 1.20 (kustomize 2.0.3): test/deploy/kubernetes.test.ts renders
#                deploy/kubernetes with `kubectl kustomize`. When /usr/bin/kubectl already belongs to another
#                package (e.g. the Google Cloud SDK's `kubectl`), dpkg would refuse the file conflict, so the
#                package is unpacked to /opt/cairn-test/kubernetes-client instead (the test uses both).
# Idempotent: packages already installed are skipped, and apt-get is not run at all when nothing is missing.
# Uses sudo only when not running as root.
set -euo pipefail

usage() {
  echo "usage: $0 [--browser]" >&2
  exit 2
}

packages=(etcd-server etcd-client postgresql golang-go golang-etcd-server-dev)
for arg in "$@"; do
  case "$arg" in
    --browser) packages+=(chromium) ;;
    -h | --help) usage ;;
    *)
      echo "unknown argument: $arg" >&2
      usage
      ;;
  esac
done

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# Debian's kubectl: installed normally unless another package owns /usr/bin/kubectl (see above).
KUBECTL_DIR=/opt/cairn-test/kubernetes-client
kubectl_owner="$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)"
unpack_kubectl=false
if is_installed kubernetes-client; then
  echo "already installed: kubernetes-client"
elif [ -n "$kubectl_owner" ]; then
  if [ -x "$KUBECTL_DIR/usr/bin/kubectl" ]; then
    echo "already unpacked: kubernetes-client in $KUBECTL_DIR"
  else
    unpack_kubectl=true
  fi
else
  packages+=(kubernetes-client)
fi

missing=()
for pkg in "${packages[@]}"; do
  if is_installed "$pkg"; then
    echo "already installed: $pkg"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "$unpack_kubectl" = false ]; then
  echo "nothing to install"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [ "$unpack_kubectl" = true ]; then
  echo "unpacking kubernetes-client into $KUBECTL_DIR (/usr/bin/kubectl belongs to $kubectl_owner)"
  download="$(mktemp -d)"
  chmod 0777 "$download"
  (cd "$download" && apt-get download kubernetes-client)
  "${as_root[@]}" mkdir -p "$KUBECTL_DIR"
  "${as_root[@]}" dpkg-deb -x "$download"/kubernetes-client_*.deb "$KUBECTL_DIR"
  rm -rf "$download"
  "$KUBECTL_DIR/usr/bin/kubectl" version --client >/dev/null
fi

# The test harness runs these binaries by absolute path.
for binary in /usr/bin/etcd /usr/bin/etcdctl /usr/bin/go /usr/bin/kubectl; do
  if [ ! -x "$binary" ]; then
    echo "expected $binary after installing ${missing[*]}" >&2
    exit 1
  fi
done
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "expected /usr/lib/postgresql/*/bin/initdb after installing ${missing[*]}" >&2
  exit 1
fi
if [ ! -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; then
  echo "expected /usr/share/gocode/src/go.etcd.io/etcd/clientv3 after installing ${missing[*]}" >&2
  exit 1
fi
echo "done"
