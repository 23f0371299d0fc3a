#!/usr/bin/env bash
# The torch engine on the GPU machine, through the product's own CLI, as one device call (that
# machine has PyTorch with CUDA but no Node and no network):
#   bash bench/gpu/engine.sh      with .gpu-carry-engine/ carried, filled by bench/gpu/prepare-engine.sh
# 1. machine: GPU, driver, torch, the carried Node and project;
# 2. img/s at batch 128 and 256: `early-exit train` (ResNet-18 ×1, exits after blocks 2/4/6,
#    all of CIFAR-10 from the 60k JPEG set, training.backend torch) — the mean of epochs 2… from
#    metrics.jsonl — against the naive PyTorch loop (bench/torch_ref.py) on the same GPU, on random
#    data and on the same images; share of the GPU's peak (3 × 2 × MACs per training image);
#    and at batch 256 once more with EARLY_EXIT_TORCH_COMPILE=reduce-overhead (COMPILE=0 skips it);
# 3. time to 85 % hard-exit accuracy: the same network, α = 0.5, λ = 0.1, batch 128, cosine lr,
#    EPOCHS epochs; per epoch the cumulative training time and the validation hard-exit accuracy,
#    at the end the test accuracy (results.json);
# 4. while BUDGET_S seconds remain: Table 1 cells (baseline / BranchyNet / proposed × ResNet-18,
#    VGG-13, AlexNet at width 1) with TABLE_EPOCHS epochs;
# 5. `early-exit report` of every run.
# Writes $OUT/result.json, $OUT/log.txt, $OUT/runs/ (the run folders without checkpoints) and
# $OUT/report.html. Test it on a CPU: GPU_SMOKE=1 bash bench/gpu/engine.sh (tiny widths, a
# 1 000-image subset, 2 epochs, /usr/bin/python3).
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
C=${CARRY:-.gpu-carry-engine}
PY=python3; DEVICE=cuda; WIDTH=1; EPOCHS=${EPOCHS:-10}; TABLE_EPOCHS=${TABLE_EPOCHS:-10}; BUDGET_S=${BUDGET_S:-480}; REF_STEPS=60
if [ -n "${GPU_SMOKE:-}" ]; then PY=${PY_SMOKE:-/usr/bin/python3}; DEVICE=cpu; WIDTH=0.0625; EPOCHS=2; TABLE_EPOCHS=1; BUDGET_S=${BUDGET_S:-240}; REF_STEPS=3; fi
exec > >(tee "$OUT/log.txt") 2>&1
J="$OUT/parts.jsonl"; : > "$J"
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
note() { printf '%s\n' "$1" >> "$J"; }

echo "== machine"; date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"
nproc; free -g | head -2
export EARLY_EXIT_PYTHON=$(command -v "$PY")
"$PY" -c "import torch,json; print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda, 'available': torch.cuda.is_available(), 'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, 'bf16': torch.cuda.is_available() and torch.cuda.is_bf16_supported()}))" | tee -a "$J"

