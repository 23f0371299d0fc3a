#!/usr/bin/env bash
# What the per-exit CE (α = method.exitLossWeight) changes at full width, on the GPU machine:
# PyTorch reference ResNet-18 ×1 with exits at block2/4/6 (heads and gates as ours), trained on the
# CIFAR-10 5k subset (.gpu-carry/cifar-10-binary.tar.gz, see prepare.sh) by the proposed loss for each
# (λ, α). Writes $OUT/alpha.jsonl. Smoke test on a CPU: GPU_SMOKE=1 bash bench/gpu/alpha.sh
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
DEV=cuda; EPOCHS=${EPOCHS:-20}; PY=python3
if [ -n "${GPU_SMOKE:-}" ]; then DEV=cpu; EPOCHS=1; PY=/usr/bin/python3; fi
for cfg in "0.1 0" "0.1 0.5" "0.5 0.5" "0.01 0.5" "1 0.5"; do
  set -- $cfg
  $PY bench/torch_ref.py train --spec bench/gpu/specs/resnet18-1.json --cifar .gpu-carry/cifar-10-binary.tar.gz \
    --epochs $EPOCHS --device $DEV --batch 64 --lam $1 --alpha $2 \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.pop('epochStats',None); print(json.dumps(d))" | tee -a "$OUT/alpha.jsonl"
done
