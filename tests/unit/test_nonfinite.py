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