echo "== the carried Node and project"
W=${WORK:-/tmp/ee-engine}; rm -rf "$W"; mkdir -p "$W"
tar xJf "$C/project.tar.xz" -C "$W" || { echo "no project carried"; exit 1; }
if command -v node >/dev/null; then NODE=$(command -v node); else xz -dc "$C/node.xz" > "$W/node" && chmod +x "$W/node" && NODE="$W/node"; fi
echo "node $("$NODE" --version)"
P="$W/project"
EE() { "$NODE" "$P/bin/early-exit.js" "$@"; }
DATA="$C/cifar10-jpg.tar.gz"
if [ -n "${GPU_SMOKE:-}" ]; then
  # 40 training and 10 test images per class, same layout
  mkdir -p "$W/mini" && tar xzf "$DATA" -C "$W/mini"
  for s in train test; do for d in "$W/mini/$s"/*/; do n=$([ $s = train ] && echo 40 || echo 10); ls "$d" | sort | tail -n +$((n + 1)) | sed "s|^|$d|" | xargs rm -f; done; done
  tar czf "$W/mini.tar.gz" -C "$W/mini" train test; DATA="$W/mini.tar.gz"
  rm -f /tmp/mini.tar.gz.0.pt  # torch_ref.py's decode cache of an earlier smoke run
fi
DATA=$(readlink -f "$DATA")
RUNS="$W/runs"; mkdir -p "$RUNS"

# experiment <file> <backbone> <method> <batch> <epochs> <alpha> [timingImages]
experiment() {
  "$NODE" -e '
    const [file, backbone, method, batch, epochs, alpha, timing] = process.argv.slice(1);
    const exits = { resnet18: ["block2", "block4", "block6"], vgg13: ["conv2", "conv4", "conv7"], alexnet: ["conv1", "conv2", "conv4"] }[backbone];
    const x = {
      name: `${backbone}-${method}-b${batch}`,
      backbone: { name: backbone, width: Number(process.env.WIDTH) },
      exits: method === "baseline" ? [] : exits.map((point) => ({ point })),
      method: { name: method, lambda: 0.1, exitLossWeight: method === "proposed" ? Number(alpha) : 0 },
      dataset: { name: "folder", path: process.env.DATA },
      training: { epochs: Number(epochs), batchSize: Number(batch), optimizer: "adam", lr: 1e-3, schedule: "cosine", backend: "torch", device: process.env.DEVICE },
      evaluation: { timingImages: Number(timing ?? 0) },
    };
    require("fs").writeFileSync(file, JSON.stringify(x, null, 1));
  ' "$@"
}
export WIDTH DATA DEVICE

# train <label> <experiment file>: one CLI run; its folder's summary as a JSON line
train() {
  local label=$1 file=$2 t=$(date +%s)
  EE train "$file" --out "$RUNS/$label" 2>&1 | tail -25
  local dir=$(ls -d "$RUNS/$label"/*/ 2>/dev/null | head -1)
  "$NODE" -e '
    const fs = require("fs"), path = require("path");
    const [label, dir, wall] = process.argv.slice(1);
    const read = (f) => { try { return JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")); } catch { return null; } };
    const metrics = (() => { try { return fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map(JSON.parse); } catch { return []; } })();
    const s = read("status.json"), r = read("results.json");
    const log = (() => { try { return fs.readFileSync(path.join(dir, "worker.log"), "utf8"); } catch { return ""; } })();
    const engine = /torch engine: (.*)/.exec(log)?.[1] ?? null;
    let cum = 0;
    const epochs = metrics.map((m) => ({ epoch: m.epoch, seconds: +m.seconds.toFixed(2), cumulative: +(cum += m.seconds).toFixed(2), imgPerSec: Math.round(m.imagesPerSecond), valHard: +m.hardAccuracy.toFixed(4), valSoft: m.softAccuracy }));
    const later = epochs.slice(1);
    console.log(JSON.stringify({
      label, state: s?.state, error: s?.error, backend: s?.backendReason, engine, wallSeconds: Number(wall), trainSeconds: r?.trainSeconds,
      imgPerSec: later.length ? Math.round(later.reduce((a, e) => a + e.imgPerSec, 0) / later.length) : epochs[0]?.imgPerSec,
      epochs, macs: r?.costs, test: r && { soft: r.softAccuracy, hard: r.hard.accuracy, final: r.finalAccuracy, averageMacsPct: r.hard.averageMacsPct, shares: r.hard.rows.map((x) => +x.share.toFixed(4)) },
      timing: r?.timing ?? null,
    }));
  ' "$label" "$dir" "$(( $(date +%s) - t ))" | tee -a "$J"
}

echo "== img/s at batch 128 and 256: the product (early-exit train, torch engine) vs the naive PyTorch loop"
for b in 128 256; do
  experiment "$W/thru-$b.exits.json" resnet18 proposed $b 3 0.5
  train "throughput-b$b" "$W/thru-$b.exits.json"
  (cd "$P" && OMP_WAIT_POLICY=PASSIVE "$PY" bench/torch_ref.py throughput --spec "bench/gpu/specs/resnet18-$WIDTH.json" --device "$DEVICE" --batch $b --steps $REF_STEPS --warmup 5) | tee -a "$J"
  (cd "$P" && OMP_WAIT_POLICY=PASSIVE "$PY" bench/torch_ref.py train --spec "bench/gpu/specs/resnet18-$WIDTH.json" --jpg "$DATA" --epochs 2 --device "$DEVICE" --batch $b --alpha 0.5 2>/dev/null \
    | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); d['epochSeconds']=[round(e['seconds'],2) for e in d.pop('epochStats')]; d['label']='reference-train-b$b'; print(json.dumps(d))") | tee -a "$J"
done

if [ -z "${GPU_SMOKE:-}" ] && [ "${COMPILE:-1}" = 1 ]; then
  echo "== the same at batch 256 with EARLY_EXIT_TORCH_COMPILE=reduce-overhead (torch.compile + CUDA graphs, after its check; at $(elapsed) s)"
  EARLY_EXIT_TORCH_COMPILE=reduce-overhead train "throughput-b256-compiled" "$W/thru-256.exits.json"
fi

echo "== time to 85 % hard-exit accuracy: ResNet-18 ×$WIDTH, exits 2/4/6, α 0.5, λ 0.1, batch 128, $EPOCHS epochs (at $(elapsed) s)"
experiment "$W/acc.exits.json" resnet18 proposed 128 "$EPOCHS" 0.5 100
train "accuracy" "$W/acc.exits.json"

echo "== Table 1 cells while the budget lasts ($BUDGET_S s; at $(elapsed) s)"
for bb in resnet18 vgg13 alexnet; do
  for m in proposed branchynet baseline; do
    if [ "$(elapsed)" -gt "$BUDGET_S" ]; then echo "budget spent: skip $bb $m"; note "{\"label\": \"table1-$bb-$m\", \"skipped\": \"budget\"}"; continue; fi
    experiment "$W/t1-$bb-$m.exits.json" "$bb" "$m" 128 "$TABLE_EPOCHS" 0.5
    train "table1-$bb-$m" "$W/t1-$bb-$m.exits.json"
  done
done

echo "== report (at $(elapsed) s)"
EE report $(ls -d "$RUNS"/*/*/) -o "$OUT/report.html" 2>&1 | tail -2
mkdir -p "$OUT/runs"
for d in "$RUNS"/*/*/; do l=$(basename "$(dirname "$d")"); mkdir -p "$OUT/runs/$l"; (cd "$d" && cp -r experiment.json status.json metrics.jsonl results.json worker.log "$OUT/runs/$l/" 2>/dev/null); done

"$NODE" -e '
  const fs = require("fs");
  const parts = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter((l) => l.startsWith("{")).map(JSON.parse);
  const runs = parts.filter((p) => p.label && !p.label.startsWith("reference"));
  const ref = parts.filter((p) => p.mode === "throughput"), refTrain = parts.filter((p) => p.label?.startsWith("reference-train"));
  // a training image costs about 3 × 2 × its MACs (forward, two backward products) in FLOPs
  const PEAK = { bf16: 989e12, fp32: 67e12 };
  const out = { machine: parts.find((p) => "torch" in p && "available" in p), seconds: Number(process.argv[2]), throughput: [], accuracy: null, table1: [] };
  for (const b of [128, 256]) {
    const ours = runs.find((r) => r.label === `throughput-b${b}`), naive = ref.find((r) => r.batch === b), naiveTrain = refTrain.find((r) => r.batch === b);
    const flops = ours?.macs ? 6 * ours.macs.final : null;
    out.throughput.push({ batch: b, engineImgPerSec: ours?.imgPerSec ?? null, engineState: ours?.state, engineError: ours?.error ?? null, naiveRandomImgPerSec: naive?.imgPerSec ?? null, naiveTrainImgPerSec: naiveTrain?.imgPerSec ?? null,
      speedupVsNaive: ours?.imgPerSec && naive?.imgPerSec ? +(ours.imgPerSec / naive.imgPerSec).toFixed(2) : null,
      flopsPerImage: flops, shareOfBf16Peak: flops && ours?.imgPerSec ? +(ours.imgPerSec * flops / PEAK.bf16).toFixed(4) : null, shareOfFp32Peak: flops && ours?.imgPerSec ? +(ours.imgPerSec * flops / PEAK.fp32).toFixed(4) : null,
      epochs: ours?.epochs, backend: ours?.backend });
  }
  const compiled = runs.find((r) => r.label === "throughput-b256-compiled");
  if (compiled) out.compiled = { batch: 256, engineImgPerSec: compiled.imgPerSec, state: compiled.state, error: compiled.error ?? null, backend: compiled.backend, epochs: compiled.epochs };
  const a = runs.find((r) => r.label === "accuracy");
  if (a) {
    const first = a.epochs.find((e) => e.valHard >= 0.85);
    out.accuracy = { ...a, secondsToValHard85: first ? first.cumulative : null, epochToValHard85: first ? first.epoch : null };
  }
  out.table1 = parts.filter((p) => p.label?.startsWith("table1"));
  fs.writeFileSync(process.argv[3], JSON.stringify(out, null, 1));
' "$J" "$(elapsed)" "$OUT/result.json"
cat "$OUT/result.json"
echo "done in $(elapsed) s"
