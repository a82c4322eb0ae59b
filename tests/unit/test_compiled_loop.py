"""The compiled step loop (issue 14, ``engine.loop``) against the Python per-slice path: the
same spikes, samples, counts and states bit for bit, with devices, multiplicities, overflow
rounds, event-pool growth, chunk boundaries at flushes, a requested stop and a restore."""
import numpy as np
import pytest

from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.engine import exchange as ex
from distsim.networks.brunel import brunel
from distsim.recording import MemoryRecorder
from distsim.spec import Device, Network, Population, Projection


def _run(net, t_ms, loop, seed=5, chunk_ms=None, **kw):
    rec = MemoryRecorder()
    sim = Simulation(net, seed=seed, comm=SerialComm(), recorder=rec, loop=loop, chunk_ms=chunk_ms)
    assert sim.uses_compiled_loop() == (loop == "compiled")
    sim.run(t_ms, **kw)
    samples = {k: rec.gather_samples(SerialComm(), k) for k in sorted(sim.report_variables())}
    return sim, rec.local_spikes(), samples


def _assert_same(a, b):
    (sa, (ga, ta), va), (sb, (gb, tb), vb) = a, b
    assert np.array_equal(ga, gb) and np.array_equal(ta, tb)  # also in recording order
    assert va.keys() == vb.keys()
    for k in va:
        for x, y in zip(va[k], vb[k]):
            assert np.array_equal(x, y), k
    assert (sa.step, sa.n_spikes, sa.n_events) == (sb.step, sb.n_spikes, sb.n_events)
    assert sa.exchange.stats() == sb.exchange.stats()
    for g1, g2 in zip(sa.groups, sb.groups):
        for k in g1.state:
            assert np.array_equal(g1.state[k], g2.state[k]), k
    for r1, r2 in zip((sa.ring_ex, sa.ring_in, sa.ring_cur), (sb.ring_ex, sb.ring_in, sb.ring_cur)):
        assert np.array_equal(r1, r2)
    ra, rb = sa.events.records(0, 1), sb.events.records(0, 1)
    for kind in ra:
        for x, y in zip(ra[kind], rb[kind]):
            assert np.array_equal(x, y)


def _devices_net():
    """Every stimulator kind, weights of both signs, a voltmeter on two variables, a delay
    range (min delay 2 steps)."""
    pops = [Population("E", "iaf_psc_alpha", 30, {"I_e": 200.0, "V_m": {"dist": "uniform", "low": -70.0, "high": -55.0}}),
            Population("I", "iaf_psc_alpha", 10, {"I_e": 150.0})]
    projs = [Projection("E", "E", "fixed_indegree", weight=40.0, delay_ms={"dist": "uniform", "low": 0.2, "high": 3.0},
                        indegree=5),
             Projection("E", "I", "fixed_indegree", weight=60.0, delay_ms=0.5, indegree=5),
             Projection("I", "E", "fixed_indegree", weight=-150.0, delay_ms=0.7, indegree=3)]
    devs = [Device("poisson_generator", ["E", "I"], {"rate_Hz": 9000.0, "weight": 30.0}),
            Device("spike_generator", ["E"], {"spike_times_ms": [1.0, 3.3, 3.3, 17.9], "weight": 250.0}),
            Device("spike_generator", ["I"], {"spike_times_ms": [2.0, 8.5], "weight": -300.0}, neuron_ids=[1, 4]),
            Device("dc_generator", ["E"], {"amplitude_pA": 80.0, "start_ms": 5.0, "stop_ms": 25.0}),
            Device("step_current_generator", ["I"], {"amplitude_times_ms": [3.0, 9.0, 14.0],
                                                     "amplitude_values_pA": [100.0, -50.0, 0.0]}),
            Device("spike_recorder", ["E", "I"]),
            Device("multimeter", ["E", "I"], {"interval_ms": 0.3, "record_from": ["V_m", "I_syn_ex"]},
                   n_per_population=4)]
    return Network(pops, projs, devs)


@pytest.mark.parametrize("chunk_ms", [10.0, 0.7])
def test_devices_and_samples_bit_identical_to_python_path(chunk_ms):
    a = _run(_devices_net(), 40.0, "compiled", chunk_ms=chunk_ms)
    b = _run(_devices_net(), 40.0, "python")
    assert a[1][0].size > 50 and a[0].min_delay == 2
    _assert_same(a, b)


