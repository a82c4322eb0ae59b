#!/usr/bin/env bash
# Set up everything distsim needs, idempotently, on a Debian 12 machine (root).
#
#   bash scripts/setup.sh            # runtime: MPI, parallel HDF5, .venv with distsim
#   bash scripts/setup.sh --test     # also the test and reference tools (pytest, NEST 3.10, nnmt,
#                                    # and the SONATA readers libsonata and bmtk)
#   bash scripts/setup.sh --bench    # --test, plus Brian2 in .venv-brian2 for scripts/bench.py
#
# What is slow to build (mpi4py against MPICH, h5py against parallel HDF5) is kept as wheels in
# a cache outside the repository, keyed by Python, MPICH and HDF5 versions and by "mpi", so a
# wheel built without MPI is never picked up again.  With everything in place this takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WANT_TEST=0
WANT_BENCH=0
for a in "$@"; do
  case "$a" in
    --test) WANT_TEST=1 ;;
    --bench) WANT_TEST=1; WANT_BENCH=1 ;;
    *) echo "setup.sh: unknown option $a (allowed: --test, --bench)" >&2; exit 2 ;;
  esac
done
log() { echo "[setup] $*"; }
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"
VPY="$VENV/bin/python"

# ---- 1. system packages: MPICH and the HDF5 built for it --------------------------------
need_apt=()
command -v mpicc.mpich >/dev/null 2>&1 || need_apt+=(mpich libmpich-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkgconf)
pkg-config --exists hdf5-mpich 2>/dev/null || need_apt+=(libhdf5-mpich-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
MPICH_VER="$(dpkg-query -W -f='${Version}' mpich 2>/dev/null || mpichversion 2>/dev/null | head -1 | tr -dc '0-9.')"
HDF5_VER="$(pkg-config --modversion hdf5-mpich)"

# ---- 2. the project virtual environment --------------------------------------------------
if [ ! -x "$VPY" ]; then
  log "creating .venv"
  "$PY" -m venv "$VENV"
  "$VPY" -m pip install -q --upgrade pip
fi
PYVER="$("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
KEY="py${PYVER}-mpich${MPICH_VER}-hdf5mpi${HDF5_VER}"
CACHE="${DISTSIM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/distsim/wheels}/$KEY"
mkdir -p "$CACHE"
PIP=("$VPY" -m pip install -q --disable-pip-version-check)

# Fast path: a stamp records what was installed by this exact script and pyproject.
STAMP_HASH="$(cat scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16)-$WANT_TEST$WANT_BENCH"
STAMP="$VENV/.distsim-setup-$STAMP_HASH"
check_all() {
  "$VPY" - <<'PY' 2>/dev/null
import mpi4py, h5py, numba, numpy, dask, distsim
assert h5py.get_config().mpi, "h5py without MPI"
PY
}
warm_if_needed() {  # the numba cache is named by a hash of the sources: warm after any edit
  "$VPY" -c 'import sys, distsim; sys.exit(0 if distsim.cache_is_warm() else 1)' 2>/dev/null \
    || { log "compiling numba kernels into the cache"; "$VPY" -m distsim warm; }
}
if [ -f "$STAMP" ] && check_all; then
  warm_if_needed
  log "everything in place ($KEY)"
  exit 0
fi

# ---- 3. mpi4py, built from source against MPICH (the PyPI wheel looks for libmpi.so.12) ---
if ! "$VPY" -c 'import mpi4py.MPI' 2>/dev/null; then
  if ! ls "$CACHE"/mpi4py-*.whl >/dev/null 2>&1; then
    log "building mpi4py against MPICH (about 4 minutes, once per machine)"
    MPICC=mpicc.mpich "$VPY" -m pip wheel -q --no-deps --no-binary=mpi4py --no-cache-dir \
      -w "$CACHE" "mpi4py==4.1.2"
  fi
  "${PIP[@]}" --no-index "$CACHE"/mpi4py-*.whl
fi

# ---- 4. binary wheels ---------------------------------------------------------------------
"${PIP[@]}" "numpy>=2.0" "numba>=0.60" "dask[array]>=2024.1" matplotlib scipy \
  Cython pkgconfig "setuptools>=77" wheel

# ---- 5. h5py against parallel HDF5, without build isolation (isolation rebuilds mpi4py) ----
h5py_mpi() { "$VPY" -c 'import h5py, sys; sys.exit(0 if h5py.get_config().mpi else 1)' 2>/dev/null; }
if ! h5py_mpi; then
  "$VPY" -m pip uninstall -q -y h5py 2>/dev/null || true
  if ! ls "$CACHE"/h5py-*.whl >/dev/null 2>&1; then
    log "building h5py against parallel HDF5 $HDF5_VER (about 3-5 minutes, once per machine)"
    cfg="$(mktemp)"; printf '[build_ext]\nparallel = 2\n' > "$cfg"
    DIST_EXTRA_CONFIG="$cfg" HDF5_MPI=ON CC=mpicc.mpich HDF5_PKGCONFIG_NAME=hdf5-mpich \
      "$VPY" -m pip wheel -q --no-deps --no-build-isolation --no-binary=h5py --no-cache-dir \
      -w "$CACHE" "h5py==3.16.0"
    rm -f "$cfg"
  fi
  "${PIP[@]}" --no-index --no-deps "$CACHE"/h5py-*.whl
  if ! h5py_mpi; then
    log "ERROR: h5py installed from $CACHE has no MPI support; removing the cached wheel"
    rm -f "$CACHE"/h5py-*.whl
    exit 1
  fi
fi

# ---- 6. test and reference tools ------------------------------------------------------------
if [ "$WANT_TEST" = 1 ]; then
  "${PIP[@]}" "pytest>=8" "pytest-mpi>=0.6" "pytest-timeout>=2.3" "pytest-xdist>=3.5" "hypothesis>=6" \
    "nest-simulator==3.10.0" "nnmt==1.3.0" mpmath "libsonata==0.2.2" "bmtk==1.2.0" "PyNN==0.13.0"
fi
if [ "$WANT_BENCH" = 1 ]; then
  # Brian2 (the third simulator of scripts/bench.py's COBA benchmark) in its own environment:
  # brian2 2.9.0 reads np.ndarray.ptp, which numpy 2.4 removed, and the project's numpy is newer
  BVENV="$ROOT/.venv-brian2"
  [ -x "$BVENV/bin/python" ] || "$PY" -m venv "$BVENV"
  "$BVENV/bin/python" -m pip install -q --disable-pip-version-check "brian2==2.9.0" "numpy<2.4"
fi

# ---- 7. distsim itself, then compile the numba kernels once, before ranks can race ----------
log_file="$(mktemp)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT" >"$log_file" 2>&1 || { cat "$log_file"; exit 1; }
rm -f "$log_file"
warm_if_needed
check_all
rm -f "$VENV"/.distsim-setup-*
touch "$STAMP"
log "done ($KEY)"
