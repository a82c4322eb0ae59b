"""numba cache directories: every rank of every MPI job gets its own fresh copy of the warm
cache (two jobs at once on one machine never share or delete one), removed at exit; and
``distsim warm`` compiles every kernel that an MPI run of the built-in models uses."""
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import distsim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SHOW_DIR = textwrap.dedent("""
    import os, sys, time
    import distsim
    d = os.environ["NUMBA_CACHE_DIR"]
    with open(os.path.join(sys.argv[2], str(os.getpid())), "w") as f:
        f.write(f"{d} {os.path.exists(os.path.join(d, 'marker'))}")
    time.sleep(float(sys.argv[1]))
""")


def test_two_concurrent_mpi_jobs_use_separate_cache_dirs(tmp_path):
    import distsim
    base = tmp_path / "cache"
    shared = Path(distsim.shared_cache_dir(str(base)))
    shared.mkdir(parents=True)
    (shared / "marker").write_text("warm")
    script = tmp_path / "show.py"
    script.write_text(SHOW_DIR)
    # this pytest process imported distsim, so NUMBA_CACHE_DIR is set in its environment:
    # the children must not inherit it (ranks sharing one cache corrupt it)
    assert "NUMBA_CACHE_DIR" in os.environ
    env = dict(os.environ, DISTSIM_CACHE_DIR=str(base), PYTHONPATH=ROOT)
    seen = tmp_path / "seen"
    seen.mkdir()
    jobs = [subprocess.Popen(["mpirun", "-n", "2", sys.executable, str(script), "4", str(seen)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [j.communicate(timeout=120) for j in jobs]
    for j, (o, e) in zip(jobs, outs):
        assert j.returncode == 0, e
    lines = [f.read_text().split() for f in seen.iterdir()]
    dirs = [d for d, _ in lines]
    assert len(dirs) == 4 and len(set(dirs)) == 4, dirs  # one per rank and job
    assert all(copied == "True" for _, copied in lines)  # each seeded with the warm cache
    jobs_dir = base / "jobs"
    assert all(os.path.dirname(d) == str(jobs_dir) for d in dirs)
    host = socket.gethostname().split(".")[0]
    assert all(os.path.basename(d).startswith(host + "-") for d in dirs)
    assert not any(os.path.exists(d) for d in dirs)  # removed at exit
    assert (shared / "marker").read_text() == "warm"


def test_stale_job_dirs_of_ended_processes_are_removed(tmp_path):
    jobs = tmp_path / "jobs"
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(p.stdout)
    live = os.getpid()
    old = time.time() - 3600
    names = {"dead_old": distsim.job_cache_dir(str(tmp_path), 0, pid=dead),
             "dead_new": distsim.job_cache_dir(str(tmp_path), 1, pid=dead),
             "live_old": distsim.job_cache_dir(str(tmp_path), 0, pid=live),
             "other_host": distsim.job_cache_dir(str(tmp_path), 0, host="elsewhere", pid=dead)}
    for k, d in names.items():
        os.makedirs(d)
        if k != "dead_new":
            os.utime(d, (old, old))
    distsim._remove_stale_job_dirs(str(jobs))
    assert not os.path.exists(names["dead_old"])
    for k in ("dead_new", "live_old", "other_host"):  # starting, running, or not ours to judge
        assert os.path.exists(names[k]), k


def test_srun_with_wrong_mpi_plugin_is_refused():
    from distsim.comm import SerialComm, check_launch
    from distsim.spec import SpecError

    class OneRankMPI(SerialComm):
        mpi_comm = object()  # an MPI communicator of size 1

    with pytest.raises(SpecError, match="--mpi=pmi2"):
        check_launch(OneRankMPI(), {"SLURM_STEP_NUM_TASKS": "2"})
    check_launch(OneRankMPI(), {"SLURM_STEP_NUM_TASKS": "1"})
    check_launch(OneRankMPI(), {})
    check_launch(SerialComm(), {"SLURM_STEP_NUM_TASKS": "2"})  # analyze/meanfield: serial on purpose


# every numba dispatcher of distsim, with its cache statistics, after small runs of the
# built-in models on this rank (run under mpirun -n 2)
COVERAGE = textwrap.dedent("""
    import json, os, sys
    import numba  # before distsim on purpose: distsim must still choose the cache directory
    from distsim.cli import main

    out = sys.argv[1]
    runs = [("brunel", ["order=20", "voltmeter=2"]),
            ("microcircuit", ["N_scaling=0.005", "K_scaling=0.05", "thalamic=true", "th_start=5",
                              "dc_stimulus=true", "voltmeter=2"]),
            ("gif_populations", ["form=meso", "size=20", "t_step=5", "n_voltmeter=2"]),
            ("gif_populations", ["form=micro", "size=20", "t_step=5", "n_voltmeter=2"]),
            ("gif_populations", ["form=micro_dense", "size=20", "t_step=5"]),
            ("ring", ["n_positions=40"]),
            ("hpc_benchmark", ["scale=0.02", "indegree_scale=0.02"]),
            ("coba", ["N_E=40", "N_I=10", "p_conn=0.2"]),
            ("adex_brunel", ["order=10"]),
            (sys.argv[2], [])]  # a network file with the ac and noise generators
    for i, (name, sets) in enumerate(runs):
        path = os.path.join(out, f"{i}.h5")
        args = ["run", name, "--seed", "1", "--t-presim", "5", "--t-sim", "15", "-o", path,
                "--checkpoint-every", "10", "-q"]
        for kv in sets:
            args += ["--set", kv]
        assert main(args) == 0, name
        # resumed on 2 threads: the threaded kernels (and the event lists per thread); plastic
        # synapses run one thread (more are refused), so hpc_benchmark resumes on one
        threads = ["--threads", "1" if name == "hpc_benchmark" else "2"]
        assert main(["run", "--resume", path, "--t-sim", "20", "-q"] + threads) == 0, name
    # the RKF45 models (no built-in network uses them) from a spec file, with a multimeter
    for model in ("iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp", "hh_psc_alpha"):
        path = os.path.join(out, f"{model}.toml")
        with open(path, "w") as f:
            f.write(f'[[populations]]\\nname = "A"\\nmodel = "{model}"\\nn = 6\\nparams = {{ I_e = 1000.0 }}\\n'
                    '[[projections]]\\nsource = "A"\\ntarget = "A"\\nrule = "fixed_indegree"\\nindegree = 2\\n'
                    'weight = -1.0\\ndelay_ms = 0.5\\n'
                    '[[devices]]\\ntype = "poisson_generator"\\ntargets = ["A"]\\nrate_Hz = 1000.0\\nweight = 1.0\\n'
                    '[[devices]]\\ntype = "spike_recorder"\\ntargets = ["A"]\\n'
                    '[[devices]]\\ntype = "voltmeter"\\ntargets = ["A"]\\n')
        assert main(["run", path, "--t-sim", "10", "-q", "-o", os.path.join(out, f"{model}.h5")]) == 0, model
    # the models at their defaults (small), without an output file
    for name, sets in (("brunel", ["order=50"]), ("microcircuit", ["N_scaling=0.01"]),
                       ("gif_populations", [])):
        args = ["run", name, "--t-sim", "10", "-q"]
        for kv in sets:
            args += ["--set", kv]
        assert main(args) == 0, name
    missing = []
    for mod in [m for k, m in list(sys.modules.items()) if k.startswith("distsim")]:
        for obj in vars(mod).values():
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                if obj.stats.cache_path is None:  # not cached itself (a model's function that
                    # only the cached driver calls): it must never have been compiled on its own
                    if obj.signatures:
                        missing.append(f"{obj.py_func.__name__}: uncached but compiled for "
                                       f"{[str(s) for s in obj.signatures]}")
                    continue
                if not obj.stats.cache_path.startswith(os.environ["NUMBA_CACHE_DIR"]):
                    missing.append(f"{obj.py_func.__name__}: cache {obj.stats.cache_path} is not "
                                   f"this rank's {os.environ['NUMBA_CACHE_DIR']}")
                if sum(obj.stats.cache_misses.values()):
                    missing.append(f"{obj.py_func.__module__}.{obj.py_func.__name__}: "
                                   f"{[str(s) for s in obj.stats.cache_misses]}")
    if int(os.environ.get("PMI_RANK", "0")) == 0:
        print(json.dumps(sorted(set(missing))))
""")


CURRENTS = """
[[populations]]
name = "E"
model = "iaf_psc_exp"
n = 6
[[projections]]
source = "E"
target = "E"
rule = "all_to_all"
weight = 10.0
delay_ms = 0.5
[[devices]]
type = "noise_generator"
targets = ["E"]
mean_pA = 300.0
std_pA = 100.0
std_mod_pA = 50.0
frequency_Hz = 10.0
[[devices]]
type = "ac_generator"
targets = ["E"]
amplitude_pA = 100.0
frequency_Hz = 10.0
[[devices]]
type = "spike_recorder"
targets = ["E"]
[[devices]]
type = "voltmeter"
targets = ["E"]
"""


def _copy_of_what_warm_compiled(base):
    """Copy into ``base`` the files ``distsim warm`` wrote into this source's shared cache, as
    its marker lists them, if every one is still exactly what warm wrote. Returns False (and
    copies nothing) when the shared cache is not warm or a listed file was changed later (a
    process compiled a kernel warm had cached for another signature): then only a cold
    ``distsim warm`` tells what warm compiles. Files added later are never copied."""
    import hashlib
    import shutil

    import distsim
    # warm's own files: the snapshot warm links at its end (later publishes into the shared
    # cache rename new files over the old, so the snapshot's files stay as warm wrote them)
    shared = distsim.shared_cache_dir() + ".warm"
    marker = os.path.join(shared, distsim.WARM_MARKER)
    try:
        with open(marker) as f:
            listed = json.load(f)
    except (OSError, ValueError):
        return False
    if listed.get("source_hash") != distsim.source_hash() or not listed.get("files"):
        return False
    for rel, digest in listed["files"].items():
        try:
            with open(os.path.join(shared, rel), "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != digest:
                    return False
        except OSError:
            return False
    dest = distsim.shared_cache_dir(str(base))
    for rel in listed["files"]:
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(os.path.join(shared, rel), os.path.join(dest, rel))
    shutil.copy2(marker, os.path.join(dest, distsim.WARM_MARKER))
    return True


def test_warm_marker_lists_the_files_warm_wrote(tmp_path):
    """The copy above takes only files listed by warm and refuses a changed one."""
    import distsim
    cache = tmp_path / "c"
    (cache / "sub").mkdir(parents=True)
    (cache / "sub" / "k.nbi").write_bytes(b"index")
    (cache / "k.nbc").write_bytes(b"code")
    marker = distsim.write_warm_marker(str(cache))
    listed = json.loads(Path(marker).read_text())
    assert listed["source_hash"] == distsim.source_hash()
    assert sorted(listed["files"]) == [os.path.join("k.nbc"), os.path.join("sub", "k.nbi")]
    assert distsim.WARM_MARKER not in listed["files"]


@pytest.mark.timeout(1800)  # a cold warm also compiles the step loop per built-in model: minutes
def test_warm_compiles_every_kernel_an_mpi_run_uses(tmp_path):
    base = tmp_path / "cache"
    env = dict(os.environ, DISTSIM_CACHE_DIR=str(base), PYTHONPATH=ROOT)
    env.pop("NUMBA_CACHE_DIR", None)
    # set-up ran ``distsim warm`` into the shared cache: take exactly its files (seconds) when
    # nothing changed them since, else compile cold (about 3 CPU minutes)
    if not _copy_of_what_warm_compiled(base):
        p = subprocess.run([sys.executable, "-m", "distsim", "warm"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=1800)
        assert p.returncode == 0, p.stderr
    script = tmp_path / "kernel_use.py"  # not coverage.py: numba imports a module "coverage"
    script.write_text(COVERAGE)
    spec = tmp_path / "currents.toml"
    spec.write_text(CURRENTS)
    p = subprocess.run(["mpirun", "-n", "2", sys.executable, "-m", "mpi4py", str(script), str(tmp_path), str(spec)],
                       env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    missing = json.loads(p.stdout.strip().splitlines()[-1])
    assert missing == [], "compiled during an MPI run, not by distsim warm:\n" + "\n".join(missing)


def test_shared_cache_is_named_by_the_sources(tmp_path):
    """numba keys a cached kernel by its own file only: an edit to a kernel it calls (or an
    upgrade) must lead to another cache directory, never to stale machine code."""
    import shutil

    import distsim
    src = Path(distsim.__file__).parent
    copy = tmp_path / "distsim"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert distsim.source_hash(str(copy)) == distsim.source_hash()
    assert os.path.basename(distsim.shared_cache_dir()) == "shared-" + distsim.source_hash()
    rng = copy / "kernels" / "rng.py"
    rng.write_text(rng.read_text() + "\n# an edit\n")
    assert distsim.source_hash(str(copy)) != distsim.source_hash()


KERNEL = textwrap.dedent("""
    from numba import njit

    @njit(cache=True)
    def f(x):
        return x * 2 + 1
""")

USE_KERNEL = textwrap.dedent("""
    import json, sys, time
    import distsim  # chooses the cache directory before numba
    sys.path.insert(0, sys.argv[1])
    import kern
    arg = {"int": 3, "float": 3.5}[sys.argv[2]]
    time.sleep(float(sys.argv[3]))
    out = kern.f(arg)
    print(json.dumps({"out": out, "hits": sum(kern.f.stats.cache_hits.values()),
                      "misses": sum(kern.f.stats.cache_misses.values())}))
""")


def _use_kernel(tmp_path, kind, wait=0.0, launch=()):
    env = dict(os.environ, DISTSIM_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=ROOT)
    env.pop("NUMBA_CACHE_DIR", None)
    return subprocess.Popen(list(launch) + [sys.executable, str(tmp_path / "use.py"), str(tmp_path), kind, str(wait)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(p):
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return [json.loads(line) for line in out.strip().splitlines()]


def test_what_a_run_compiles_is_published_for_the_next_run(tmp_path):
    """A kernel that warm did not compile (here: a new one) is compiled by the first process
    only: it lands in the shared cache at exit, and the next serial run and every rank of the
    next MPI run load it. The job directories are gone afterwards."""
    (tmp_path / "kern.py").write_text(KERNEL)
    (tmp_path / "use.py").write_text(USE_KERNEL)
    ranks = _result(_use_kernel(tmp_path, "int", launch=["mpirun", "-n", "2"]))
    assert ranks == [{"out": 7, "hits": 0, "misses": 1}] * 2  # both ranks compile (once)
    assert _result(_use_kernel(tmp_path, "int")) == [{"out": 7, "hits": 1, "misses": 0}]
    ranks = _result(_use_kernel(tmp_path, "int", launch=["mpirun", "-n", "2"]))
    assert ranks == [{"out": 7, "hits": 1, "misses": 0}] * 2
    assert not os.listdir(tmp_path / "cache" / "jobs")


def test_concurrent_publishers_never_mix_their_entries(tmp_path):
    """Two processes compile the same kernel for different argument types at once; each
    publishes only if the shared index is still the one it started from, so the shared cache
    holds one consistent version: every later process gets the right result for both types
    (a mixed index would hand one type the other's machine code)."""
    (tmp_path / "kern.py").write_text(KERNEL)
    (tmp_path / "use.py").write_text(USE_KERNEL)
    for _ in range(2):
        procs = [_use_kernel(tmp_path, "int", 0.5), _use_kernel(tmp_path, "float", 0.5)]
        assert [r["out"] for p in procs for r in _result(p)] == [7, 8.0]
        assert _result(_use_kernel(tmp_path, "int"))[0]["out"] == 7
        assert _result(_use_kernel(tmp_path, "float"))[0]["out"] == 8.0
    # in the end both types are in the shared cache: a new process compiles neither
    assert _result(_use_kernel(tmp_path, "int"))[0]["misses"] == 0
    assert _result(_use_kernel(tmp_path, "float"))[0]["misses"] == 0


def test_warm_snapshot_keeps_warms_files_when_kernels_are_published_later(tmp_path):
    import distsim
    shared = tmp_path / "shared-x"
    shared.mkdir()
    (shared / "k.nbi").write_bytes(b"warm index")
    snap = distsim.snapshot_warm_cache(str(shared))
    tmp = shared / "k.nbi.tmp.1"
    tmp.write_bytes(b"published index")
    os.replace(tmp, shared / "k.nbi")  # how publish_compiled (and numba) replace a file
    assert (Path(snap) / "k.nbi").read_bytes() == b"warm index"
    assert (shared / "k.nbi").read_bytes() == b"published index"
