#!/usr/bin/env bash
# Paper-scale check on the GPU machine: the PyTorch reference ResNet-18 ×1 with exits at block2/4/6
# trained on all 50 000 CIFAR-10 training images (the shared JPEG folders, carried as
# .gpu-carry2/cifar10-jpg.tar.gz), tested on the 10 000 test images, for the paper's loss (α = 0)
# and with the per-exit CE (α = 0.5). Writes $OUT/full-cifar.jsonl.
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
DEV=cuda; EPOCHS=${EPOCHS:-8}; PY=python3
for cfg in "0.1 0" "0.1 0.5"; do
  set -- $cfg
  $PY bench/torch_ref.py train --spec bench/gpu/specs/resnet18-1.json --jpg .gpu-carry2/cifar10-jpg.tar.gz \
    --epochs $EPOCHS --device $DEV --batch 128 --lam $1 --alpha $2 2>/dev/null \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['epochSeconds']=[round(e['seconds'],1) for e in d.pop('epochStats')]; print(json.dumps(d))" | tee -a "$OUT/full-cifar.jsonl"
done
