#!/usr/bin/env bash
# Installs what `npm test` needs on a fresh machine: npm packages (offline-safe: the native
# tfjs packages are optional and skipped when their binary download fails), then with apt (run as
# root, or where sudo works) the Vulkan driver the webgpu tests run on, Debian's chromium, ripgrep and
# libkrb5-dev with code-server, and Debian's python3-torch (PyTorch 1.13 for /usr/bin/python3) for the
# torch engine's tests.
# Run again, it only does what is missing: `npm ci` (which deletes node_modules and installs it
# anew, about a minute) only when node_modules was not installed from this package-lock.json by
# this Node; the Vulkan and code-server scripts check what is installed themselves, and
# python3-torch is installed only when dpkg does not list it.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.early-exit-installed
want="package-lock.json sha256 $(sha256sum package-lock.json | cut -d' ' -f1), node $(node -v)"
if [[ -d node_modules && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  echo "[install-test-deps] node_modules is up to date with package-lock.json (node $(node -v)); skipping npm ci"
else
  npm ci --no-audit --no-fund
  printf '%s\n' "$want" > "$stamp"
fi
bash scripts/install-vulkan.sh
bash scripts/install-code-server.sh
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q 'install ok installed'; then
  echo '[install-test-deps] apt: installing python3-torch (the torch engine tests run on /usr/bin/python3)'
  SUDO=; [[ $(id -u) != 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null; }
fi
/usr/bin/python3 -c 'import torch' || { echo '[install-test-deps] /usr/bin/python3 cannot import torch after installing python3-torch' >&2; exit 1; }
