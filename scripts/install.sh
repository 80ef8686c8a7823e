#!/usr/bin/env bash
# Installs what hearth needs to build, test and benchmark on a Debian 12
# machine, and nothing that is already there. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Build and run: the libraries DESIGN.md names. Test: clang (ASan, UBSan,
# libFuzzer), node for the integration clients. Bench: wrk and the peers.
DEB_PACKAGES=(
  build-essential pkg-config git curl ca-certificates
  libuv1-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libhiredis-dev
  libpcre2-dev libutf8proc-dev
  clang libclang-rt-14-dev
  nodejs npm
  python3 python3-pip python3-numpy python3-jinja2
  wrk nginx-light python3-fastapi python3-uvicorn python3-uvloop python3-httptools
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node may come from outside Debian on some images; then keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
todo=()
for p in "${missing[@]}"; do [ -n "$p" ] && todo+=("$p"); done
if [ ${#todo[@]} -gt 0 ]; then
  echo "install: apt-get install ${todo[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${todo[@]}"
fi
# nginx-light starts a service on port 80 on install; the benchmark runs its
# own instance, so the system one is not needed.
if command -v service >/dev/null && pgrep -x nginx >/dev/null 2>&1; then
  $SUDO service nginx stop >/dev/null 2>&1 || true
fi

# Test clients, pinned by the committed lock file.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
# The default models (downloaded once, checked by sha256).
bash scripts/fetch_models.sh
echo "install: done"
