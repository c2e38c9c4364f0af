#!/usr/bin/env bash
# Installs what Aisle needs to build and run on a Debian machine (idempotent; quiet when all is there).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(libicu-dev libstemmer-dev libzstd-dev libpq-dev libmongoc-dev libbson-dev libhiredis-dev libargon2-dev libopenblas-dev postgresql redis-server haproxy)
# haproxy: search replicas behind a load balancer (scripts/replicas.sh, scripts/replica_test.py).
command -v python3 >/dev/null 2>&1 || PACKAGES+=(python3)   # scripts/mongo_wire_server.py, benchmarks
# pip: the test command installs the Elasticsearch/OpenSearch clients and pytrec_eval from PyPI.
python3 -m pip --version >/dev/null 2>&1 || PACKAGES+=(python3-pip)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "setup: the Swift 6 toolchain is not installed (https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
fi
