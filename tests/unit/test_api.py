"""The in-process API (distsim.api, issue 17), serially: repeated runs, parameters and state
between runs, reset, spike sources, gathering and HDF5 output."""
import copy

import numpy as np
import pytest

import distsim
from api_scenarios import (assert_same, reset_then_run, results, run_once, run_twice, set_between_runs,
                           small_net, tiny_populations)
from distsim.comm import SerialComm
from distsim.spec import SpecError, network_from_dict, validate

C = SerialComm()


def test_run_twice_equals_run_once():
    a, b = run_twice(C), run_once(C)
    assert_same(a, b)
    assert a["gids"].size > 50 and a["samples"].shape == (200, 3)


def test_set_parameter_between_runs_equals_a_network_built_with_it():
    """After E.set(tau_m=7, I_e=260) at 50 ms the run goes on exactly as a network built with
    those values and given the same state at 50 ms (derived constants recomputed)."""
    a, state = set_between_runs(C)
    net, E, _, _ = small_net(C, E_params={"tau_m": 7.0, "I_e": 260.0})
    net.build().load_state(state)
    net.run(50.0)
    b = results(net, E)
    late = a["times"] > 50.0
    assert np.array_equal(a["gids"][late], b["gids"]) and np.array_equal(a["times"][late], b["times"])
    assert np.array_equal(a["V_m"], b["V_m"])
    # and the change mattered: without it the second half differs
    c = run_once(C)
    assert not np.array_equal(c["gids"][c["times"] > 50.0], b["gids"])


def test_set_per_neuron_array_and_distribution_and_get():
    net, E, I, _ = small_net(C)
    net.run(10.0)
    x = np.linspace(100.0, 300.0, E.size)
    E.set(I_e=x, V_th={"dist": "uniform", "low": -56.0, "high": -54.0})
    assert np.array_equal(E.get("I_e"), x)
    vth = E.get("V_th")
    assert vth.min() >= -56.0 and vth.max() < -54.0 and np.unique(vth).size == E.size
    assert np.array_equal(I.get("I_e"), np.zeros(I.size))  # another population untouched
    E.set(V_m=-65.0)  # a state variable: now
    assert np.array_equal(E.get("V_m"), np.full(E.size, -65.0))
    net.run(10.0)
    assert not np.array_equal(E.get("V_m"), np.full(E.size, -65.0))


def _toml_error(params):
    with pytest.raises(SpecError) as e:
        validate(network_from_dict({"populations": [{"name": "E", "model": "iaf_psc_exp", "n": 30,
                                                     "params": params}]}))
    return str(e.value)


@pytest.mark.parametrize("built", [False, True])
def test_set_errors_are_those_of_a_parameter_file(built):
    net, E, _, _ = small_net(C)
    if built:
        net.run(1.0)
    for bad in ({"tau_m": -1.0}, {"V_reset": -50.0}, {"C_m": {"dist": "normal", "mean": 250.0, "std": 10.0}}):
        with pytest.raises(SpecError) as e:
            E.set(**bad)
        assert str(e.value) == _toml_error(bad)
    with pytest.raises(SpecError, match="did you mean 'tau_m'"):
        E.set(tau_mm=5.0)
    assert np.array_equal(E.get("tau_m"), np.full(E.size, 10.0))  # nothing changed
    assert np.array_equal(E.get("I_e"), np.full(E.size, 200.0))


def test_array_errors_name_the_bad_value():
    net, E, _, _ = small_net(C)
    net.build()
    x = np.full(E.size, 10.0)
    x[4] = -2.0
    with pytest.raises(SpecError, match=r"populations\[E\].params.tau_m = -2.0: must be > 0"):
        E.set(tau_m=x)
    with pytest.raises(SpecError, match="one value per neuron"):
        E.set(tau_m=x[:3])
    with pytest.raises(SpecError, match=r"V_m = nan"):
        E.set(V_m=np.full(E.size, np.nan))


