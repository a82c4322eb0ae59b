"""Checkpoint and resume: bit-identical to an uninterrupted run, on any number of ranks,
also after SIGTERM (what SLURM sends before the kill)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from distsim.recording.hdf5 import read_report, read_spikes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = ["brunel", "--set", "order=100", "--set", "voltmeter=3", "--seed", "11", "--t-presim", "30", "-q"]


def distsim(args, n=1, **kw):
    cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
    return subprocess.run(cmd + ["-m", "distsim", "run"] + args, capture_output=True, text=True,
                          timeout=300, cwd=ROOT, **kw)


def assert_same_output(a, b):
    sa, sb = read_spikes(a), read_spikes(b)
    assert sa.keys() == sb.keys()
    for p in sa:
        oa = np.lexsort((sa[p][1], sa[p][0]))
        ob = np.lexsort((sb[p][1], sb[p][0]))
        assert sa[p][0].size > 0
        assert np.array_equal(sa[p][0][oa], sb[p][0][ob]) and np.array_equal(sa[p][1][oa], sb[p][1][ob])
    ra, rb = read_report(a), read_report(b)
    assert ra.keys() == rb.keys() and ra
    for p in ra:
        for x, y in zip(ra[p], rb[p]):
            assert np.array_equal(x, y)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "full.h5"
    p = distsim(MODEL + ["--t-sim", "200", "-o", str(out)])
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("n_first,n_resume", [(1, 1), (2, 3), (3, 2)])
def test_resume_is_exact_on_any_number_of_ranks(tmp_path, full_run, n_first, n_resume):
    out = tmp_path / "part.h5"
    # checkpoint at 100 ms of recording, then keep running to 150 ms and stop: the file holds
    # data past the checkpoint, as after a kill; resuming cuts it back and repeats it exactly
    p = distsim(MODEL + ["--t-sim", "120", "-o", str(out), "--checkpoint-every", "130"], n=n_first)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(str(out) + ".ckpt")
    p = distsim(["--resume", str(out), "--t-sim", "200", "-q"], n=n_resume)
    assert p.returncode == 0, p.stderr
    assert_same_output(full_run, out)


def test_sigterm_writes_checkpoint_and_resume_completes_identically(tmp_path, full_run):
    out = tmp_path / "term.h5"
    long_run = [a for a in MODEL if a != "-q"] + ["--t-sim", "1000000", "-o", str(out)]
    proc = subprocess.Popen(["mpirun", "-n", "2", sys.executable, "-m", "mpi4py", "-m", "distsim", "run"]
                            + long_run, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(out):
        time.sleep(0.2)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)  # mpirun forwards it to every rank, as srun does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "stopped by SIGTERM" in err and "--resume" in err, err
    import h5py
    with h5py.File(out, "r") as f:  # the output is valid as it stands
        t_stop = float(f["meta"].attrs["t_flushed_ms"])
    assert t_stop > 30.0 and os.path.exists(str(out) + ".ckpt")
    t_end = round(t_stop - 30.0 + 50.0, 1)  # recorded time: 50 ms past the stop
    p = distsim(["--resume", str(out), "--t-sim", str(t_end), "-q"], n=1)
    assert p.returncode == 0, p.stderr
    ref = tmp_path / "ref.h5"
    p = distsim(MODEL + ["--t-sim", str(t_end), "-o", str(ref)])
    assert p.returncode == 0, p.stderr
    assert_same_output(ref, out)


def test_resume_without_checkpoint_is_a_named_error(tmp_path):
    p = distsim(["--resume", str(tmp_path / "none.h5"), "--t-sim", "10"])
    assert p.returncode == 2 and "--resume" in p.stderr and "checkpoint" in p.stderr


ALPHA_TOML = """
name = "alpha_ckpt"
[simulation]
dt_ms = 0.1

[[populations]]
name = "A"
model = "iaf_psc_alpha"
n = 60
params = { V_m = { dist = "uniform", low = -70.0, high = -56.0 }, tau_syn_in = 1.0 }

[[populations]]
name = "G"
model = "gif_psc_exp"
n = 20
params = { q_sfa = [5.0], tau_sfa = [50.0], q_stc = [10.0], tau_stc = [30.0], lambda_0 = 50.0, Delta_V = 1.0, V_T_star = -55.0 }

[[populations]]
name = "P"
model = "gif_pop_psc_exp"
n = 1
params = { N = 200, E_L = 0.0, V_T_star = 10.0, q_sfa = [1.0], tau_sfa = [100.0] }

[[projections]]
source = "A"
target = "A"
rule = "fixed_indegree"
indegree = 5
weight = 50.0
delay_ms = { dist = "uniform", low = 0.5, high = 3.0 }

[[projections]]
source = "P"
target = "A"
rule = "all_to_all"
weight = -20.0
delay_ms = 1.0

[[projections]]
source = "A"
target = "G"
rule = "fixed_indegree"
indegree = 5
weight = 30.0
delay_ms = 1.5

[[projections]]
source = "G"
target = "P"
rule = "all_to_all"
weight = 15.0
delay_ms = 2.0

[[devices]]
type = "poisson_generator"
targets = ["A", "G", "P"]
rate_Hz = 12000.0
weight = 45.0

[[devices]]
type = "dc_generator"
targets = ["A"]
amplitude_pA = 100.0
start_ms = 40.0

[[devices]]
type = "spike_recorder"
targets = ["A", "G", "P"]

[[devices]]
type = "multimeter"
targets = ["A"]
n_per_population = 5
interval_ms = 0.5
record_from = ["V_m", "I_syn_ex", "I_syn_in"]

[[devices]]
type = "multimeter"
targets = ["P"]
interval_ms = 1.0
record_from = ["V_m", "n_events", "mean"]
"""


@pytest.mark.parametrize("n_first,n_resume", [(2, 1)])
def test_resume_is_exact_for_alpha_and_gif_models(tmp_path, n_first, n_resume):
    """iaf_psc_alpha (alpha-current state dI, I), gif_psc_exp (2-D adaptation state) and
    gif_pop_psc_exp (history state) resume bit-identically across rank counts."""
    net = tmp_path / "alpha.toml"
    net.write_text(ALPHA_TOML)
    args = [str(net), "--seed", "3", "-q"]
    full = tmp_path / "full.h5"
    p = distsim(args + ["--t-sim", "160", "-o", str(full)])
    assert p.returncode == 0, p.stderr
    out = tmp_path / "part.h5"
    p = distsim(args + ["--t-sim", "100", "-o", str(out), "--checkpoint-every", "70"], n=n_first)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(str(out) + ".ckpt")
    p = distsim(["--resume", str(out), "--t-sim", "160", "-q"], n=n_resume)
    assert p.returncode == 0, p.stderr
    assert_same_output(full, out)
    assert set(read_report(full)) >= {"A", "A:I_syn_ex", "A:I_syn_in", "P", "P:n_events", "P:mean"}
