#!/usr/bin/env bash
# Installs what the VS Code integration suite needs on an offline machine: Debian chromium,
# ripgrep and libkrb5-dev, and code-server 4.100.3 (= VS Code 1.100.3, the newest that runs on
# Node 20) into .vscode-test/code-server. code-server's own postinstall does not work offline,
# so its steps are done by hand (see ../shared/notes/vscode-host-testing.md).
# Idempotent: exits at once when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
ROOT="$PWD/.vscode-test/code-server"
PKG="$ROOT/node_modules/code-server"
MARKER="$ROOT/.installed-$VERSION"
APT_PACKAGES=(chromium ripgrep libkrb5-dev)

log() { printf '[install-code-server] %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  SUDO=; [[ $(id -u) != 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -f "$MARKER" && -f "$PKG/out/node/entry.js" ]]; then
  log "code-server $VERSION already installed in ${ROOT#$PWD/}"
  exit 0
fi

log "installing code-server $VERSION into ${ROOT#$PWD/}"
rm -rf "$ROOT"
mkdir -p "$ROOT"
cd "$ROOT"
# A private package of its own, so npm does not treat the project as the install prefix.
printf '{ "name": "early-exit-code-server-host", "private": true }\n' > package.json
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
npm install --ignore-scripts --no-save --loglevel=error "code-server@$VERSION"
npm rebuild argon2 --loglevel=error

cd "$PKG/lib/vscode"
npm install --omit=dev --ignore-scripts --loglevel=error
# @vscode/ripgrep's postinstall downloads from GitHub; use Debian's rg instead.
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/
# node-pty needs node-gyp through npx; kerberos needs libkrb5-dev.
npm_config_yes=true npm rebuild --foreground-scripts --loglevel=error >"$ROOT/rebuild.log" 2>&1 \
  || { tail -50 "$ROOT/rebuild.log"; exit 1; }
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --loglevel=error)

touch "$MARKER"
log "done: $PKG"
