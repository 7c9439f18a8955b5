#!/usr/bin/env bash
# One device call (<= 10 min) on a fresh machine, with the reference checkpoint carried in (REF):
#   trainings still missing from the matrix (CONFIGS, run by train_session.sh at JOBS=2) on the GPU, and meanwhile
#   the compression matrix with recovery that inherits the checkpoint's own objective (at two recovery lrs), then
#   export_matrix (PyTorch vs ONNX FP32 / INT8 dynamic / INT8 QDQ) of the dense and the one-shot 2:4 checkpoints on CPU cores.
#   REF=.scratch/ref/llama-tiny-l0-s0-3000 bash benchmarks/h100/recovery_export_session.sh CONFIG...   (carry .gpuwheels .gpudata REF)
set -uo pipefail
WORK=${WORK:-/tmp/scenic}; OUT=${OUT:-$WORK/out}; REF=${REF:?checkpoint folder}; LIMIT=${EXPORT_LIMIT:-400}
mkdir -p "$WORK" "$OUT"; t0=$(date +%s)
[ $# -gt 0 ] && (ZH_STEPS=0 JOBS=2 PART_LIMIT=${PART_LIMIT:-520} bash benchmarks/h100/train_session.sh "$@" > "$WORK/train.log" 2>&1) &
sleep 5; while [ ! -f "$WORK/en100k/manifest.json" ]; do sleep 2; done
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
for lr in 3e-5 3e-4; do
  python3 benchmarks/parallel_matrix.py compress_matrix --out "$WORK/compress-lr$lr" --jobs 3 --timeout 240 --configs 2:4 struct25 struct50 \
      -- --model "$REF" --data "$WORK/en100k" --device cuda --quiet --recover-steps 300 --lr "$lr" --quant int8-static \
         --test-limit 1000 --keep-checkpoints > "$WORK/compress-lr$lr.log" 2>&1
  if [ "$lr" = 3e-5 ]; then
    for m in "$REF" "$WORK/compress-lr$lr/parts/2-4/runs/2-4"; do n=$(basename "$m")
      OMP_NUM_THREADS=6 timeout 420 python3 benchmarks/export_matrix.py --models "$m" --reference "$REF" --data "$WORK/en100k" \
          --out "$WORK/export-$n" --limit "$LIMIT" > "$WORK/export-$n.log" 2>&1 &
    done
  fi
done
wait
tar czf "$OUT/results.tgz" -C "$WORK" --exclude='*/runs/*/*' --exclude='export-*/exports' --exclude='*/bundles' \
    compress-lr3e-5 compress-lr3e-4 export-* train-en train-en-small train.log compress-lr*.log gen.log 2>/dev/null
grep -h '^|' "$WORK"/train-en*/results.md 2>/dev/null | cut -c1-120
for lr in 3e-5 3e-4; do echo "recovery lr $lr"; grep '^|' "$WORK/compress-lr$lr/results.md" | cut -c1-140; done
for f in "$WORK"/export-*/results.md; do grep '^|' "$f" | cut -c1-160; done
tail -3 "$WORK"/export-*.log
echo "total $(( $(date +%s) - t0 ))s"
