"""SLURM templates parse, and their srun lines run here through an srun -> mpirun shim.

The real thing (slurmctld/slurmd, --mpi=pmi2, a time limit that requeues and resumes, the
sweep array) is checked by scripts/slurm_check.sh, which takes several minutes."""
import re
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = sorted(glob.glob(os.path.join(ROOT, "slurm", "*.sbatch")))

SHIM = """#!/bin/bash
# srun stand-in: drop srun-only options, run the command with mpirun
n="${SLURM_NTASKS:-2}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    --ntasks=*) n="${1#--ntasks=}"; shift ;;
    --kill-on-bad-exit*|--mpi=*|--cpu-bind=*|--cpus-per-task=*) shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec mpirun -n "$n" "${args[@]}"
"""


@pytest.fixture
def shim_env(tmp_path):
    b = tmp_path / "bin"
    b.mkdir()
    (b / "srun").write_text(SHIM)
    (b / "srun").chmod(0o755)
    env = dict(os.environ, PATH=f"{b}:{os.environ['PATH']}", DISTSIM_DIR=ROOT, DISTSIM_PY=sys.executable,
               SLURM_NTASKS="2")
    for k in ("SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_STEP_NUM_TASKS"):  # not inside a real job
        env.pop(k, None)
    return env


def test_templates_exist_and_parse():
    names = {os.path.basename(t) for t in TEMPLATES}
    assert {"microcircuit.sbatch", "scaling_sweep.sbatch", "analyze.sbatch"} <= names
    for t in TEMPLATES:
        subprocess.run(["bash", "-n", t], check=True)
        text = open(t).read()
        assert "#SBATCH" in text and "change these" in text


def test_microcircuit_then_analysis_through_shim(tmp_path, shim_env):
    out = tmp_path / "mc.h5"
    env = dict(shim_env, N_SCALING="0.01", T_PRESIM="20", T_SIM="50", OUT=str(out))
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "microcircuit.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert out.exists()
    env = dict(shim_env, IN=str(out), T_START="20")
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "analyze.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    rates = json.load(open(str(out)[:-3] + "_rates.json"))["rates"]
    assert set(rates) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"}


def test_scaling_sweep_task_through_shim(tmp_path, shim_env):
    env = dict(shim_env, MODEL="brunel", SETS="order=50", RANK_COUNTS="1 2", T_SIM="20",
               SLURM_ARRAY_TASK_ID="1", RESULTS=str(tmp_path / "res"))
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "scaling_sweep.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    info = json.load(open(tmp_path / "res" / "ranks-2.json"))
    assert info["n_ranks"] == 2 and info["n_neurons"] == 250


def _sbatch_option(text, name):
    m = re.search(rf"^#SBATCH --{name}=(\S+)", text, re.M)
    return m.group(1) if m else None


def test_templates_promise_what_the_readme_says():
    texts = {os.path.basename(t): open(t).read() for t in TEMPLATES}
    for name, text in texts.items():
        # every template refuses to start without parallel HDF5 (README: "On a cluster")
        assert "h5py.get_config().mpi" in text, name
        # srun without a PMI plugin matching MPICH starts every rank as its own 1-rank job
        for line in text.splitlines():
            if line.lstrip().startswith("srun"):
                assert "--mpi=" in line, (name, line)
    # ranks x threads: each rank runs as many numba threads as SLURM gave its task
    for name in ("microcircuit.sbatch", "scaling_sweep.sbatch"):
        text = texts[name]
        assert _sbatch_option(text, "cpus-per-task") and 'THREADS="${SLURM_CPUS_PER_TASK:-1}"' in text, name
        # every distsim run (the microcircuit's new run and its resume) passes it on
        assert text.count('--threads "$THREADS"') == text.count("run_args=(") + ("run_args=(" not in text), name
        assert '--cpus-per-task="$THREADS"' in text, name  # srun does not inherit it
    assert _sbatch_option(texts["microcircuit.sbatch"], "ntasks-per-node")
    mc = texts["microcircuit.sbatch"]
    assert _sbatch_option(mc, "signal").startswith("TERM@")  # SIGTERM to the ranks before the limit
    assert re.search(r"^#SBATCH --requeue$", mc, re.M)
    assert "--checkpoint-every" in mc and "--resume" in mc and "scontrol requeue" in mc
    # the analysis asks for as many CPUs as it runs dask threads
    import inspect

    from analysis.spikes import analyze_file
    threads = inspect.signature(analyze_file).parameters["n_workers"].default
    assert int(_sbatch_option(texts["analyze.sbatch"], "cpus-per-task")) == threads


def test_microcircuit_template_resumes_from_its_checkpoint(tmp_path, shim_env):
    out = tmp_path / "mc.h5"
    env = dict(shim_env, N_SCALING="0.01", T_PRESIM="20", T_SIM="40", CHECKPOINT_EVERY="60", OUT=str(out))
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "microcircuit.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert os.path.exists(str(out) + ".ckpt") and "resuming" not in p.stdout
    env["T_SIM"] = "70"  # a later segment of the same job: continue from the checkpoint
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "microcircuit.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "resuming" in p.stdout
    import h5py
    with h5py.File(out, "r") as f:
        assert float(f["meta"].attrs["t_flushed_ms"]) == pytest.approx(90.0)  # 20 + 70 ms


def test_scaling_sweep_task_beyond_rank_counts_ends_cleanly(tmp_path, shim_env):
    env = dict(shim_env, MODEL="brunel", SETS="order=50", RANK_COUNTS="1 2", T_SIM="20",
               SLURM_ARRAY_TASK_ID="4", RESULTS=str(tmp_path / "res"))
    p = subprocess.run(["bash", os.path.join(ROOT, "slurm", "scaling_sweep.sbatch")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "nothing to do" in p.stdout and "unbound" not in p.stderr
    assert not (tmp_path / "res").exists()