def test_reset_gives_the_spikes_of_a_fresh_network():
    assert_same(reset_then_run(C), run_once(C))


def test_reset_keeps_parameters_as_set():
    a = reset_then_run(C, change=lambda E, I: E.set(I_e=230.0))
    net, E, _, _ = small_net(C, E_params={"I_e": 230.0})
    net.run(100.0)
    assert_same(a, results(net, E))


def test_initialize_sets_what_reset_returns_to():
    net, E, _, _ = small_net(C)
    net.run(20.0)
    E.initialize(V_m=-66.0)
    assert np.array_equal(E.get("V_m"), np.full(E.size, -66.0))
    net.run(5.0)
    net.reset()
    assert net.t == 0.0 and np.array_equal(E.get("V_m"), np.full(E.size, -66.0))
    assert net.get_spikes()[0].size == 0  # recorded data are cleared


def test_spike_source_population_is_recorded_one_step_later():
    net, E, I, S = small_net(C)
    net.run(20.0)
    trains = S.spiketrains()
    # times are step stamps x dt, as in the HDF5 file: 5.0 ms -> stamp 51 -> 51 * 0.1
    assert [t.tolist() for t in trains] == [(np.array(s) * 0.1).tolist() for s in ([51, 76], [124], [124, 124])]
    ids, t = S.get_spikes()
    assert ids.tolist() == [0, 0, 1, 2, 2]


def test_gathered_spikes_are_in_gid_order_and_gather_modes_agree():
    net, E, I, S = small_net(C)
    net.run(50.0)
    g, t = net.get_spikes()
    assert np.all(np.diff(g) >= 0)
    same = g[1:] == g[:-1]
    assert np.all(np.diff(t)[same] >= 0)
    for mode in (0, None):
        g2, t2 = net.get_spikes(gather=mode)
        assert np.array_equal(g, g2) and np.array_equal(t, t2)
    gE, tE = net.get_spikes([E])
    ids, tt = E.get_spikes()
    assert np.array_equal(gE - E.first_gid, ids) and np.array_equal(tE, tt)
    trains = E.spiketrains()
    assert len(trains) == E.size and sum(x.size for x in trains) == ids.size
    with pytest.raises(SpecError, match="gather"):
        net.get_spikes(gather="root")


def test_nothing_can_be_added_after_the_build():
    net, E, _, _ = small_net(C)
    net.run(1.0)
    with pytest.raises(SpecError, match="is built"):
        net.create("X", "iaf_psc_exp", 3)
    with pytest.raises(SpecError, match="is built"):
        net.connect(E, E, "one_to_one")
    with pytest.raises(SpecError, match="is built"):
        E.record("V_m")


def test_invalid_description_is_refused_where_it_is_made():
    net = distsim.Network(dt_ms=0.1, seed=1, comm=C)
    E = net.create("E", "iaf_psc_exp", 5)
    with pytest.raises(SpecError, match=r"unknown rule; did you mean 'one_to_one'"):
        net.connect(E, E, "one_to_on")
    with pytest.raises(SpecError, match="rate_Hz"):
        net.add_device("poisson_generator", E, weight=1.0)
    assert net.spec.projections == [] and net.spec.devices == []  # the description is unchanged
    with pytest.raises(SpecError, match="multiple of dt_ms"):
        net.run(1.05)


def test_hdf5_output_as_the_cli_writes_it(tmp_path):
    from distsim.recording.hdf5 import read_report, read_spikes
    out = tmp_path / "api.h5"
    net, E, I, S = small_net(C, output=str(out))
    net.run(30.0)
    net.run(20.0)
    with pytest.raises(SpecError, match="close"):
        net.reset()
    net.close()
    spikes = read_spikes(str(out))
    g, t = net.get_spikes()
    fg = np.concatenate([spikes[p][0] for p in ("E", "I", "S")])
    ft = np.concatenate([spikes[p][1] for p in ("E", "I", "S")])
    o = np.lexsort((ft, fg))
    assert np.array_equal(fg[o], g) and np.array_equal(ft[o], t)
    rep = read_report(str(out))["E"]
    ids, ts, v = E.get_samples()
    assert np.array_equal(rep[-1], v)
    net.reset()  # allowed once the file is closed
    net.run(10.0)


