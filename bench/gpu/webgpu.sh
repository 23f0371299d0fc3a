#!/usr/bin/env bash
# The webgpu backend (tfjs-backend-webgpu on Dawn) on the GPU machine, as one device call:
#   bash bench/gpu/webgpu.sh        carry [".gpu-carry"], filled by bench/gpu/prepare.sh (node.xz)
#                                   and bench/gpu/prepare-webgpu.sh (webgpu.tar.xz)
# 1. whether the image exposes Vulkan to the container: ICD manifests in /usr/share/vulkan/icd.d and
#    /etc/vulkan/icd.d, NVIDIA's ICD (nvidia_icd.json), libGLX_nvidia.so.0 and the loader
#    libvulkan.so.1 on the library path, NVIDIA_DRIVER_CAPABILITIES (Vulkan needs "graphics");
# 2. whether Dawn gets a hardware adapter (`early-exit doctor --json`);
# 3. if it does: dispatch cost, batch-1 hard-exit latency and training img/s at batch 64 and 256
#    for ResNet-18 at widths 1/4 and 1 (bench/webgpu.ts), each in a process of its own.
# Writes $OUT/webgpu.json and $OUT/webgpu-log.txt. CPU smoke test here (software adapter, asked for
# by name, tiny sizes): WEBGPU_SMOKE=1 bash bench/gpu/webgpu.sh
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
C=$PWD/.gpu-carry
WIDTHS="0.25 1"; BATCHES=64,256; STEPS=20; WARMUP=3; IMAGES=50
if [ -n "${WEBGPU_SMOKE:-}" ]; then WIDTHS="0.03125"; BATCHES=8,16; STEPS=1; WARMUP=1; IMAGES=4; fi
exec > >(tee "$OUT/webgpu-log.txt") 2>&1
J="$OUT/webgpu-parts.jsonl"; : > "$J"

echo "== Vulkan in this container"; date -u
ICDS=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')
NVICD=$(find / -xdev -name 'nvidia_icd*.json' 2>/dev/null | grep -v '^/proc' | head -5 | tr '\n' ' ')
GLX=$(ldconfig -p 2>/dev/null | grep -o 'libGLX_nvidia\.so[.0-9]*' | sort -u | tr '\n' ' ')
GLXFILES=$(find / -xdev -name 'libGLX_nvidia.so*' 2>/dev/null | grep -v '^/proc' | head -5 | tr '\n' ' ')
LOADER=$(ldconfig -p 2>/dev/null | grep -o 'libvulkan\.so\.1' | head -1)
echo "ICD manifests: ${ICDS:-none}"; echo "nvidia_icd.json: ${NVICD:-none}"; echo "libGLX_nvidia (ldconfig): ${GLX:-none}; files: ${GLXFILES:-none}"
echo "libvulkan.so.1: ${LOADER:-not on the library path}"; echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-unset}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"

echo "== node"
if [ -f "$C/node.xz" ] && ! command -v node >/dev/null; then xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; else NODE=node; fi
"$NODE" --version || { echo "no node"; exit 1; }
rm -rf /tmp/wgb && mkdir -p /tmp/wgb && tar xJf "$C/webgpu.tar.xz" -C /tmp/wgb || { echo "no .gpu-carry/webgpu.tar.xz: run bench/gpu/prepare-webgpu.sh"; exit 1; }
W=/tmp/wgb/webgpu
"$NODE" -e 'const [icds, nvicd, glx, glxFiles, loader, caps] = process.argv.slice(1); const l = (s) => s.split(" ").filter(Boolean);
  console.log(JSON.stringify({ vulkan: { icds: l(icds), nvidiaIcd: l(nvicd), libGLXNvidia: l(glx), libGLXNvidiaFiles: l(glxFiles), loader: !!loader, nvidiaDriverCapabilities: caps || null } }))' \
  "$ICDS" "$NVICD" "$GLX" "$GLXFILES" "$LOADER" "${NVIDIA_DRIVER_CAPABILITIES:-}" >> "$J"

# Without the loader Dawn cannot reach any driver: use the carried one. Without an ICD manifest
# NVIDIA's Vulkan driver (libGLX_nvidia.so.0) is invisible to the loader: write the manifest the
# driver package would have installed. Both are recorded.
CARRIED_LOADER=false; WROTE_ICD=false
if [ -z "$LOADER" ] && [ -f "$W/lib/libvulkan.so.1" ]; then export LD_LIBRARY_PATH="$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; CARRIED_LOADER=true; echo "using the carried libvulkan.so.1"; fi
if [ -z "$NVICD" ] && [ -n "$GLX$GLXFILES" ]; then
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.0"}}\n' > /tmp/nvidia_icd.json
  export VK_ICD_FILENAMES=/tmp/nvidia_icd.json; WROTE_ICD=true; echo "no nvidia_icd.json: wrote /tmp/nvidia_icd.json for libGLX_nvidia.so.0"
fi
echo "{\"carriedLoader\": $CARRIED_LOADER, \"wroteNvidiaIcd\": $WROTE_ICD}" >> "$J"

echo "== early-exit doctor (does Dawn get a hardware adapter?)"
(cd "$W" && timeout 180 "$NODE" -e "require('./cli.js').main(process.argv.slice(1)).then((c) => { process.exitCode = c; })" doctor --json \
  > "$OUT/webgpu-doctor.json" 2> "$OUT/webgpu-doctor.err"); echo "doctor exit $?"
tail -5 "$OUT/webgpu-doctor.err"
"$NODE" -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const w = d.tfjs.backends.find((b) => b.kind === "webgpu");
  console.log(JSON.stringify({ doctor: { webgpu: w, auto: d.tfjs.auto } })); console.error("webgpu: " + (w.available ? "" : "not available: ") + w.detail)' \
  "$OUT/webgpu-doctor.json" >> "$J" || echo '{"doctor": "failed"}' >> "$J"
HW=$("$NODE" -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const w = d.tfjs.backends.find((b) => b.kind === "webgpu"); console.log(w.available && !w.adapter.software ? 1 : 0)' "$OUT/webgpu-doctor.json" 2>/dev/null || echo 0)

if [ "$HW" = 1 ] || [ -n "${WEBGPU_SMOKE:-}" ]; then
  for w in $WIDTHS; do
    echo "== webgpu: ResNet-18 x$w, batches $BATCHES"
    (cd "$W" && timeout 900 "$NODE" bench-webgpu.js --backend webgpu --backbone resnet18 --width "$w" --batches "$BATCHES" --steps $STEPS --warmup $WARMUP --images $IMAGES) | tee -a "$J"
  done
else
  echo "== no hardware WebGPU adapter: throughput not measured"; echo '{"throughput": "not measured: no hardware WebGPU adapter"}' >> "$J"
fi

"$NODE" -e 'const parts = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const out = { runs: [] }; for (const p of parts) { if (p.backend) out.runs.push(p); else Object.assign(out, p); }
  console.log(JSON.stringify(out, null, 1))' "$J" > "$OUT/webgpu.json"
cat "$OUT/webgpu.json" | head -80
