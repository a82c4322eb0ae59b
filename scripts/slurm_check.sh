#!/bin/bash
# Run the SLURM templates (slurm/*.sbatch) for real on a throw-away single-node SLURM.
#
#   sudo bash scripts/slurm_check.sh          # (as root) from the distsim checkout
#
# What it does (Debian/Ubuntu, root, a machine you may reconfigure; 10-25 minutes on 2 cores,
# depending on what else runs: MPI ranks busy-wait, so other MPI jobs slow it down a lot):
#   1. apt-get installs slurm-wlm and munge (Debian's SLURM 22.05 on bookworm),
#   2. writes a minimal single-node slurm.conf in $WORK (MpiDefault left at its default,
#      none, as on many clusters: the templates must ask for --mpi=pmi2 themselves), starts
#      munged, slurmctld and slurmd (stopped again at the end),
#   3. submits each template with a small model and checks what it produced:
#      a. microcircuit.sbatch on 2 ranks: COMPLETED, /meta n_ranks = 2;
#         analyze.sbatch with --dependency=afterok on it: COMPLETED, rates for 8 populations;
#      b. srun with the cluster default MPI plugin (none): refused with the named error,
#         not two 1-rank runs racing for one file;
#      c. a microcircuit run longer than its 3-minute time limit (--signal=TERM@60): SIGTERM
#         stops it at a checkpoint, the job requeues itself and resumes until done; the spikes
#         equal those of an uninterrupted run; an afterok analysis waits for the real end;
#      d. scaling_sweep.sbatch as an array over RANK_COUNTS="1 2" plus one task too many:
#         ranks-1.json / ranks-2.json say n_ranks 1 / 2, the extra task ends cleanly.
#   It prints PASS/FAIL per check and exits non-zero if any failed.
#
# Variables: DISTSIM_DIR (checkout, default: this one), DISTSIM_PY (python with distsim's
# dependencies, default $DISTSIM_DIR/.venv/bin/python), WORK (default /tmp/distsim-slurm-check),
# KEEP_SLURM=1 leaves the daemons running. Too slow for the test suite (the time-limit case
# alone needs a few minutes of wall time, since SLURM counts limits in minutes).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DISTSIM_DIR="${DISTSIM_DIR:-$ROOT}"
DISTSIM_PY="${DISTSIM_PY:-$DISTSIM_DIR/.venv/bin/python}"
WORK="${WORK:-/tmp/distsim-slurm-check}"
HOST="$(hostname -s)"
N_FAIL=0

log() { echo "[slurm_check] $*"; }
pass() { log "PASS: $*"; }
fail() { log "FAIL: $*"; N_FAIL=$((N_FAIL + 1)); }

[ "$(id -u)" -eq 0 ] || { echo "run as root (installs packages, starts daemons)" >&2; exit 2; }
[ -x "$DISTSIM_PY" ] || { echo "no python at $DISTSIM_PY (set DISTSIM_PY)" >&2; exit 2; }

# ---- 1. packages ------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null || exit 1
fi
log "$(dpkg-query -W -f '${Package} ${Version}' slurm-wlm 2>/dev/null), $(dpkg-query -W -f '${Package} ${Version}' munge 2>/dev/null)"

# ---- 2. configuration and daemons -------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK"/{state,spool,log,run,out}
NODE_LINE="$(slurmd -C | head -n 1)"   # NodeName=... CPUs=... RealMemory=...
cat > "$WORK/slurm.conf" <<EOF
ClusterName=distsim-check
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
KillWait=30
# a requeued job waits cred_expire + 1 s before it may start again (default 120 s)
AuthInfo=cred_expire=30
$NODE_LINE State=UNKNOWN
PartitionName=check Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$WORK/slurm.conf"

REF_PID=""
DAEMON_PIDS=()
cleanup() {
  [ -n "$REF_PID" ] && kill "$REF_PID" 2>/dev/null
  [ "${KEEP_SLURM:-0}" = 1 ] && return
  scancel --user=root >/dev/null 2>&1 && sleep 3
  # only the daemons this script started
  for p in "${DAEMON_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 3
  for p in "${DAEMON_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
}
pid_of() {  # pid_of PIDFILE: wait for a daemon's pid file, print the pid
  for _ in $(seq 40); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.25; done
}
trap cleanup EXIT

mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  chown munge:munge "$WORK/run"
  runuser -u munge -- /usr/sbin/munged --pid-file="$WORK/run/munged.pid" || { log "munged failed"; exit 1; }
  DAEMON_PIDS+=("$(pid_of "$WORK/run/munged.pid")")
