#!/usr/bin/env bash
# Installs what `npm test` needs on a fresh machine: npm packages (offline-safe: the native
# tfjs packages are optional and skipped when their binary download fails), and the Vulkan driver
# the webgpu tests run on.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
bash scripts/install-vulkan.sh
bash scripts/install-code-server.sh
