#!/usr/bin/env bash
# Starts the built image as the Deployment runs it (read-only root, no capabilities, non-root user) on the
# host network, waits for GET /healthz to answer 200, then stops it with SIGTERM and expects a clean exit.
#   deploy/container/check.sh [image] [http-port]
# Single node, in-memory state; the silo and gateway ports are moved off their defaults so that a silo
# already running on this machine is not disturbed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
image="${1:-localhost/chatcluster-silo:cpu}"
port="${2:-18080}"
name="chatcluster-check-$$"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/deploy/container/podman-containers.conf}"

podman run -d --name "$name" --network=host --read-only --cap-drop=ALL --security-opt no-new-privileges \
  "$image" --urls "http://127.0.0.1:$port" --silo-port $((port + 3031)) --gateway-port 0 >/dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT

status=000
for _ in $(seq 1 60); do
  status="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)"
  [ "$status" = 200 ] && break
  sleep 1
done
echo "check.sh: GET /healthz -> $status"
if [ "$status" != 200 ]; then
  podman logs "$name" >&2 || true
  exit 1
fi

podman stop -t 60 "$name" >/dev/null
code="$(podman inspect -f '{{.State.ExitCode}}' "$name")"
echo "check.sh: exit code after SIGTERM -> $code"
[ "$code" = 0 ]