fi
slurmctld -f "$SLURM_CONF" || { log "slurmctld failed: $(tail -5 "$WORK/log/slurmctld.log")"; exit 1; }
DAEMON_PIDS+=("$(pid_of "$WORK/run/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || { log "slurmd failed: $(tail -5 "$WORK/log/slurmd.log")"; exit 1; }
DAEMON_PIDS+=("$(pid_of "$WORK/run/slurmd.pid")")
for _ in $(seq 60); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %t | grep -q idle || { log "node not idle: $(sinfo)"; exit 1; }
log "single-node SLURM up: $(sinfo -h -o '%P %D %c %t')"

# ---- helpers ----------------------------------------------------------------------------------
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
wait_done() {  # wait_done JOBID TIMEOUT_S: until the job is COMPLETED/FAILED/...; prints the state
  local t=0 s
  while [ "$t" -lt "$2" ]; do
    s="$(state "$1")"
    case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$s"; return;; esac
    if scontrol show job "$1" 2>/dev/null | grep -q 'Reason=DependencyNeverSatisfied'; then
      scancel "$1"; echo "NEVER_STARTED(DependencyNeverSatisfied)"; return
    fi
    sleep 2; t=$((t + 2))
  done
  echo "STILL_${s:-UNKNOWN}"
}
meta() { "$DISTSIM_PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r")["meta"].attrs[sys.argv[2]])' "$1" "$2"; }
export DISTSIM_DIR DISTSIM_PY
export DISTSIM_CACHE_DIR="${DISTSIM_CACHE_DIR:-$WORK/numba}"
export PYTHONPATH="$DISTSIM_DIR${PYTHONPATH:+:$PYTHONPATH}"
"$DISTSIM_PY" -m distsim warm 2>/dev/null
cd "$WORK/out"
MC="$DISTSIM_DIR/slurm/microcircuit.sbatch"
SMALL=(N_SCALING=0.02 K_SCALING=0.2 T_PRESIM=50 SEED=3)

# ---- a. 2-rank run, then the analysis after afterok --------------------------------------------
J1=$(env "${SMALL[@]}" T_SIM=200 OUT="$WORK/out/mc.h5" \
     sbatch --parsable --ntasks=2 --mem-per-cpu=1G --time=10 "$MC")
J2=$(env IN="$WORK/out/mc.h5" T_START=0 \
     sbatch --parsable --dependency=afterok:"$J1" --mem=2G "$DISTSIM_DIR/slurm/analyze.sbatch")
