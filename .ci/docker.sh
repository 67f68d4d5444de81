#!/usr/bin/env bash
# Install and start a Docker engine if none answers (Debian packages; no registry is needed:
# the sandbox image is built locally by `llmbench sandbox-image`).
set -euo pipefail
if docker version >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
nohup dockerd --iptables=false --bridge=none >/tmp/llmbench-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
    if docker version >/dev/null 2>&1; then exit 0; fi
    sleep 1
done
echo "dockerd did not start; log:" >&2
tail -n 30 /tmp/llmbench-dockerd.log >&2
exit 1