def test_brunel_with_pool_growth_and_overflow_rounds(monkeypatch):
    """Capacity 1 record a slot: second rounds, growth and shrinking inside the compiled
    loop, decided as the Python path decides."""
    monkeypatch.setattr(ex, "INITIAL_CAPACITY", 1)
    monkeypatch.setattr(ex, "SHRINK_AFTER", 3)
    a = _run(brunel(order=50, delay=0.1, voltmeter=3), 60.0, "compiled")
    b = _run(brunel(order=50, delay=0.1, voltmeter=3), 60.0, "python")
    st = a[0].exchange.stats()
    assert st["second_rounds"] > 0 and st["resizes"] > 1
    _assert_same(a, b)


def test_event_pools_grow_inside_the_call():
    """Synchronous spikes of 120 identical neurons to all 120: 14,400 events in one slice,
    more than the pools' first chunks hold."""
    def make():
        return Network([Population("A", "iaf_psc_delta", 120, {"I_e": 600.0, "V_m": -70.0})],
                       [Projection("A", "A", "all_to_all", weight=0.01, delay_ms=0.1)],
                       [Device("spike_recorder", ["A"])])
    a = _run(make(), 30.0, "compiled")
    b = _run(make(), 30.0, "python")
    assert a[0].events.thread0_pools()[0][0].shape[0] > 2 * a[0].R_ev  # the pool grew (chunks)
    assert a[0].n_events >= 14400
    _assert_same(a, b)


def test_population_nodes_with_multiplicity():
    """gif_pop_psc_exp nodes (records with a multiplicity) with a current step and samples."""
    from distsim.networks.gif_populations import gif_populations

    def make():
        net = gif_populations("meso", size=50, n_voltmeter=2)
        net.devices.append(Device("step_current_generator", ["E"], {"amplitude_times_ms": [50.0],
                                                                    "amplitude_values_pA": [20.0]}))
        return net
    a = _run(make(), 150.0, "compiled")
    b = _run(make(), 150.0, "python")
    assert a[0].has_multiplicity and a[1][0].size > 100 and a[2]
    _assert_same(a, b)


def test_requested_stop_ends_after_the_same_slice():
    """A stop requested before a run (as a signal between two compiled calls does) ends it
    after the first slice, as in the Python path."""
    out = []
    for loop in ("compiled", "python"):
        sim = Simulation(brunel(order=10, delay=0.5), seed=2, comm=SerialComm(), loop=loop)
        sim.run(3.0)
        sim.request_stop()
        sim.run(10.0)
        out.append((sim.step, sim.stopped))
    assert out[0] == out[1] == (30 + 5, True)


def test_checkpoint_boundaries_and_restore_match_python_path():
    """on_checkpoint sees the same steps; a restore into a compiled run continues bit-identically."""
    steps = {}
    states = {}
    for loop in ("compiled", "python"):
        seen = []
        sim = Simulation(brunel(order=20, delay=0.3), seed=7, comm=SerialComm(), loop=loop, chunk_ms=5.0)
        sim.run(20.0, checkpoint_every_ms=2.5, on_checkpoint=lambda s: seen.append(s.step))
        steps[loop] = seen
        states[loop] = sim.state_dict()
    assert steps["compiled"] == steps["python"] and len(steps["python"]) == 8
    a = Simulation(brunel(order=20, delay=0.3), seed=7, comm=SerialComm(), loop="compiled")
    a.load_state(states["python"])
    a.run(15.0)
    b = Simulation(brunel(order=20, delay=0.3), seed=7, comm=SerialComm(), loop="python")
    b.run(35.0)
    for g1, g2 in zip(a.groups, b.groups):
        for k in g1.state:
            assert np.array_equal(g1.state[k], g2.state[k]), k


def test_flushes_happen_at_the_same_steps(tmp_path):
    """An HDF5 recorder's flushes are boundaries of the compiled loop: the file is the same."""
    import h5py

    from distsim.recording.hdf5 import HDF5Recorder
    files = {}
    for loop in ("compiled", "python"):
        path = tmp_path / f"{loop}.h5"
        flushed = []
        rec = HDF5Recorder(path, flush_interval_ms=3.0, on_flush=flushed.append)
        sim = Simulation(brunel(order=20, delay=0.2, voltmeter=2), seed=1, comm=SerialComm(), recorder=rec,
                         loop=loop, chunk_ms=10.0)
        sim.run(20.0)
        rec.close(sim)
        with h5py.File(path, "r") as f:
            files[loop] = (flushed, {k: f["spikes"][k]["timestamps"][()] for k in f["spikes"]},
                           f["report"]["E"]["data"][()])
    assert files["compiled"][0] == files["python"][0]
    assert len(files["python"][0]) >= 6
    for k in files["python"][1]:
        assert np.array_equal(files["compiled"][1][k], files["python"][1][k])
    assert np.array_equal(files["compiled"][2], files["python"][2])


