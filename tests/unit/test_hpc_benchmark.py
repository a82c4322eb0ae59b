"""The built-in hpc_benchmark: NEST's parameters, and its mV -> pA conversion checked by
simulation (the PSP of one JE_pA input peaks at JE = 0.14 mV)."""
import numpy as np

from distsim.networks import build_builtin
from distsim.networks.hpc_benchmark import TAU_SYN, derive
from distsim.spec import Device, Network, Population, validate


def test_nest_parameters_and_scaling():
    P = derive()
    assert (P["NE"], P["NI"], P["CE"], P["CI"]) == (9000, 2250, 9000, 2250)
    net = validate(build_builtin("hpc_benchmark", {"scale": "0.2", "indegree_scale": "0.1"}))
    E, I = net.population("E"), net.population("I")
    assert (E.n, I.n) == (1800, 450) and E.params["tau_minus"].a == 30.0
    ee = net.projections[0]
    assert ee.synapse == {"model": "stdp_pl_synapse_hom", "alpha": 0.0513, "lambda": 0.1, "mu": 0.4,
                          "tau_plus": 15.0}
    assert ee.indegree == 900 and net.projections[1].indegree == 225 and not ee.allow_autapses
    assert all(pr.delay_ms.a == 1.5 for pr in net.projections)
    assert net.projections[1].weight.a == -5.0 * ee.weight.a
    # the external rate brings the mean input to eta times threshold: eta V_th
    rate = net.devices[0].params["rate_Hz"]
    mean_mV = rate * 1e-3 * ee.weight.a * np.e * TAU_SYN * 10.0 / 250.0
    assert abs(mean_mV - 1.685 * 20.0) < 1e-9


def test_weight_conversion_gives_the_psp_peak():
    from conftest import run_network

    P = derive()
    h = 0.001
    params = {"E_L": 0.0, "V_m": 0.0, "V_th": 1e3, "V_reset": 0.0, "C_m": 250.0, "tau_m": 10.0,
              "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN}
    net = Network([Population("n", "iaf_psc_alpha", 1, params)], [],
                  [Device("spike_generator", ["n"], {"spike_times_ms": [1.0], "weight": P["JE_pA"], "delay_ms": h}),
                   Device("voltmeter", ["n"], {"interval_ms": h})], dt_ms=h)
    _, _, samples = run_network(net, 5.0)
    v = samples["n"][2][:, 0]
    assert abs(v.max() / 0.14 - 1.0) < 1e-5  # sampled every microsecond: the peak to ~1e-9


def test_cli_weights_every_writes_snapshots_and_resume_continues_them(tmp_path):
    """``distsim run hpc_benchmark --weights-every 10`` writes /edges/E->E/weight_t<ms>; a run
    to 35 ms checkpointed at 20 ms, resumed from there to 25 ms (the snapshot at 30 ms, after
    the checkpoint, is removed) and then to 40 ms without the option continues the snapshots
    from the file and equals an uninterrupted run; the option is refused off the dt grid and
    without an output file."""
    import subprocess
    import sys

    import h5py

    from distsim.recording.hdf5 import read_edges

    base = [sys.executable, "-m", "distsim", "run", "hpc_benchmark", "--set", "scale=0.02",
            "--set", "indegree_scale=0.01", "--seed", "2", "-q"]

    def run(*extra):
        return subprocess.run(base + list(extra), capture_output=True, text=True, timeout=600)

    full, part = str(tmp_path / "full.h5"), str(tmp_path / "part.h5")
    p = run("--t-sim", "40", "--weights-every", "10", "-o", full)
    assert p.returncode == 0, p.stderr
    p = run("--t-sim", "35", "--weights-every", "10", "--checkpoint-every", "20", "-o", part)
    assert p.returncode == 0, p.stderr
    assert list(read_edges(part)["E->E"]["snapshots"]) == [10.0, 20.0, 30.0]

    def resume(t):
        p = subprocess.run([sys.executable, "-m", "distsim", "run", "--resume", part, "--t-sim", t, "-q"],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr

    resume("25")  # from the checkpoint at 20: the snapshot at 30 is after it, and goes
    assert list(read_edges(part)["E->E"]["snapshots"]) == [10.0, 20.0]
    resume("40")
    a, b = read_edges(full)["E->E"], read_edges(part)["E->E"]
    assert list(a["snapshots"]) == list(b["snapshots"]) == [10.0, 20.0, 30.0, 40.0]
    for t in a["snapshots"]:
        assert np.array_equal(a["snapshots"][t], b["snapshots"][t])
    assert np.array_equal(a["weight"], b["weight"]) and np.array_equal(a["snapshots"][40.0], a["weight"])
    assert not np.array_equal(a["snapshots"][10.0], a["weight"])
    with h5py.File(full, "r") as f:
        assert f["meta"].attrs["weights_every_ms"] == 10.0
    for extra in (("--weights-every", "0.05", "-o", str(tmp_path / "x.h5")), ("--weights-every", "10")):
        p = run("--t-sim", "10", *extra)
        assert p.returncode == 2 and "--weights-every" in p.stderr, p.stderr
