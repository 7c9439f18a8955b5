#!/usr/bin/env bash
# Second device call (<= 10 min), on the machine train_session.sh left warm: pick the best English model by
# validation EM (never by test EM), run the compression matrix side by side, export the dense / 50% / 2:4 /
# structured-50% (recovered) checkpoints with INT8, time them with torch on the GPU, and pack results + bundles.
set -uo pipefail
STAGES=${*:-compress export profile}   # any of "compress", "export", "profile" (two calls when the device time is short)
WORK=${WORK:-/tmp/scenic}; OUT=${OUT:-$WORK/out}; RECOVER=${RECOVER:-500}; EXPORT_LIMIT=${EXPORT_LIMIT:-600}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpuwheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
t0=$(date +%s)
[ -f "$WORK/train-en/results.json" ] || { echo "no training results in $WORK (machine not warm): run train_session.sh first"; exit 1; }
BEST=$(python3 - "$WORK"/train-en* <<'PY'
import json, sys, pathlib
rows = [(r, pathlib.Path(root)) for root in sys.argv[1:] if (pathlib.Path(root) / "results.json").is_file()
        for r in json.loads((pathlib.Path(root) / "results.json").read_text())["runs"] if r["parameters"] <= 60e6]
best, root = max(rows, key=lambda t: (t[0]["best_val_em"], -t[0]["parameters"]))
print(next(root.glob(f"parts/*/runs/{best['name']}")))
PY
)
echo "best by validation EM: $BEST"; echo "$BEST" > "$WORK/best.txt"
if [[ " $STAGES " == *" compress "* ]]; then
python3 benchmarks/parallel_matrix.py compress_matrix --out "$WORK/compress" --jobs "${COMPRESS_JOBS:-4}" --timeout 200 \
    --configs ${COMPRESS_CONFIGS:-dense mag30 mag50 mag70 2:4 2:4-sparsegpt struct25 struct50} \
    -- --model "$BEST" --data "$WORK/en100k" --device cuda --quiet --keep-checkpoints \
       --recover-steps "$RECOVER" --quant ${COMPRESS_QUANT-int8-static} --test-limit "${COMPRESS_LIMIT:-2000}"
echo "compress done after $(( $(date +%s) - t0 ))s"
tar czf "$OUT/compress_results.tgz" -C "$WORK" --exclude='*/runs/*/*' best.txt compress
grep -E '^\|' "$WORK/compress/results.md" | cut -c1-150
fi
[[ " $STAGES " == *" export "* || " $STAGES " == *" profile "* ]] || exit 0
C="$WORK/compress/parts"
# Recovery fine-tuning lowered EM@1 of the magnitude and 2:4 variants in the compression matrix (see its results),
# so those are exported one-shot; structured pruning needs its recovery.
declare -A CK=( [dense]="$BEST" [mag50]="$C/mag50/runs/mag50" [2of4]="$C/2-4/runs/2-4" [struct50]="$C/struct50/runs/struct50+rec" )
for k in dense mag50 2of4 struct50; do
  [ -d "${CK[$k]}" ] || { echo "missing ${CK[$k]}"; continue; }
  mkdir -p "$WORK/ckpt"; ln -sfn "${CK[$k]}" "$WORK/ckpt/$k"
  [[ " $STAGES " == *" export "* ]] && timeout 200 taskset -c 4-15 python3 benchmarks/export_matrix.py --models "$WORK/ckpt/$k" --data "$WORK/en100k" \
      --out "$WORK/export-$k" --limit "$EXPORT_LIMIT" > "$WORK/export-$k.log" 2>&1 &
done
[[ " $STAGES " == *" profile "* ]] && timeout "${PROFILE_LIMIT:-180}" taskset -c 0-3 python3 -m scenic profile "$WORK/ckpt/dense" "$WORK/ckpt/mag50" "$WORK/ckpt/2of4" "$WORK/ckpt/struct50" \
    --name dense --name mag50 --name 2:4 --name struct50+rec --repeats 20 --device cuda --backend torch \
    --data "$WORK/en100k" --out "$WORK/profile-gpu" > "$WORK/profile-gpu.log" 2>&1
wait
echo "export + profile done after $(( $(date +%s) - t0 ))s"
tar czf "$OUT/compress_export_results.tgz" -C "$WORK" --exclude='*/runs/*/*' --exclude='export-*/exports' \
    best.txt compress profile-gpu profile-gpu.log export-dense export-mag50 export-2of4 export-struct50 \
    export-dense.log export-mag50.log export-2of4.log export-struct50.log 2>/dev/null
# Bundles for the 2-core CPU profile and the hassil baseline on the build machine (<= 7 files of 15 MiB).
( cd "$WORK" && ls export-*/exports/*/bundles/*int8-dynamic* export-dense/exports/*/bundles/*fp32* \
    export-struct50/exports/*/bundles/*fp32* 2>/dev/null | head -20 > bundles.txt; \
  tar cf - -T bundles.txt | split -b 15M -d - "$OUT/bundles.tar.part" )
ls -la "$OUT"
grep -E '^\|' "$WORK/compress/results.md" | cut -c1-150
for k in dense mag50 2of4 struct50; do tail -6 "$WORK/export-$k.log"; done
tail -15 "$WORK/profile-gpu.log"
echo "total $(( $(date +%s) - t0 ))s"
