"""A run whose state becomes NaN/inf stops with an error naming the neuron, instead of writing
NaN traces and exiting 0 (as NEST does). The state is checked once per slice, on the Python
slice path and in the compiled loop (engine.loop)."""
import json
import os

import numpy as np
import pytest

from distsim.engine import NonFiniteState, Simulation
from distsim.kernels.finite import first_nonfinite
from distsim.recording import MemoryRecorder
from distsim.spec import Device, Network, Population, Projection


def test_first_nonfinite_finds_the_first_nan_or_inf():
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 64, 1001):
        v = rng.normal(-65.0, 10.0, n)
        assert first_nonfinite(v) == -1
        if n == 0:
            continue
        v[n - 1] = 1e308  # finite, however large
        assert first_nonfinite(v) == -1
        for bad in (np.nan, np.inf, -np.inf):
            for k in {0, n // 2, n - 1}:
                w = v.copy()
                w[k] = bad
                w[-1] = np.nan if k < n - 1 else w[-1]  # a later one too
                assert first_nonfinite(w) == k


def _net(n=6):
    """hh_psc_alpha neurons (gid 0..n-1, one population) with an iaf population after them,
    recurrent synapses, a voltmeter and spikes recorded."""
    return Network([Population("A", "hh_psc_alpha", n, {"I_e": 500.0}),
                    Population("B", "iaf_psc_alpha", 4, {"I_e": 400.0})],
                   [Projection("A", "B", "all_to_all", weight=10.0, delay_ms=0.5),
                    Projection("B", "A", "all_to_all", weight=10.0, delay_ms=0.5)],
                   [Device("voltmeter", ["A"], {"interval_ms": 0.1}),
                    Device("spike_recorder", ["A", "B"])])


def _poison(sim, gid):
    """Start neuron ``gid`` of A at V_m = -40 mV exactly, where hh_psc_alpha's alpha_m is 0/0
    (NaN in NEST too): its state is NaN after the first step."""
    v = np.full(6, -65.0)
    v[gid] = -40.0
    sim.set_state("A", "V_m", v)


@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_nan_stops_the_run_naming_the_neuron(loop):
    rec = MemoryRecorder()
    sim = Simulation(_net(), seed=1, recorder=rec, loop=loop)
    assert sim.uses_compiled_loop() == (loop == "compiled")
    sim.run(2.0)  # finite: no error
    _poison(sim, 4)
    with pytest.raises(NonFiniteState) as e:
        sim.run(10.0)
    info = e.value.info
    # the first slice after 2 ms (min delay 0.5 ms) ends at 2.5 ms
    assert (info["gid"], info["population"], info["model"], info["variable"]) == (4, "A", "hh_psc_alpha", "V_m")
    assert info["t_ms"] == pytest.approx(2.5) and info["t_from_ms"] == pytest.approx(2.0)
    assert np.isnan(info["value"]) and sim.step == 25 and sim.stopped
    msg = str(e.value)
    for part in ("gid 4", "population A", "hh_psc_alpha", "t = 2.5 ms", "smaller dt_ms", "weaker input"):
        assert part in msg
    # the recorder has the slice's samples (the NaN included): nothing after the stop
    g, t, v = rec.gather_samples(sim.comm, "A")
    assert t.max() == pytest.approx(25) and np.isnan(v[-1, list(g).index(4)])
    assert np.all(np.isfinite(v[t <= 20]))
    with pytest.raises(RuntimeError, match="reset"):
        sim.run(1.0)  # a failed simulation does not go on silently
    sim.reset()
    sim.run(3.0)  # after a reset it runs again (V_m = -65 everywhere)


def test_both_loops_stop_at_the_same_slice_with_the_same_spikes():
    out = []
    for loop in ("python", "compiled"):
        rec = MemoryRecorder()
        sim = Simulation(_net(), seed=1, recorder=rec, loop=loop)
        sim.run(10.0)
        _poison(sim, 1)
        with pytest.raises(NonFiniteState) as e:
            sim.run(10.0)
        g, s = rec.gather_spikes(sim.comm)
        info = dict(e.value.info)
        assert np.isnan(info.pop("value"))
        out.append((info, sim.step, g.tolist(), s.tolist()))
    assert out[0] == out[1]
    assert out[0][1] == 105 and len(out[0][2]) > 0


def test_rkf45_conductance_model_going_nan_is_caught():
    """iaf_cond_exp whose conductance input is infinite (a poisson_generator of weight 1e308
    nS summed twice overflows): the NaN reaches V_m and stops the run."""
    net = Network([Population("C", "iaf_cond_exp", 3, {})], [],
                  [Device("spike_generator", ["C"], {"spike_times_ms": [1.0, 1.0], "weight": 1e308})])
    sim = Simulation(net, seed=1)
    with pytest.raises(NonFiniteState) as e:
        sim.run(5.0)
    assert e.value.info["population"] == "C" and e.value.info["model"] == "iaf_cond_exp"
    assert e.value.info["gid"] == 0


def test_check_costs_little_and_finite_runs_are_unchanged():
    """A finite run gives the same spikes with both loops (the check changes nothing)."""
    res = []
    for loop in ("python", "compiled"):
        rec = MemoryRecorder()
        sim = Simulation(_net(), seed=2, recorder=rec, loop=loop).run(20.0)
        res.append(rec.gather_spikes(sim.comm))
    assert res[0][0].tolist() == res[1][0].tolist() and res[0][1].tolist() == res[1][1].tolist()
    assert res[0][0].size > 0


# ------------------------------------------------------------------ distsim run
#: hh_psc_alpha neurons A (gids 0-2) and one iaf_cond_exp neuron P (gid 3: on rank 1 of 2)
#: whose conductance input overflows to inf at 5 ms (two spikes of 1e308 nS): its V_m becomes
#: NaN, the others' stays finite
NAN_SPEC = {
    "name": "nan_one_rank",
    "simulation": {"dt_ms": 0.1},
    "populations": [{"name": "A", "model": "hh_psc_alpha", "n": 3, "params": {"I_e": 500.0}},
                    {"name": "P", "model": "iaf_cond_exp", "n": 1, "params": {}}],
    "projections": [{"source": "A", "target": "A", "rule": "all_to_all", "weight": 1.0, "delay_ms": 1.0},
                    {"source": "P", "target": "A", "rule": "all_to_all", "weight": 1.0, "delay_ms": 1.0}],
    "devices": [{"type": "spike_generator", "targets": ["P"], "spike_times_ms": [5.0, 5.0], "weight": 1e308},
                {"type": "voltmeter", "targets": ["A", "P"], "interval_ms": 0.1},
                {"type": "spike_recorder", "targets": ["A", "P"]}],
}


def _spec_file(tmp_path):
    from test_fuzz_specs import to_toml
    p = tmp_path / "nan.toml"
    p.write_text(to_toml(NAN_SPEC))
    return str(p)


def _check_failed_output(path, ckpt_before_ms=None):
    """The output of a run stopped by a NaN: readable, complete = 0, the error in /meta, the
    NaN in P's last samples only; returns (spikes sorted by (gid, time), t_flushed_ms)."""
    import h5py
    from distsim.recording.hdf5 import read_report, read_spikes
    with h5py.File(path, "r") as f:
        meta = {k: f["meta"].attrs[k] for k in ("complete", "error", "t_flushed_ms")}
    assert meta["complete"] == 0
    err = meta["error"].decode() if isinstance(meta["error"], bytes) else meta["error"]
    assert "gid 3" in err and "iaf_cond_exp" in err and "population P" in err
    t_end = float(meta["t_flushed_ms"])
    rep = read_report(path)
    gids, times, data = rep["P"]
    assert times[-1] == pytest.approx(t_end) and np.isnan(data[-1]).all()
    assert np.isfinite(data[times <= t_end - 1.0]).all()  # finite up to the slice before
    assert np.isfinite(rep["A"][2]).all()
    sp = read_spikes(path)
    g = np.concatenate([sp[p][0] for p in sp]).astype(np.int64)
    t = np.concatenate([sp[p][1] for p in sp])
    o = np.lexsort((t, g))
    return (g[o].tolist(), t[o].tolist()), t_end


def _distsim(args, n_ranks=None, timeout=600):
    """``distsim ARGS`` in a new process (``distsim run`` ends MPI when it stops on a NaN,
    after which this process could not use h5py), under ``mpirun -n n_ranks`` if given."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "mpi4py", "-m", "distsim"] + list(args)
    if n_ranks:
        cmd = ["mpirun", "-n", str(n_ranks)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_cli_run_with_nan_exits_3_and_keeps_a_readable_output(tmp_path):
    from distsim.engine import checkpoint as ckpt
    out = str(tmp_path / "out.h5")
    p = _distsim(["run", _spec_file(tmp_path), "--t-sim", "20", "-o", out, "-q", "--checkpoint-every", "2"])
    err = p.stderr
    assert p.returncode == 3, err
    for part in ("non-finite state", "V_m = nan", "gid 3", "population P", "model iaf_cond_exp",
                 "t = 6 ms", "smaller dt_ms", "weaker input", "out.h5 holds the run up to t = 6 ms"):
        assert part in err, (part, err)
    assert "MPI_Abort" not in err and "Traceback" not in err
    spikes, t_end = _check_failed_output(out)
    assert t_end == 6.0 and len(spikes[0]) > 0
    # the last checkpoint is the one before the NaN (4 ms), not of the NaN state
    assert ckpt.read_checked(ckpt.checkpoint_path(out))["step"] == 40


def test_cli_run_with_nan_on_one_of_two_ranks_stops_both(tmp_path):
    """Under mpirun -n 2 the NaN is on rank 1 only: both ranks stop after the same slice and
    exit 3 (no MPI_Abort, no hang), rank 0 names the neuron on rank 1, and the output holds
    the same spikes as the serial run's."""
    spec = _spec_file(tmp_path)
    serial, par = str(tmp_path / "serial.h5"), str(tmp_path / "par.h5")
    assert _distsim(["run", spec, "--t-sim", "20", "-o", serial, "-q"]).returncode == 3
    p = _distsim(["run", spec, "--t-sim", "20", "-o", par, "-q"], n_ranks=2)
    assert p.returncode == 3, p.stderr
    assert "rank 1)" in p.stderr and "gid 3" in p.stderr and "t = 6 ms" in p.stderr
    assert p.stderr.count("non-finite state") == 1  # rank 0 prints it once
    assert "MPI_Abort" not in p.stderr and "failed" not in p.stderr
    assert _check_failed_output(par) == _check_failed_output(serial)
