#!/usr/bin/env bash
# Installs what `npm test` needs on a fresh machine: npm packages (offline-safe: the native
# tfjs packages are optional and skipped when their binary download fails), the Vulkan driver the
# webgpu tests run on, code-server for the VS Code suite, and Debian's python3-torch (PyTorch 1.13 for
# /usr/bin/python3) for the torch engine's tests. Quick when everything is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
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
