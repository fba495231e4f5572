#!/usr/bin/env bash
# Rerun every script the README's speed tables name ("Benchmarks", "Speed and accuracy
# against peers") and print the README-ready lines of each, with the load average before and
# after each script and the commit.  One thread everywhere; each script takes <= ~3 CPU-minutes
# on a quiet machine.  Run it on a quiet machine, from the repository root:
#
#     bash benchmarks/readme_numbers.sh [PYTHON] [PEERS_VENV]
#
# PYTHON: the interpreter with sparsefield installed (default: python3); PEERS_VENV: a
# virtual environment holding neural-tangents, jax and dks (default /work/peers-venv if it
# exists; the peer rows skip cleanly without it).  Full outputs go to $OUT (default
# benchmarks/out/, ignored by git); the summary is printed at the end, followed by its
# comparison with the previous run's summary, if any (kept as $OUT/summary.prev.txt;
# benchmarks/compare_runs.py: every README number that moved by more than 30%).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
PEERS=${2:-/work/peers-venv}
OUT=${OUT:-benchmarks/out}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
PEER_ARGS=()
[ -d "$PEERS" ] && PEER_ARGS=(--peers-venv "$PEERS")

load() { cut -d' ' -f1 /proc/loadavg; }
run() {  # run NAME ARGS...: the script's output to $OUT/NAME.txt, its CPU time and load
    local name=$1; shift
    local before; before=$(load)
    local t0; t0=$(date +%s)
    "$PY" "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err" || {
        echo "$name FAILED (see $OUT/$name.err)"; tail -5 "$OUT/$name.err"; return 0; }
    echo "== $name: $* (wall $(( $(date +%s) - t0 )) s; load $before -> $(load))" >> "$OUT/summary.txt"
}

[ -s "$OUT/summary.txt" ] && mv "$OUT/summary.txt" "$OUT/summary.prev.txt"
: > "$OUT/summary.txt"
{ echo "commit $(git rev-parse --short HEAD) $(git status --porcelain | grep -q . && echo '(modified)')";
  echo "$(date -u +%FT%TZ), $(getconf _NPROCESSORS_ONLN) CPUs, load $(load), $("$PY" -c 'import platform; print(platform.processor() or platform.machine())')"; } >> "$OUT/summary.txt"
run cli benchmarks/bench_cli.py --runs 9
run theory benchmarks/bench_theory.py
run numerics benchmarks/bench_numerics.py
run routes benchmarks/bench_routes.py --all  # --all: GoLU (1% nested-panel points) too
run pl_univariate benchmarks/bench_pl_univariate.py
run training benchmarks/bench_training.py --members 4 --width 300 --depth 100 --threads 1 \
    --steps 20 --repeats 3 --stats-every 10
run gpt benchmarks/bench_gpt.py
run peers benchmarks/bench_peers.py "${PEER_ARGS[@]}"

summary() {  # the README lines of each script
    echo; echo "### bench_cli (README Benchmarks row)"; tail -6 "$OUT/cli.txt"
    echo; echo "### bench_theory"; grep '^README' "$OUT/theory.txt" || true
    echo; echo "### bench_numerics"; sed -n '/^README/,$p' "$OUT/numerics.txt"
    grep -A5 '^finite width' "$OUT/numerics.txt" || true
    echo; echo "### bench_routes"; grep '^README' "$OUT/routes.txt" || true
    echo; echo "### bench_pl_univariate"; sed -n '/^activation/,$p' "$OUT/pl_univariate.txt"
    echo; echo "### bench_training"; grep -E 'load average|trainer /|stacked ensemble /|ms CPU' "$OUT/training.txt" || true
    echo; echo "### bench_gpt"; cat "$OUT/gpt.txt"
    echo; echo "### bench_peers (README table)"; grep -E '^load average' "$OUT/peers.txt" || true
    sed -n '/^| case/,$p' "$OUT/peers.txt"
}
summary >> "$OUT/summary.txt" 2>&1
cat "$OUT/summary.txt"
if [ -s "$OUT/summary.prev.txt" ]; then
    echo; echo "### against the previous run ($OUT/summary.prev.txt -> summary.txt)"
    "$PY" benchmarks/compare_runs.py "$OUT/summary.prev.txt" "$OUT/summary.txt" || true
fi
