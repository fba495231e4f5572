#!/usr/bin/env bash
# The GPU checks of sparsefield in one script (issue 11, section 5), within about 8 minutes
# on one CUDA device:
#   1. the gpu-marked tests (pytest -m gpu);
#   2. the ensemble-training benchmark at [P24] size (5 MLPs of depth 100, width 300):
#      one batched ensemble vs one model at a time, same data on the device, same indexing;
#   3. the [P24] 85% grid at paper depth and width (sweeps/p24_dnn.toml, size paper-gpu:
#      ReLU baseline, CReLU/CST at V'(q*) = 0.5/0.7/0.9, CReLU at 1.5x the bifurcation
#      clip, ReLU_tau, ST_tau), 5 seeds, 10,000 steps, each activation family as one batched
#      ensemble (--max-members 20), in-process (--workers 0: no Dask on the GPU machine);
#   4. the width control (sweeps/p24_width.toml, size paper-gpu: ReLU and CReLU 85% at
#      V'(q*) = 0.5/0.7, widths 300/600/1000/1200, depth 100, 5 seeds, 10,000 steps).
#
#   benchmarks/gpu.sh OUTDIR            # on the CUDA machine
#   benchmarks/gpu.sh OUTDIR --tiny     # a dry run of every step on the CPU (seconds)
#
# Needs only what the GPU machine has (python with torch, numba, scipy, sympy, matplotlib)
# plus tqdm and pytest: when they are missing they are installed from wheels in .whl/
# (carry that folder; fill it on a networked machine with
#  `pip download --no-deps -d .whl tqdm pytest pluggy iniconfig packaging`).
# Results land under OUTDIR (flat files, so that they come back from a device run):
# gpu.log, tests.txt, bench_training.json, p24_dnn_{summary,points}.csv,
# p24_width_{summary,points}.csv.
# The sweep is resumable: rerunning with the same OUTDIR trains only what is missing.
set -uo pipefail
OUT=${1:?usage: benchmarks/gpu.sh OUTDIR [--tiny]}
MODE=${2:-full}
PY=${PYTHON:-python3}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/gpu.log"; }
t0=$(date +%s)

log "sparsefield gpu.sh ($MODE) in $(pwd), python $($PY -c 'import sys; print(sys.version.split()[0])')"
if ! $PY -c "import sparsefield" 2>/dev/null; then
    $PY -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2 | tee -a "$OUT/gpu.log"
fi
for mod in tqdm pytest; do
    if ! $PY -c "import $mod" 2>/dev/null; then
        if [ -d .whl ]; then
            $PY -m pip install -q --no-deps --no-index --find-links .whl "$mod" pluggy iniconfig \
                packaging 2>&1 | tail -2 | tee -a "$OUT/gpu.log"
        fi
        $PY -c "import $mod" 2>/dev/null || log "missing python module $mod (no .whl/ wheels)"
    fi
done
$PY -c "import tqdm" 2>/dev/null || { log "tqdm is required: stop"; exit 2; }
$PY - <<'PY' 2>&1 | tee -a "$OUT/gpu.log"
import torch
ok = torch.cuda.is_available()
print("torch", torch.__version__, "cuda", torch.version.cuda,
      torch.cuda.get_device_name(0) if ok else "NO CUDA DEVICE")
PY

if [ "$MODE" = "--tiny" ]; then
    DEVICE=cpu; BENCH="--members 2 --width 16 --depth 3 --steps 5 --warmup 1 --n-train 512"
    SIZE=smoke; MEMBERS=4; T_TEST=120; T_BENCH=60; T_GRID=120; T_WIDTH=120
else
    DEVICE=cuda; BENCH="--members 5 --width 300 --depth 100 --steps 60 --warmup 10 --batch-size 64"
    SIZE=paper-gpu; MEMBERS=20; T_TEST=60; T_BENCH=60; T_GRID=180; T_WIDTH=180
fi

log "1/4 gpu-marked tests"
if $PY -c "import pytest" 2>/dev/null; then
    timeout $T_TEST $PY -m pytest -q -m gpu -p no:cacheprovider tests/test_empirical_train.py \
        > "$OUT/tests.txt" 2>&1
    log "tests exit $? : $(tail -1 "$OUT/tests.txt")"
else
    log "tests skipped: no pytest"
fi

log "2/4 ensemble benchmark ($BENCH)"
timeout $T_BENCH $PY benchmarks/bench_training.py $BENCH --device $DEVICE --threads 1 --json \
    > "$OUT/bench_training.json" 2>>"$OUT/gpu.log"
log "bench exit $? : $($PY -c "import json; r=json.load(open('$OUT/bench_training.json')); print(f\"ratio {r['ratio']:.2f} (no hooks {r['ratio_no_hooks']:.2f}), one-at-a-time {r['plain_samples_per_s']:.0f} samples/s, ensemble {r['ensemble_samples_per_s']:.0f}\")" 2>&1)"

grid() {  # grid STEP SWEEP TIMEOUT: one sweep file at size $SIZE, resumable under OUTDIR
    log "$1 sweeps/$2.toml, size $SIZE, ensembles of up to $MEMBERS members"
    timeout $3 $PY -m sparsefield sweep sweeps/$2.toml --size $SIZE \
        --workers 0 --max-members $MEMBERS --results "$OUT/results" --no-progress \
        > "$OUT/$2.txt" 2>&1
    local rc=$?
    [ $rc = 124 ] && log "$2 stopped at its time limit: rerun with the same OUTDIR to resume" \
        || log "$2 exit $rc"
    tee -a "$OUT/gpu.log" < "$OUT/$2.txt" >/dev/null
    for f in summary points; do
        src="$OUT/results/$2/sweep-$SIZE/$f.csv"
        [ -f "$src" ] && cp "$src" "$OUT/$2_$f.csv"
    done
}
grid 3/4 p24_dnn $T_GRID
grid 4/4 p24_width $T_WIDTH
log "done in $(( $(date +%s) - t0 )) s"