def _plastic_state(sim):
    """Every plastic quantity of a simulation by gid (weights, per-source state, traces,
    histories with their read counts), as a checkpoint stores it."""
    st = sim.state_dict()
    out = {k: v for k, v in st["pending"].items() if k.startswith(("plastic", "hist"))}
    for pop, d in st["state"].items():
        for k, v in d.items():
            if k.startswith(("post:", "syn")):
                out[f"{pop}/{k}"] = v
    return out


def _assert_plastic_same(sa, sb):
    a, b = _plastic_state(sa), _plastic_state(sb)
    assert a.keys() == b.keys() and len(a) >= 9
    for k in a:
        for x, y in zip(*(v if isinstance(v, tuple) else (v,) for v in (a[k], b[k]))):
            assert np.array_equal(x, y), k


@pytest.mark.parametrize("chunk_ms", [10.0, 0.7])
def test_plastic_network_bit_identical_to_python_path(chunk_ms):
    """Every synapse model (stdp_synapse, stdp_pl_synapse_hom, tsodyks2_synapse; constant and
    per-synapse delays, multapses) inside the compiled loop: spikes, states, pending events
    and every weight, trace and history entry as on the Python path; the histories and the
    float64 event pool grow inside the call (delays up to 12 ms keep long histories)."""
    from plastic_nets import plastic_net

    def net():
        return plastic_net(delay={"dist": "uniform", "low": 0.5, "high": 12.0})
    a = _run(net(), 120.0, "compiled", chunk_ms=chunk_ms)
    b = _run(net(), 120.0, "python")
    assert a[1][0].size > 300 and a[0].plastic.H[0].shape[1] > 4  # active; histories grew
    w0 = Simulation(net(), seed=5, comm=SerialComm(), loop="python").plastic.tables[0].w
    assert not np.array_equal(a[0].plastic.tables[0].w, w0)  # the weights did change
    _assert_same(a, b)
    _assert_plastic_same(a[0], b[0])


def test_plastic_checkpoint_into_compiled_loop_continues_bit_identically():
    """A Python-path state (weights, histories, traces, pending events) loaded into a fresh
    compiled-loop simulation continues as the uninterrupted Python run, and the reverse."""
    from plastic_nets import plastic_net
    runs = {}
    for first, second in (("python", "compiled"), ("compiled", "python")):
        s1 = Simulation(plastic_net(), seed=3, comm=SerialComm(), loop=first)
        s1.run(70.0)
        s2 = Simulation(plastic_net(), seed=3, comm=SerialComm(), loop=second, chunk_ms=3.0)
        s2.load_state(s1.state_dict())
        s2.run(60.0)
        runs[first] = s2
    ref = Simulation(plastic_net(), seed=3, comm=SerialComm(), loop="python")
    ref.run(130.0)
    for sim in runs.values():
        assert sim.uses_compiled_loop() == (sim.loop == "compiled")
        _assert_plastic_same(sim, ref)
        for g1, g2 in zip(sim.groups, ref.groups):
            for k in g1.state:
                assert np.array_equal(g1.state[k], g2.state[k]), k


def test_hpc_benchmark_takes_the_compiled_loop():
    """NEST's hpc_benchmark (plastic E->E) runs compiled, with the Python path's spikes and
    weights."""
    from distsim.networks.hpc_benchmark import hpc_benchmark
    a = _run(hpc_benchmark(scale=0.02, indegree_scale=0.02), 40.0, "compiled")
    b = _run(hpc_benchmark(scale=0.02, indegree_scale=0.02), 40.0, "python")
    assert a[1][0].size > 50
    _assert_same(a, b)
    _assert_plastic_same(a[0], b[0])


