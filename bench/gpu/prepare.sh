#!/usr/bin/env bash
# Fills .gpu-carry/ (git-excluded) with what bench/gpu/run.sh needs on the GPU machine, which has
# no Node and no network: this machine's node binary (xz), tfjs-node-gpu 4.22.0's JavaScript
# (npm install --ignore-scripts: its install script, which downloads libtensorflow, runs there),
# and the CIFAR-10 5k subset. About 40 MB; the device call carries it: carry [".gpu-carry"].
set -eu
cd "$(dirname "$0")/../.."
grep -qx "/.gpu-carry/" .git/info/exclude 2>/dev/null || echo "/.gpu-carry/" >> .git/info/exclude
mkdir -p .gpu-carry
cp ../shared/datasets/cifar10-5k/cifar-10-binary.tar.gz .gpu-carry/
T=$(mktemp -d)
( cd "$T" && echo '{"name":"x","version":"1.0.0"}' > package.json \
  && npm install --ignore-scripts --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0 >/dev/null )
# keep each tfjs package's Node entry file only (the browser bundles are 250 MB)
for d in "$T"/node_modules/@tensorflow/tfjs*; do
  [ "$(basename "$d")" = tfjs-node-gpu ] && continue
  m=$(node -p "require('$d/package.json').main")
  cp "$d/$m" "$T/main.js"; find "$d" -type f ! -name package.json -delete
  mkdir -p "$d/$(dirname "$m")"; mv "$T/main.js" "$d/$m"
done
rm -rf "$T"/node_modules/core-js "$T"/node_modules/@types "$T"/node_modules/@tensorflow/tfjs-node-gpu/src
tar cJf .gpu-carry/tfjs-node-gpu-modules.tar.xz -C "$T" node_modules package.json
rm -rf "$T"
xz -T2 -6 -c "$(command -v node)" > .gpu-carry/node.xz
ls -la .gpu-carry
