#!/usr/bin/env bash
# Builds kustomize (the Go module sigs.k8s.io/kustomize/kustomize/v5, at a pinned
# release) into the cache, for the tests that render config/ exactly as
# `kubectl apply -k` does. Reused when already built. Prints the binary's path on
# the last line of stdout.
#
#   KEYWARD_KUSTOMIZE_VERSION   default below
#   KEYWARD_KUSTOMIZE           use this kustomize binary instead of building one
#   KEYWARD_CACHE_DIR           default: <repo>/.cache
set -euo pipefail

# v5.8.2 is the newest release that builds with Go 1.26 (v5.8.3 requires Go 1.27).
VERSION="${KEYWARD_KUSTOMIZE_VERSION:-v5.8.2}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${KEYWARD_CACHE_DIR:-$repo/.cache}"
out="$cache/tools/kustomize-$VERSION"

log() { printf '[kustomize] %s\n' "$*" >&2; }

if [[ -n "${KEYWARD_KUSTOMIZE:-}" ]]; then
  [[ -x "$KEYWARD_KUSTOMIZE" ]] || { log "KEYWARD_KUSTOMIZE=$KEYWARD_KUSTOMIZE is not an executable file"; exit 1; }
  echo "$KEYWARD_KUSTOMIZE"
  exit 0
fi

if [[ -x "$out/kustomize" ]]; then
  echo "$out/kustomize"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH: install Go >= 1.26 (https://go.dev/dl/), or set KEYWARD_KUSTOMIZE to a kustomize binary"; exit 1; }

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

start=$SECONDS
log "building sigs.k8s.io/kustomize/kustomize/v5@$VERSION"
mkdir -p "$(dirname "$out")"
# A directory of our own, renamed into place at the end: two builds at once (two test
# processes) do not see each other's half-written binary, and the first rename wins.
partial="$(mktemp -d "$out.partial.XXXXXX")"
trap 'rm -rf "$partial"' EXIT
GOBIN="$partial" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$VERSION"
mv -T "$partial" "$out" 2>/dev/null || [[ -x "$out/kustomize" ]] || { log "could not move the build to $out"; exit 1; }
log "built in $((SECONDS - start))s: $out/kustomize"
echo "$out/kustomize"
