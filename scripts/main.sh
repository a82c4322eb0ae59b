#!/usr/bin/env bash
# The main job: set up what is missing, simulate the Potjans-Diesmann microcircuit at full
# scale (77,169 neurons, 0.3 billion synapses) on 2 MPI ranks into one HDF5 file, and reduce
# it with dask to population rates against the reference rates (table and figures in out/).
#   bash scripts/main.sh                                   # full scale, 0.5 s warm-up + 2 s
#   SETS="N_scaling=0.1" T_SIM=5000 bash scripts/main.sh   # another scale or duration
#   MODEL=brunel SETS="g=6 eta=4" bash scripts/main.sh     # another model
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
PY="$ROOT/.venv/bin/python"
# one BLAS thread per process: ranks and test processes already share the cores
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
RANKS="${RANKS:-2}"
MODEL="${MODEL:-microcircuit}"
if [ -z "${SETS+x}" ]; then SETS="N_scaling=1.0"; [ "$MODEL" = microcircuit ] || SETS=""; fi
T_PRESIM="${T_PRESIM:-500}"
T_SIM="${T_SIM:-2000}"
OUT="${OUT:-out/$MODEL.h5}"
mkdir -p "$(dirname "$OUT")" out/figures
set_args=()
for kv in $SETS; do set_args+=(--set "$kv"); done
echo "[main] $MODEL on $RANKS ranks: ${T_PRESIM} ms warm-up, ${T_SIM} ms recorded -> $OUT"
mpirun -n "$RANKS" "$PY" -m mpi4py -m distsim run "$MODEL" "${set_args[@]}" --seed 1 \
  --t-presim "$T_PRESIM" --t-sim "$T_SIM" -o "$OUT" --overwrite
"$PY" -m distsim analyze "$OUT" --t-start "$T_PRESIM" --fig-dir out/figures
echo "[main] figures in out/figures/"
