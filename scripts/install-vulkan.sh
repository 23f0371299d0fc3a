#!/usr/bin/env bash
# Installs the Vulkan loader and Mesa's Vulkan drivers, whose software one (lavapipe, "llvmpipe")
# gives Dawn a WebGPU adapter on a machine without a GPU: the webgpu backend's tests
# (test/unit/accel/webgpu.test.ts, test/process/accel/webgpu.test.ts) run on it. Dawn needs Mesa
# 23 or newer: Debian bookworm's 22.3 lacks shaderUniform*ArrayDynamicIndexing, and Dawn then
# offers no adapter at all, so on bookworm the drivers come from bookworm-backports (Mesa 25).
# Idempotent: exits at once when a new enough driver is installed.
set -euo pipefail

log() { printf '[install-vulkan] %s\n' "$*"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

if ! command -v apt-get >/dev/null; then
  log "no apt-get: install a Vulkan loader and driver by hand (the webgpu tests need a WebGPU adapter)"
  exit 0
fi
if installed libvulkan1 && installed mesa-vulkan-drivers && (( $(mesa_major || echo 0) >= 23 )); then
  log "libvulkan1 and mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

SUDO=; [[ $(id -u) != 0 ]] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
TARGET=()
if [[ "${VERSION_CODENAME:-}" == bookworm ]]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports (deb.debian.org) for Mesa ≥ 23"
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  TARGET=(-t bookworm-backports)
fi
log "apt: installing libvulkan1 mesa-vulkan-drivers ${TARGET[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${TARGET[@]}" libvulkan1 mesa-vulkan-drivers >/dev/null
log "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