s1=$(wait_done "$J1" 600); s2=$(wait_done "$J2" 600)
n=$(meta "$WORK/out/mc.h5" n_ranks 2>/dev/null)
if [ "$s1" = COMPLETED ] && [ "$n" = 2 ]; then pass "a. microcircuit.sbatch: $s1, /meta n_ranks = $n"
else fail "a. microcircuit.sbatch: $s1, n_ranks = '$n' (log: $WORK/out/distsim-$J1.log)"; fi
npop=$("$DISTSIM_PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["rates"]))' "$WORK/out/mc_rates.json" 2>/dev/null)
if [ "$s2" = COMPLETED ] && [ "$npop" = 8 ]; then pass "a. analyze.sbatch after afterok: $s2, rates of $npop populations"
else fail "a. analyze.sbatch: $s2, populations '$npop' (log: $WORK/out/distsim-analyze-$J2.log)"; fi

# ---- b. srun with the default plugin (none) is refused, not run twice --------------------------
out=$(srun -n 2 --mpi=none --time=5 "$DISTSIM_PY" -m mpi4py -m distsim run brunel --set order=20 \
      --t-sim 10 -o "$WORK/out/none.h5" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && grep -q -- "--mpi=pmi2" <<<"$out" && [ ! -e "$WORK/out/none.h5" ]; then
  pass "b. srun --mpi=none: refused (exit $rc) with: $(grep -m1 -o 'distsim: error.*' <<<"$out" | cut -c1-110)..."
else fail "b. srun --mpi=none: exit $rc, output: $out"; fi

# ---- c. cut by the time limit, resumes by itself, identical to an uninterrupted run -----------
# 3-minute limit, SIGTERM 60 s before it (SLURM may send it up to a minute early), so each
# segment simulates for 1-2 minutes; a requeued job waits cred_expire (30 s here, 120 s by
# default) before it is eligible again. The simulated time is chosen from a short timed run so that the job
# needs about CUT_WALL_S seconds of simulation: at least two segments on any machine load.
# (The reference runs afterwards: MPI ranks busy-wait, so two jobs on two cores crawl.)
CUT_MODEL=(microcircuit --set N_scaling=0.1 --set K_scaling=1.0 --seed 3 --t-presim 50)
rate=$(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun -n 2 "$DISTSIM_PY" -m mpi4py -m distsim run \
       "${CUT_MODEL[@]}" --t-sim 2000 -q 2>/dev/null | tail -n 1 |
       "$DISTSIM_PY" -c 'import json, sys; print(2000.0 / json.load(sys.stdin)["sim_time_s"])')
CUT_T_SIM="${CUT_T_SIM:-$("$DISTSIM_PY" -c "print(max(2000, int(float('$rate') * ${CUT_WALL_S:-150} / 1000) * 1000))")}"
CUT=(N_SCALING=0.1 K_SCALING=1.0 T_PRESIM=50 T_SIM="$CUT_T_SIM" SEED=3 CHECKPOINT_EVERY=$((CUT_T_SIM / 10)))
J3=$(env "${CUT[@]}" OUT="$WORK/out/cut.h5" \
     sbatch --parsable --ntasks=2 --mem-per-cpu=1G --time=3 --signal=TERM@60 "$MC")
J4=$(env IN="$WORK/out/cut.h5" T_START=0 \
     sbatch --parsable --dependency=afterok:"$J3" --mem=2G "$DISTSIM_DIR/slurm/analyze.sbatch")
t0=$(date +%s)
log "c. job $J3: 3-minute limit, $CUT_T_SIM ms to simulate (measured ${rate%.*} ms per second)"
s3=$(wait_done "$J3" 3600); s4=$(wait_done "$J4" 600)
log "c. job $J3 ended $s3 after $(( $(date +%s) - t0 )) s; now the uninterrupted reference run"
env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun -n 2 "$DISTSIM_PY" -m mpi4py -m distsim run "${CUT_MODEL[@]}" \
  --t-sim "$CUT_T_SIM" -o "$WORK/out/ref.h5" -q > "$WORK/out/ref.json" 2> "$WORK/out/ref.err" &
REF_PID=$!
wait "$REF_PID" || fail "c. reference run failed: $(tail -3 "$WORK/out/ref.err")"
REF_PID=""
restarts=$(scontrol show job "$J3" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
same=$("$DISTSIM_PY" - "$WORK/out/ref.h5" "$WORK/out/cut.h5" <<'PY'
import sys
import numpy as np
from distsim.recording.hdf5 import read_spikes
a, b = read_spikes(sys.argv[1]), read_spikes(sys.argv[2])
def rows(s, p):
    ids, t = s[p][0], s[p][1]
    o = np.lexsort((t, ids))
    return ids[o], t[o]
ok = a.keys() == b.keys() and all(all(np.array_equal(x, y) for x, y in zip(rows(a, p), rows(b, p))) for p in a)
print(f"{'equal' if ok else 'DIFFERENT'} ({sum(a[p][0].size for p in a)} vs {sum(b[p][0].size for p in b)} spikes)")
PY
)
if [ "$s3" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] && [[ "$same" == equal* ]]; then
  pass "c. time limit: stopped at a checkpoint, requeued $restarts time(s), spikes $same to an uninterrupted run"
else fail "c. time limit: state $s3, restarts '$restarts', spikes $same (log: $WORK/out/distsim-$J3.log)"; fi
if [ "$s4" = COMPLETED ]; then pass "c. afterok analysis waited for the requeued job and ran: $s4"
else fail "c. afterok analysis: $s4"; fi
grep -E "stopped|requeue|resuming|CANCELLED|exit code|output:" "$WORK/out/distsim-$J3.log" | sed 's/^/    /'

# ---- d. the sweep array, with one task more than RANK_COUNTS ----------------------------------
J5=$(env RANK_COUNTS="1 2" MODEL=brunel SETS="order=50" T_SIM=50 RESULTS="$WORK/out/scaling" \
     sbatch --parsable --array=0-2 --ntasks=2 --mem-per-cpu=1G --time=10 "$DISTSIM_DIR/slurm/scaling_sweep.sbatch")
ok=1
for k in 0 1 2; do
  s=$(wait_done "${J5}_$k" 600)
  [ "$s" = COMPLETED ] || { ok=0; log "d. array task $k: $s (log: $WORK/out/distsim-scaling-${J5}_$k.log)"; }
done
r1=$("$DISTSIM_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["n_ranks"])' "$WORK/out/scaling/ranks-1.json" 2>/dev/null)
r2=$("$DISTSIM_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["n_ranks"])' "$WORK/out/scaling/ranks-2.json" 2>/dev/null)
extra=$(grep -c "nothing to do" "$WORK/out/distsim-scaling-${J5}_2.log" 2>/dev/null)
if [ "$ok" = 1 ] && [ "$r1" = 1 ] && [ "$r2" = 2 ] && [ "${extra:-0}" -ge 1 ]; then
  pass "d. scaling_sweep.sbatch array 0-2: ranks-1.json n_ranks=$r1, ranks-2.json n_ranks=$r2, task 2 had nothing to do"
else fail "d. scaling_sweep.sbatch: tasks ok=$ok, n_ranks '$r1' '$r2', extra task message '$extra'"; fi

log "$N_FAIL check(s) failed; logs and outputs in $WORK/out"
exit $((N_FAIL > 0))
