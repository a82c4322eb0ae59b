"""distsim.pynn, the PyNN 0.13 backend (issue 17): a small PyNN script runs serially and on
2 MPI processes with identical gathered results; the PyNN-level pieces each checked."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyNN", reason="PyNN 0.13.0 (pip install PyNN==0.13.0)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tests", "pynn_scenario.py")


def _run(n):
    cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
    r = subprocess.run(cmd + [SCRIPT], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1, r.stdout[-2000:]
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def serial():
    import distsim.pynn as sim
    from pynn_scenario import run
    return run(sim)


def test_pynn_script_serial(serial):
    r = serial
    # the spike source repeats its times exactly (stamps x dt), one train per cell
    assert np.allclose(r["src.spikes"][0], [2.0, 7.0, 12.0]) and np.allclose(r["src.spikes"][2], [9.5, 20.0])
    v = np.array(r["cuba.v"])
    assert v.shape == (301, 3) and np.all(v[0] == -60.0)  # 0..30 ms every dt, initial value first
    g = np.array(r["coba.gsyn_exc"])
    assert g.shape == (301, 3) and g.max() > 0.05  # uS, the 0.08 uS jumps (minus decay)
    vc = np.array(r["coba.v"])  # the step current (from 3 ms, into coba[1:]) reaches the cells at 3 ms
    assert vc[30, 1] == vc[30, 2] == -65.0 and vc[31, 1] == vc[31, 2] > -65.0
    va = np.array(r["alpha.v"])
    assert va.min() < -65.5  # inhibitory input pulls below rest (-65 mV)
    assert sum(len(t) for t in r["poi.spikes"]) > 10
    # i_offset raised to 0.9 nA at 15 ms: cuba fires after it
    assert all(any(t > 15.0 for t in tr) for tr in r["cuba.spikes"])


def test_pynn_script_two_processes_equals_serial(serial):
    assert _run(2) == json.loads(json.dumps(serial, sort_keys=True))


def test_population_get_set_initialize_and_errors():
    import distsim.pynn as sim
    from distsim.spec import SpecError
    sim.setup(timestep=0.1)
    p = sim.Population(4, sim.IF_cond_exp(tau_m=20.0, cm=0.5), label="p")
    assert p.get("tau_m") == pytest.approx(20.0) and p.get("cm") == pytest.approx(0.5)
    assert p._native["g_L"][0] == pytest.approx(25.0)  # nS = cm / tau_m (nF/ms) * 1000
    p[1:3].set(i_offset=0.2)
    assert np.allclose(p.get("i_offset"), [0.0, 0.2, 0.2, 0.0])
    with pytest.raises(SpecError, match=r"C_m = -500.0: must be > 0"):
        p.set(cm=-0.5)
    p.initialize(v=np.array([-70.0, -65.0, -60.0, -55.5]))
    p.record("v")
    sim.run(0.1)
    v = p.get_data().segments[0].analogsignals[0]
    assert np.allclose(np.asarray(v.magnitude)[0], [-70.0, -65.0, -60.0, -55.5])
    sim.end()
    assert set(sim.list_standard_models()) >= {"IF_curr_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                                               "SpikeSourceArray", "SpikeSourcePoisson"}


def test_pynn_mpi_cases_same_on_1_2_3_processes():
    """Fewer cells than processes (a population of 1 on 3), a recorded SpikeSourceArray
    changed between runs, trains gathered in id order: identical on 1, 2 and 3 processes."""
    script = os.path.join(ROOT, "tests", "pynn_mpi_cases.py")
    outs = []
    for n in (1, 2, 3):
        cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
        r = subprocess.run(cmd + [script], capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append([x for x in r.stdout.splitlines() if x.startswith("{")])
    assert outs[0] == outs[1] == outs[2] and len(outs[0]) == 1
    r = json.loads(outs[0][0])
    assert [i for i, _ in r["big"]] == list(range(7)) and [i for i, _ in r["src"]] == [0, 1]  # id order
    assert r["src"] == [[0, [1.0, 3.0, 12.0, 14.0]], [1, [2.0, 15.5, 16.0, 18.0]]]
    assert len(r["one"][0][1]) > 0 and all(len(t) > 0 for _, t in r["big"])


@pytest.fixture(scope="module")
def connections_serial():
    import distsim.pynn as sim
    from pynn_connections import run
    return run(sim)


def test_views_assemblies_connectors_and_connection_access(connections_serial):
    r = connections_serial
    # FromList from a view (src[1], src[3]) onto an Assembly (a then b): exactly the list,
    # indices within the view and the assembly, multapses kept
    assert r["view of 'src' with size 2\u2192assembly0.list"] == [
        [0.0, 0.0, 0.5, 1.0], [0.0, 7.0, 0.03, 1.5], [1.0, 2.0, 0.7, 2.0], [1.0, 6.0, 0.01, 0.5], [1.0, 6.0, 0.02, 0.5]]
    # FixedNumberPost: every presynaptic cell has exactly 2 targets in the view a[1:4]
    fnp = r["src\u2192view of 'a' with size 3.list"]
    assert [sum(1 for c in fnp if c[0] == i) for i in range(4)] == [2, 2, 2, 2]
    assert all(0 <= c[1] < 3 and c[2:] == [0.3, 1.0] for c in fnp)
    assert r["sizes"][:2] == [5, 8] and r["sizes"][2] == len(r["p3.before"])
    # Projection.set before the run: a weight per (pre, post) from the array
    assert [c[2] for c in r["p3.after"]] == pytest.approx([0.005 + 0.001 * (3 * i + j) for i, j, _ in r["p3.before"]])
    # the inhibitory conductances arrive (positive in PyNN, negative inside distsim)
    g = np.array(r["c.gsyn_inh"])
    assert g.min() >= 0 and g.max() > 0
    # the AC source (from 5 ms) reaches b[2] at 5 ms (b[1] and b[2] get FromList input later, b[0] none)
    bv = np.array(r["b.v"])
    assert np.all(bv[:51] == -65.0) and bv[52, 2] != -65.0 and np.all(bv[:, 0] == -65.0)
    # STDP between a[0] and a[1] (both firing) moved the weight from 1.0
    assert len(r["a.spikes"][0]) > 1 and len(r["a.spikes"][1]) > 1
    assert r["p4.weight"][0][:2] == [0.0, 0.0] and r["p4.weight"][0][2] != 1.0


def test_views_assemblies_connectors_every_rank_same_as_serial(connections_serial):
    """On 2 processes every rank prints the same data as the serial run: connections drawn
    by PyNN per rank and exchanged, get_data gathered to every rank in id order."""
    script = os.path.join(ROOT, "tests", "pynn_connections.py")
    r = subprocess.run(["mpirun", "-n", "2", sys.executable, "-m", "mpi4py", script], capture_output=True,
                       text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1
    ranks = json.loads(lines[0])["ranks"]
    want = json.loads(json.dumps(connections_serial, sort_keys=True))
    assert len(ranks) == 2 and ranks[0] == want and ranks[1] == want


def test_step_current_times_on_the_grid_and_checked():
    import distsim.pynn as sim
    sim.setup(timestep=0.1, min_delay=0.1)
    step = sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.5])
    assert np.allclose(step.times.evaluate(), [0.4, 0.9]) and np.allclose(step.amplitudes.evaluate(), [-0.5, 0.5])
    assert step.times[0] == pytest.approx(0.4)
    # rounded after the one-step shift as pyNN.nest rounds t - min_delay: 8.05 stays apart from 8.0
    assert np.allclose(sim.StepCurrentSource(times=[8.0, 8.05], amplitudes=[0.1, 0.6]).times.evaluate(), [8.0, 8.1])
    with pytest.raises(ValueError, match="negative"):
        sim.StepCurrentSource(times=[0.4, -0.6], amplitudes=[0.5, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        sim.StepCurrentSource(times=[0.4, 0.2], amplitudes=[0.5, 0.5])
    sim.end()
