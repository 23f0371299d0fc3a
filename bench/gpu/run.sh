#!/usr/bin/env bash
# The GPU machine's benchmark, as one device call (no network there):
#   bash bench/gpu/run.sh            with .gpu-carry/ carried (git-excluded), filled by bench/gpu/prepare.sh:
#     node.xz                        this machine's /usr/bin/node, xz-compressed (the GPU image has no Node)
#     tfjs-node-gpu-modules.tar.xz   npm install --ignore-scripts @tensorflow/tfjs-node-gpu@4.22.0 (JS only)
#     cifar-10-binary.tar.gz         ../shared/datasets/cifar10-5k (4000 train + 1000 test)
# 1. machine, Node, the CUDA/cuDNN libraries tfjs-node-gpu 4.22 needs (CUDA 11.2 + cuDNN 8.1);
# 2. the tfjs-node-gpu install step (scripts/install.js gpu download: fetches libtensorflow-gpu
#    2.9.1 from storage.googleapis.com) and a require of the package, recording the exact failure;
# 3. the PyTorch reference of our multi-exit networks (bench/torch_ref.py, specs from
#    bench/write-spec.ts at width 1) on the GPU: training img/s of the three backbones, and
#    ResNet-18 ×1 with three exits trained on the CIFAR-10 5k subset (proposed loss, λ = 0.1).
# Writes $OUT/result.json and $OUT/log.txt. Test it on a CPU with: GPU_SMOKE=1 bash bench/gpu/run.sh
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
C=.gpu-carry
DEV=cuda; EPOCHS=${EPOCHS:-15}; STEPS=40; PY=python3
if [ -n "${GPU_SMOKE:-}" ]; then DEV=cpu; EPOCHS=1; STEPS=2; PY=${PY_SMOKE:-/usr/bin/python3}; fi
exec > >(tee "$OUT/log.txt") 2>&1
J="$OUT/parts.jsonl"; : > "$J"
note() { printf '%s\n' "$1" >> "$J"; }

echo "== machine"; date -u
nvidia-smi || echo "nvidia-smi failed"
uname -a; nproc; free -g | head -2
$PY -c "import torch,json; print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda, 'available': torch.cuda.is_available(), 'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))" | tee -a "$J"

echo "== node"
if command -v node >/dev/null; then NODE=node; echo "node on PATH: $(node --version)"; note '{"nodeOnPath": true}'
else echo "no node on PATH"; note '{"nodeOnPath": false}'; NODE=""; fi
if [ -z "$NODE" ] && [ -f $C/node.xz ]; then
  xz -dc $C/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node && echo "carried node: $(/tmp/node --version)"
fi

echo "== CUDA libraries (tfjs-node-gpu 4.22 = TensorFlow 2.9.1 = CUDA 11.2 + cuDNN 8.1)"
LIBS=$(ldconfig -p | grep -E "libcudart\.so|libcudnn\.so|libcublas\.so" | awk '{print $1}' | sort -u | tr '\n' ' ')
PYLIBS=$(find / -xdev \( -name "libcudart.so*" -o -name "libcudnn.so*" \) 2>/dev/null | grep -v "^/proc" | head -20 | tr '\n' ' ')
echo "ldconfig: $LIBS"; echo "found: $PYLIBS"
$PY - "$LIBS" "$PYLIBS" >> "$J" <<'EOF'
import json, sys
print(json.dumps({"ldconfigCudaLibs": sys.argv[1].split(), "cudaLibFiles": sys.argv[2].split(),
                  "hasCudart11": "libcudart.so.11.0" in sys.argv[1] + sys.argv[2], "hasCudnn8": "libcudnn.so.8" in sys.argv[1] + sys.argv[2]}))
EOF

echo "== tfjs-node-gpu 4.22.0: install step and require, offline"
if [ -n "$NODE" ] && [ -f $C/tfjs-node-gpu-modules.tar.xz ]; then
  rm -rf /tmp/tfg && mkdir -p /tmp/tfg && tar xJf $C/tfjs-node-gpu-modules.tar.xz -C /tmp/tfg
  (cd /tmp/tfg/node_modules/@tensorflow/tfjs-node-gpu && timeout 120 "$NODE" scripts/install.js gpu download) > "$OUT/tfjs-install.txt" 2>&1
  RC=$?; echo "install.js exit $RC"; tail -25 "$OUT/tfjs-install.txt"
  (cd /tmp/tfg && timeout 60 "$NODE" -e "try { require('@tensorflow/tfjs-node-gpu'); console.log('LOADED') } catch (e) { console.log('REQUIRE FAILED: ' + e.message.split('\n')[0]) }") > "$OUT/tfjs-require.txt" 2>&1
  cat "$OUT/tfjs-require.txt"
  $PY - "$RC" "$OUT/tfjs-install.txt" "$OUT/tfjs-require.txt" >> "$J" <<'EOF'
import json, sys
tail = lambda f: open(f, errors="replace").read()[-1500:]
print(json.dumps({"tfjsNodeGpuInstallExit": int(sys.argv[1]), "tfjsNodeGpuInstallTail": tail(sys.argv[2]), "tfjsNodeGpuRequire": tail(sys.argv[3]).strip()}))
EOF
else
  echo "no node or no tfjs-node-gpu package carried"; note '{"tfjsNodeGpu": "not tried: no node or package carried"}'
fi

echo "== PyTorch reference on $DEV: training throughput (random data, three exits, proposed loss)"
for b in resnet18 vgg13 alexnet; do
  for bs in 64 256; do
    $PY bench/torch_ref.py throughput --spec bench/gpu/specs/$b-1.json --device $DEV --batch $bs --steps $STEPS --warmup 5 | tee -a "$J"
  done
done
echo "== PyTorch reference on $DEV: ResNet-18 x1, three exits, CIFAR-10 5k, $EPOCHS epochs"
$PY bench/torch_ref.py train --spec bench/gpu/specs/resnet18-1.json --cifar $C/cifar-10-binary.tar.gz --epochs $EPOCHS --device $DEV --batch 64 | tee -a "$J"

$PY - "$J" > "$OUT/result.json" <<'EOF'
import json, sys
parts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
out = {"throughput": [], "train": None}
for p in parts:
    if p.get("mode") == "throughput": out["throughput"].append({k: p[k] for k in ("backbone", "width", "device", "batch", "imgPerSec", "stepMs", "parameters")})
    elif p.get("mode") == "train": out["train"] = {k: v for k, v in p.items() if k not in ("epochStats",)}; out["train"]["epochSeconds"] = [round(e["seconds"], 2) for e in p["epochStats"]]
    else: out.update(p)
print(json.dumps(out, indent=1))
EOF
cat "$OUT/result.json"