def _currents_net():
    """ac and noise generators (both kinds twice, overlapping targets: the order of the sums
    matters) on a current-based and a conductance-based population, with windows, a
    modulated noise, an origin and delays."""
    v0 = {"dist": "uniform", "low": -70.0, "high": -56.0}
    pops = [Population("E", "iaf_psc_exp", 25, {"V_m": v0}),
            Population("C", "iaf_cond_exp", 8, {"V_m": v0})]
    projs = [Projection("E", "E", "fixed_indegree", weight=30.0, delay_ms=0.8, indegree=4),
             Projection("E", "C", "fixed_indegree", weight=1.0, delay_ms=0.6, indegree=3)]
    devs = [Device("noise_generator", ["E", "C"], {"mean_pA": 300.0, "std_pA": 250.0, "dt_ms": 0.3,
                                                  "std_mod_pA": 100.0, "frequency_Hz": 20.0,
                                                  "start_ms": 3.0, "stop_ms": 70.0, "delay_ms": 0.2}),
            Device("ac_generator", ["E", "C"], {"amplitude_pA": 150.0, "offset_pA": 50.0, "frequency_Hz": 25.0,
                                                "phase_deg": 60.0, "origin_ms": 10.0, "start_ms": 5.0}),
            Device("noise_generator", ["E"], {"mean_pA": 10.0, "std_pA": 100.0}, neuron_ids=[0, 3, 4, 20]),
            Device("ac_generator", ["E"], {"amplitude_pA": 70.0, "frequency_Hz": 7.0, "delay_ms": 0.7},
                   neuron_ids=[3, 5, 7]),
            Device("spike_recorder", ["E", "C"]),
            Device("voltmeter", ["E", "C"], {"interval_ms": 0.3}, n_per_population=5)]
    return Network(pops, projs, devs)


@pytest.mark.parametrize("chunk_ms", [10.0, 0.7])
def test_ac_and_noise_generators_bit_identical_to_python_path(chunk_ms):
    """The ac/noise current kernels inside the compiled loop, in device order: spikes,
    traces, current rows and the ac oscillators as on the Python path."""
    a = _run(_currents_net(), 90.0, "compiled", chunk_ms=chunk_ms)
    b = _run(_currents_net(), 90.0, "python")
    assert a[1][0].size > 40 and len(a[0].current_kernels) == 4
    _assert_same(a, b)
    for (_, x), (_, y) in zip(a[0].current_kernels, b[0].current_kernels):
        for f in ("osc", "pos"):
            if hasattr(x, f):
                assert np.array_equal(getattr(x, f), getattr(y, f))


def test_ac_generator_resumed_in_the_compiled_loop():
    """A checkpoint of an ac/noise-driven network loaded into a compiled run continues as
    the uninterrupted run (the oscillator restarts from step 0, the noise is keyed by draw)."""
    s1 = Simulation(_currents_net(), seed=2, comm=SerialComm(), loop="python")
    s1.run(35.0)
    s2 = Simulation(_currents_net(), seed=2, comm=SerialComm(), loop="compiled", chunk_ms=2.0)
    s2.load_state(s1.state_dict())
    s2.run(40.0)
    ref = Simulation(_currents_net(), seed=2, comm=SerialComm(), loop="compiled")
    ref.run(75.0)
    assert s2.uses_compiled_loop()
    for g1, g2 in zip(s2.groups, ref.groups):
        for k in g1.state:
            assert np.array_equal(g1.state[k], g2.state[k]), k


def test_aeif_cond_exp_bit_identical_to_python_path():
    """adex_brunel (aeif_cond_exp, whose instability check is declared) runs compiled."""
    from distsim.networks.adex_brunel import adex_brunel
    a = _run(adex_brunel(order=20), 60.0, "compiled", chunk_ms=3.3)
    b = _run(adex_brunel(order=20), 60.0, "python")
    assert a[1][0].size > 50
    _assert_same(a, b)


def test_aeif_instability_raises_in_the_compiled_loop_as_in_the_python_path():
    """A neuron driven unstable in the compiled loop stops the run with the Python path's
    error, at the same slice, before its spikes are sent; the recorder has the slices
    before it."""
    def make():
        return Network([Population("S", "aeif_cond_exp", 3, {"I_e": 3000.0}),
                        Population("E", "aeif_cond_exp", 4, {"I_e": 0.0})],
                       [Projection("S", "E", "all_to_all", weight=1.0, delay_ms=0.5)],
                       [Device("step_current_generator", ["E"], {"amplitude_times_ms": [12.0],
                                                                 "amplitude_values_pA": [-1e7]},
                               neuron_ids=[2]),
                        Device("spike_recorder", ["S", "E"])])
    errors, spikes = {}, {}
    for loop in ("compiled", "python"):
        rec = MemoryRecorder()
        sim = Simulation(make(), seed=1, comm=SerialComm(), recorder=rec, loop=loop)
        assert sim.uses_compiled_loop() == (loop == "compiled")
        with pytest.raises(RuntimeError, match="numerical instability") as e:
            sim.run(30.0)
        errors[loop] = (str(e.value), sim.step)
        spikes[loop] = rec.local_spikes()
    assert errors["compiled"] == errors["python"]
    assert "gid 5 (population E)" in errors["python"][0] and errors["python"][1] > 100
    assert spikes["python"][0].size > 0
    for x, y in zip(spikes["compiled"], spikes["python"]):
        assert np.array_equal(x, y)
