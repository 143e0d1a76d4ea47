#!/usr/bin/env bash
# keyward end to end on a kind cluster.
#
# For machines with Docker, kind and kubectl. keyward's own CI runs the same deployment and requests on
# a local node without Docker instead (hack/dev e2e, which also runs the failure tests of
# test/e2e/node); this script has not been run where keyward is developed (no Docker engine there).
#
# What it does:
#   1. creates a kind cluster (its own kubeconfig, the user's is not touched);
#   2. builds the image (Dockerfile) as ghcr.io/keyward/keyward:<package.json version>, the tag
#      config/ names, and loads it into the cluster's nodes (kind load docker-image);
#   3. kubectl apply -k config/default, waits for the CRDs and the controller;
#   4. kubectl apply -k config/samples (the tenant acme), then the echo workload behind the
#      verifier sidecar (test/e2e/echo/configmap), and waits for it to be ready;
#   5. port-forwards to the echo Service and runs test/e2e (npm run test:e2e): 401 without a
#      token, 200 with a valid one, 403 outside the policy, old and new tokens valid across a
#      rotation, a revoked token refused within a second, revoke-all refusing old tokens and
#      accepting the re-issued one;
#   6. deletes the cluster, also on failure (KEYWARD_E2E_KEEP=1 keeps it for a look).
#
#   KEYWARD_E2E_CLUSTER   cluster name (default keyward-e2e)
#   KEYWARD_E2E_PORT      local port of the port-forward (default 18443)
#   KEYWARD_E2E_KEEP      1: keep the cluster at the end
#   KEYWARD_E2E_REVOCATION_DEADLINE_MS   how soon a revoked token must be refused (default 1000)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

CLUSTER="${KEYWARD_E2E_CLUSTER:-keyward-e2e}"
PORT="${KEYWARD_E2E_PORT:-18443}"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"
IMAGE="ghcr.io/keyward/keyward:${VERSION}"
TENANT=acme

log() { printf '[kind-e2e] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for tool in docker kind kubectl curl; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH: the end-to-end test needs docker, kind, kubectl and curl"
done
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
[[ -n "$VERSION" ]] || die "could not read the version from package.json"

work="$(mktemp -d "${TMPDIR:-/tmp}/keyward-e2e.XXXXXX")"
export KUBECONFIG="$work/kubeconfig"
port_forward=""

diagnose() {
  log "--- diagnostics"
  kubectl get pods -A -o wide || true
  kubectl -n keyward-system logs deployment/keyward-controller --all-containers --tail=100 || true
  kubectl -n "$TENANT" logs deployment/echo -c keyward-verifier --tail=100 || true
  kubectl -n "$TENANT" get apikeys,accesstokens,configmaps -o wide || true
  [[ -f "$work/port-forward.log" ]] && cat "$work/port-forward.log" || true
}

cleanup() {
  local code=$?
  [[ -n "$port_forward" ]] && kill "$port_forward" 2>/dev/null || true
  if ((code != 0)); then diagnose; fi
  if [[ "${KEYWARD_E2E_KEEP:-}" == "1" ]]; then
    log "keeping cluster $CLUSTER (KUBECONFIG=$KUBECONFIG); delete it with: kind delete cluster --name $CLUSTER"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$code"
}
trap cleanup EXIT

log "creating kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 120s

log "building $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "installing keyward: kubectl apply -k config/default"
kubectl apply -k config/default
kubectl wait --for condition=established --timeout=60s crd -l app.kubernetes.io/part-of=keyward
kubectl -n keyward-system rollout status deployment/keyward-controller --timeout=180s

log "applying the samples and the protected echo workload"
kubectl apply -k config/samples
kubectl apply -k test/e2e/echo/configmap
# Ready once the verifier has loaded the tenant's bundle, which the controller writes.
kubectl -n "$TENANT" rollout status deployment/echo --timeout=180s

log "port-forwarding 127.0.0.1:$PORT to service/echo"
kubectl -n "$TENANT" port-forward service/echo "$PORT:80" >"$work/port-forward.log" 2>&1 &
port_forward=$!
for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.2
done
curl -s -o /dev/null "http://127.0.0.1:$PORT/" || die "the port-forward to service/echo did not come up"

log "running test/e2e"
KEYWARD_E2E_KUBECONFIG="$KUBECONFIG" \
KEYWARD_E2E_URL="http://127.0.0.1:$PORT" \
KEYWARD_E2E_NAMESPACE="$TENANT" \
  hack/dev test:e2e test/e2e/verifier.test.ts

log "passed"
