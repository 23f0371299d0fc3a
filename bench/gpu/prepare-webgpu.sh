#!/usr/bin/env bash
# Packs what bench/gpu/webgpu.sh needs on the GPU machine (no Node, no network) into
# .gpu-carry/webgpu.tar.xz (git-excluded, ~12 MB): the CLI bundle (for `early-exit doctor`), the
# bench bundle (bench/webgpu.ts), and the Node entry files of tfjs 4.22.0, its wasm backend (with
# its .wasm binaries), tfjs-backend-webgpu 4.22.0 and Dawn's binding (npm webgpu, linux-x64
# dawn.node only), copied from this checkout's node_modules, and Debian's Vulkan loader
# (libvulkan.so.1, used there only if the image lacks one). The Node binary itself is
# .gpu-carry/node.xz from bench/gpu/prepare.sh. Carry [".gpu-carry"] with the device call.
set -eu
cd "$(dirname "$0")/../.."
grep -qx "/.gpu-carry/" "$(git rev-parse --git-common-dir)/info/exclude" 2>/dev/null || echo "/.gpu-carry/" >> "$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p .gpu-carry
[ -f .gpu-carry/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .gpu-carry/node.xz
npm run build >/dev/null
T=$(mktemp -d)
W="$T/webgpu"
mkdir -p "$W/node_modules/@tensorflow"
cp dist/cli.js "$W/cli.js"
npx esbuild bench/webgpu.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
  --external:@tensorflow/* --external:webgpu --outfile="$W/bench-webgpu.js"
NM=node_modules
# each tfjs package's Node entry file only (its browser bundles are ~250 MB)
for p in tfjs tfjs-core tfjs-backend-cpu tfjs-backend-webgl tfjs-layers tfjs-converter tfjs-data tfjs-backend-wasm tfjs-backend-webgpu; do
  d="$NM/@tensorflow/$p"; m=$(node -p "require('./$d/package.json').main")
  mkdir -p "$W/$d/$(dirname "$m")"; cp "$d/package.json" "$W/$d/"; cp "$d/$m" "$W/$d/$m"
done
cp "$NM"/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$NM"/@tensorflow/tfjs-backend-wasm/wasm-out/*.js "$W/$NM/@tensorflow/tfjs-backend-wasm/dist/" 2>/dev/null || true
mkdir -p "$W/$NM/@tensorflow/tfjs-backend-wasm/wasm-out"; cp "$NM"/@tensorflow/tfjs-backend-wasm/wasm-out/*.{js,wasm} "$W/$NM/@tensorflow/tfjs-backend-wasm/wasm-out/"
# the plain-JavaScript dependencies the entries require
for p in seedrandom long node-fetch whatwg-url tr46 webidl-conversions string_decoder safe-buffer jpeg-js pngjs; do [ -d "$NM/$p" ] && cp -r "$NM/$p" "$W/$NM/"; done
mkdir -p "$W/$NM/webgpu/dist/linux-x64"
cp "$NM/webgpu/package.json" "$NM/webgpu/index.js" "$W/$NM/webgpu/"
cp "$NM/webgpu/dist/linux-x64/dawn.node" "$W/$NM/webgpu/dist/linux-x64/"
# the Vulkan loader (Debian's libvulkan1), for an image that has the NVIDIA driver but not the loader
( cd "$T" && apt-get download libvulkan1 >/dev/null 2>&1 && dpkg-deb -x libvulkan1_*.deb deb && mkdir -p "$W/lib" \
  && cp -a deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$W/lib/" ) || echo "libvulkan1 not carried (apt-get download failed)"
tar cJf .gpu-carry/webgpu.tar.xz -C "$T" webgpu
rm -rf "$T"
ls -la .gpu-carry
