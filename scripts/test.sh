#!/usr/bin/env bash
# Set up what is missing, then run the whole test suite:
#   serial unit tests and NEST/analytic validation tests, then the MPI tests under mpirun
#   with 2, 3 and 4 ranks (4 oversubscribed on 2 cores). Ends with one summary line.
# Long validation runs are separate: see README ("Long validation and benchmarks").
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
T0=$SECONDS
bash scripts/setup.sh --test || { echo "set-up failed"; exit 1; }
echo "== set-up took $((SECONDS - T0)) s"
PY="$ROOT/.venv/bin/python"
# one BLAS thread per process: ranks and test processes already share the cores
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
REPORTS="$(mktemp -d)"
status=0

# serial tests in parallel worker processes (pytest-xdist), one per core up to 4, whole files
# per worker (module fixtures are built once); DISTSIM_TEST_WORKERS overrides (0: in-process).
# (getconf, not nproc: nproc answers OMP_NUM_THREADS, which is 1 here)
CORES="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
WORKERS="${DISTSIM_TEST_WORKERS:-$(( CORES < 4 ? CORES : 4 ))}"
echo "== serial tests (unit, validation against NEST and analytic results), $WORKERS workers"
"$PY" -m pytest -q -p no:cacheprovider -m "not slow" -n "$WORKERS" --dist loadfile \
  --junitxml="$REPORTS/serial.xml" tests/unit tests/validation || status=1
echo "== serial tests took $((SECONDS - T0)) s since the start"

for n in 2 3 4; do
  echo "== MPI tests with $n ranks"
  DISTSIM_JUNIT="$REPORTS/mpi$n.xml" timeout 900 mpirun -n "$n" "$PY" -m mpi4py -m pytest -q \
    -p no:cacheprovider --with-mpi -m "not slow" tests/mpi || status=1
done
echo "== all tests took $((SECONDS - T0)) s since the start"

"$PY" - "$REPORTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
p = f = s = e = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        t = int(suite.get("tests", 0)); fl = int(suite.get("failures", 0))
        er = int(suite.get("errors", 0)); sk = int(suite.get("skipped", 0))
        p += t - fl - er - sk; f += fl + er; s += sk
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status
