#!/usr/bin/env bash
# The main job: set up what is missing, simulate the model on 2 MPI ranks into one HDF5 file,
# and reduce it with dask to population rates (table and figures in out/).
#   bash scripts/main.sh                 # default model and duration (see below)
#   MODEL=brunel T_SIM=1000 bash scripts/main.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
PY="$ROOT/.venv/bin/python"
RANKS="${RANKS:-2}"
MODEL="${MODEL:-brunel}"
SETS="${SETS:-}"
T_PRESIM="${T_PRESIM:-500}"
T_SIM="${T_SIM:-1000}"
OUT="${OUT:-out/$MODEL.h5}"
mkdir -p "$(dirname "$OUT")" out/figures
set_args=()
for kv in $SETS; do set_args+=(--set "$kv"); done
echo "[main] $MODEL on $RANKS ranks: ${T_PRESIM} ms warm-up, ${T_SIM} ms recorded -> $OUT"
mpirun -n "$RANKS" "$PY" -m mpi4py -m distsim run "$MODEL" "${set_args[@]}" --seed 1 \
  --t-presim "$T_PRESIM" --t-sim "$T_SIM" -o "$OUT" --overwrite
"$PY" -m distsim analyze "$OUT" --t-start "$T_PRESIM" --fig-dir out/figures
echo "[main] figures in out/figures/"
