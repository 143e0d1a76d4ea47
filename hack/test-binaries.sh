#!/usr/bin/env bash
# Builds the control-plane binaries the integration tests and the demo run:
# kube-apiserver and kube-controller-manager from the Go module k8s.io/kubernetes,
# and etcd from go.etcd.io/etcd/server/v3, at pinned releases.
#
#   hack/test-binaries.sh          the control plane (etcd, kube-apiserver, kube-controller-manager)
#   hack/test-binaries.sh --node   what a node adds: kubelet, kube-scheduler, kube-proxy and kubectl
#                                  from the same k8s.io/kubernetes pin; containerd, its runc shim and
#                                  ctr from github.com/containerd/containerd/v2; and the pause
#                                  program of hack/pause (the sandbox image's only file)
#
# The output goes to a cache directory keyed by the versions and is reused when
# every binary is already there. Prints the directory on the last line of stdout.
# runc and the CNI plugins are not built here: they come from the OS packages
# (Debian: runc, containernetworking-plugins).
#
#   KEYWARD_K8S_VERSION         default below
#   KEYWARD_ETCD_VERSION        default below
#   KEYWARD_CONTAINERD_VERSION  default below
#   KEYWARD_CACHE_DIR           default: <repo>/.cache
set -euo pipefail

K8S_VERSION="${KEYWARD_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${KEYWARD_ETCD_VERSION:-v3.6.16}"
CONTAINERD_VERSION="${KEYWARD_CONTAINERD_VERSION:-v2.4.2}"

mode=controlplane
case "${1:-}" in
  "") ;;
  --node) mode=node ;;
  *) printf 'usage: %s [--node]\n' "$0" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${KEYWARD_CACHE_DIR:-$repo/.cache}"
if [[ $mode == node ]]; then
  out="$cache/test-assets/node-k8s-${K8S_VERSION}_containerd-${CONTAINERD_VERSION}"
  binaries=(kubelet kube-scheduler kube-proxy kubectl containerd containerd-shim-runc-v2 ctr pause)
else
  out="$cache/test-assets/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}"
  binaries=(kube-apiserver kube-controller-manager etcd)
fi

log() { printf '[test-binaries] %s\n' "$*" >&2; }

complete=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
if ((complete)); then
  log "reusing $out"
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH: install Go >= 1.26 (https://go.dev/dl/)"; exit 1; }

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0
export GOFLAGS="-mod=mod"

work="$(mktemp -d "${TMPDIR:-/tmp}/keyward-test-binaries.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out.partial"

start=$SECONDS

# --- kube-apiserver and kube-controller-manager -----------------------------
# k8s.io/kubernetes replaces every k8s.io staging module with ./staging/...; a
# module that requires it must pin each of them to the matching v0.x release.
# The list comes from the release's own go.mod.
log "resolving k8s.io/kubernetes@$K8S_VERSION"
mkdir -p "$work/kube"
cd "$work/kube"
gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$gomod" ]] || { log "could not download the go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
staging_version="v0.${K8S_VERSION#v1.}"
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9./-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")
((${#staging[@]} > 0)) || { log "found no staging modules in $gomod"; exit 1; }
log "pinning ${#staging[@]} staging modules at $staging_version"
{
  echo "module keyward.dev/test-binaries/kube"
  echo
  echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} > go.mod

major="${K8S_VERSION#v}"; major="${major%%.*}"
minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

build_kube() {
  for cmd in "$@"; do
    log "building $cmd $K8S_VERSION"
    go build -trimpath -ldflags "-s -w $ldflags" -o "$out.partial/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
}

if [[ $mode == node ]]; then
  build_kube kubelet kube-scheduler kube-proxy kubectl

  # --- containerd, its runc shim and ctr -------------------------------------
  log "building containerd $CONTAINERD_VERSION"
  mkdir -p "$work/containerd"
  cd "$work/containerd"
  {
    echo "module keyward.dev/test-binaries/containerd"
    echo
    echo "go 1.26.0"
    echo
    echo "require github.com/containerd/containerd/v2 $CONTAINERD_VERSION"
  } > go.mod
  ctrd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  for cmd in containerd containerd-shim-runc-v2 ctr; do
    # The CRI plugin's btrfs snapshotter needs cgo and headers; it is left out (overlayfs is used).
    go build -trimpath -tags "no_btrfs" -ldflags "$ctrd_ldflags" -o "$out.partial/$cmd" "github.com/containerd/containerd/v2/cmd/$cmd"
  done

  # --- pause: the sandbox image's only file -----------------------------------
  log "building pause"
  cd "$repo/hack/pause"
  go build -trimpath -ldflags "-s -w" -o "$out.partial/pause" .

  rm -rf "$out"
  mv "$out.partial" "$out"
  log "built in $((SECONDS - start))s: $(du -sh "$out" | cut -f1) in $out"
  echo "$out"
  exit 0
fi

build_kube kube-apiserver kube-controller-manager

# --- etcd -------------------------------------------------------------------
log "building etcd $ETCD_VERSION"
mkdir -p "$work/etcd"
cd "$work/etcd"
{
  echo "module keyward.dev/test-binaries/etcd"
  echo
  echo "go 1.26.0"
  echo
  echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
} > go.mod
go build -trimpath -ldflags "-s -w" -o "$out.partial/etcd" go.etcd.io/etcd/server/v3

rm -rf "$out"
mv "$out.partial" "$out"
log "built in $((SECONDS - start))s: $(du -sh "$out" | cut -f1) in $out"
"$out/kube-apiserver" --version >&2 || true
"$out/etcd" --version >&2 | head -1 || true
echo "$out"
