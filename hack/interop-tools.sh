#!/usr/bin/env bash
# Builds or installs the third-party verifiers the interop tests run against the
# token service and the verifier (test/integration/interop):
#
#   oidc-client   test/interop/oidc-client: go-oidc (strict discovery) and x/oauth2
#                 client credentials, from the Go module proxy
#   oauth2-proxy  github.com/oauth2-proxy/oauth2-proxy/v7 at a pinned release, from its Go module
#   python        a virtualenv with test/interop/python-client/requirements.txt (PyJWT, authlib) from PyPI
#   nginx         the Debian package nginx-light (installed with --packages, which needs root and apt)
#
#   hack/interop-tools.sh [--packages]
#
# Outputs are cached under .cache/test-tools, keyed by version or by the hash of
# their sources, and reused. Prints NAME=PATH lines on stdout, one per tool.
#
#   KEYWARD_OAUTH2_PROXY_VERSION  default below
#   KEYWARD_CACHE_DIR             default: <repo>/.cache
set -euo pipefail

OAUTH2_PROXY_VERSION="${KEYWARD_OAUTH2_PROXY_VERSION:-v7.15.6}"

packages=0
case "${1:-}" in
  "") ;;
  --packages) packages=1 ;;
  *) printf 'usage: %s [--packages]\n' "$0" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${KEYWARD_CACHE_DIR:-$repo/.cache}/test-tools"
mkdir -p "$tools"
log() { printf '[interop-tools] %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -c1-12; }

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod"

# --- go-oidc and x/oauth2 -------------------------------------------------------
src="$repo/test/interop/oidc-client"
oidc_client="$tools/oidc-client-$(hash_of "$src/go.mod" "$src/go.sum" "$src/main.go")"
if [[ ! -x $oidc_client ]]; then
  log "building $oidc_client"
  (cd "$src" && go build -trimpath -o "$oidc_client.partial" . && mv "$oidc_client.partial" "$oidc_client")
fi

# --- oauth2-proxy -----------------------------------------------------------------
oauth2_proxy="$tools/oauth2-proxy-$OAUTH2_PROXY_VERSION"
if [[ ! -x $oauth2_proxy ]]; then
  log "building oauth2-proxy $OAUTH2_PROXY_VERSION"
  work="$(mktemp -d "${TMPDIR:-/tmp}/keyward-oauth2-proxy.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  printf 'module keyward.dev/test-tools/oauth2-proxy\n\ngo 1.26.0\n\nrequire github.com/oauth2-proxy/oauth2-proxy/v7 %s\n' "$OAUTH2_PROXY_VERSION" > "$work/go.mod"
  (cd "$work" && go build -trimpath -ldflags "-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" -o "$oauth2_proxy.partial" github.com/oauth2-proxy/oauth2-proxy/v7)
  mv "$oauth2_proxy.partial" "$oauth2_proxy"
fi

# --- PyJWT and authlib ----------------------------------------------------------------
requirements="$repo/test/interop/python-client/requirements.txt"
venv="$tools/python-$(hash_of "$requirements")"
# A virtualenv records its own path, so it is built in place; .complete marks a finished one.
if [[ ! -f $venv/.complete ]]; then
  log "creating $venv"
  command -v python3 >/dev/null || { log "python3 is not on PATH: install Python >= 3.10"; exit 1; }
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  touch "$venv/.complete"
fi

# --- nginx ------------------------------------------------------------------------------
nginx="$(command -v nginx || true)"
[[ -z $nginx && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
if [[ -z $nginx && $packages == 1 ]]; then
  log "installing nginx-light"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  nginx=/usr/sbin/nginx
fi

echo "OIDC_CLIENT=$oidc_client"
echo "OAUTH2_PROXY=$oauth2_proxy"
echo "PYTHON=$venv/bin/python"
echo "NGINX=$nginx"