def test_simulation_reset_and_set_params_directly():
    """The engine methods the API is built on."""
    from distsim.engine import Simulation
    from distsim.recording import MemoryRecorder
    net, _, _, _ = small_net(C)
    spec = net.spec
    rec = MemoryRecorder()
    sim = Simulation(copy.deepcopy(spec), seed=3, comm=C, recorder=rec)
    sim.run(40.0)
    first = rec.gather_spikes(C)
    sim.set_params("E", {"tau_m": 12.0})
    gids, tau = sim.get_values("E", "tau_m")
    assert np.array_equal(tau, np.full(30, 12.0)) and np.array_equal(gids, np.arange(30))
    sim.set_params("E", {"tau_m": 10.0})  # back: shared again (one element per parameter)
    assert sim._locate("E")[0].p["tau_m"].shape == (1,)
    sim.reset()
    rec.clear()
    sim.run(40.0)
    second = rec.gather_spikes(C)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_tiny_populations_serial():
    r = tiny_populations(C)
    g, t = r["gids"], r["times"]
    assert set(g.tolist()) >= {0, 3}  # A fires, the spike source too
    assert np.any((g == 2) & (t > 30.0))  # B[1] driven by the I_e set at 30 ms


def test_sources_changed_between_runs_and_reset():
    from api_scenarios import sources_changed
    r = sources_changed(C)
    n = lambda k: r["trains_" + k].size // 2  # noqa: E731
    sid, st = r["trains_S"][:n("S")], r["trains_S"][n("S"):]
    # node 0: 5 (before), 25 and 30.5 (new; the old 30 is gone); node 1: 12 only; node 2: 21 x 2
    assert sid.tolist() == [0, 0, 0, 1, 2, 2]
    assert np.allclose(st, [5.1, 25.1, 30.6, 12.1, 21.1, 21.1])
    pid, pt = r["trains_P"][:n("P")], r["trains_P"][n("P"):]
    assert pt.size > 50 and pt.min() > 20.0  # switched on at 20 ms
    # the 19 ms spike was in flight (delay 3 ms) at the change: it still arrives
    assert np.allclose(r["trains_D"][n("D"):], [22.0, 28.0])
    # after reset the new trains play from t = 0: S node 0 at 25.1, 30.6 only
    g, t = r["after_reset_gids"], r["after_reset_times"]
    assert np.allclose(t[g == 0], [25.1, 30.6]) and np.allclose(t[g == 7], [28.0])
    net = distsim.Network(dt_ms=0.1, comm=C)
    S = net.create_spike_source("S", [1.0])
    net.run(1.0)
    with pytest.raises(SpecError, match="rate_Hz"):  # a spike generator has no rate
        S.set(rate_Hz=3.0)
    with pytest.raises(SpecError, match=r"spike_times_ms\[0\]"):
        S.set(spike_times=[float("nan")])


def test_per_neuron_values_before_the_build_apply_at_the_build():
    net, E, I, _ = small_net(C)
    x = np.linspace(-70.0, -60.0, E.size)
    E.set(I_e=np.arange(E.size) * 10.0, V_m=x)
    net.create("late", "iaf_psc_exp", 2)  # still allowed: nothing was built
    net.run(0.0)
    assert np.array_equal(E.get("I_e"), np.arange(E.size) * 10.0) and np.array_equal(E.get("V_m"), x)
    net.run(5.0)
    net.reset()
    assert np.array_equal(E.get("V_m"), x)  # initial values
