#!/usr/bin/env bash
# Fills .gpu-carry-engine/ (git-excluded) with what bench/gpu/engine.sh needs on the GPU machine,
# which has PyTorch but no Node and no network: this machine's node binary (xz), the built project
# (dist/ without source maps, bin/, python/, package.json, the bench's PyTorch reference and its
# specs) with the runtime node_modules the CLI and worker load (each tfjs package cut to its Node
# entry file, the wasm binaries), and the 60k CIFAR-10 JPEG set. About 55 MB; the device call
# carries it: carry [".gpu-carry-engine"].
set -eu
cd "$(dirname "$0")/../.."
EXCLUDE=$(git rev-parse --git-path info/exclude)
grep -qx "/.gpu-carry-engine/" "$EXCLUDE" 2>/dev/null || echo "/.gpu-carry-engine/" >> "$EXCLUDE"
npm run build >/dev/null
C=.gpu-carry-engine
mkdir -p "$C"; rm -f "$C/project.tar.xz"
P=$(mktemp -d)/project
mkdir -p "$P/dist" "$P/bench/gpu" "$P/node_modules/@tensorflow"
(cd dist && find . -type f ! -name '*.map' -exec cp --parents {} "$P/dist/" \;)
cp -r bin python package.json "$P/"
find "$P/python" -name __pycache__ -prune -exec rm -rf {} +
cp bench/torch_ref.py "$P/bench/"
cp -r bench/gpu/specs "$P/bench/gpu/"
# the smoke test's small network (GPU_SMOKE=1 on a CPU)
node --import tsx bench/write-spec.ts resnet18 0.0625 "$P/bench/gpu/specs/resnet18-0.0625.json"
for d in node_modules/@tensorflow/tfjs*; do
  n=$(basename "$d"); [ "$n" = tfjs-node ] || [ "$n" = tfjs-node-gpu ] && continue
  m=$(node -p "require('./$d/package.json').main")
  mkdir -p "$P/$d/$(dirname "$m")"
  cp "$d/package.json" "$P/$d/"; cp "$d/$m" "$P/$d/$m"
done
W=node_modules/@tensorflow/tfjs-backend-wasm
cp "$W"/dist/*.wasm "$P/$W/dist/"
mkdir -p "$P/$W/wasm-out"; cp "$W"/wasm-out/*.js "$W"/wasm-out/*.wasm "$P/$W/wasm-out/"
# what the tfjs packages, jpeg-js and pngjs require at run time
for m in long seedrandom node-fetch whatwg-url tr46 webidl-conversions string_decoder safe-buffer jpeg-js pngjs; do
  [ -d "node_modules/$m" ] && cp -r "node_modules/$m" "$P/node_modules/"
done
tar cJf "$C/project.tar.xz" -C "$(dirname "$P")" project
rm -rf "$(dirname "$P")"
# the node binary and the dataset do not change between preparations
[ -s "$C/node.xz" ] || xz -T2 -6 -c "$(command -v node)" > "$C/node.xz"
[ -s "$C/cifar10-jpg.tar.gz" ] || cp ../shared/datasets/cifar10-jpg.tar.gz "$C/"
du -sh "$C"; ls -la "$C"
