"""GIF models: random count samplers, history length, specification errors, deterministic
limits of gif_psc_exp and gif_pop_psc_exp (serial communicator)."""
import math

import numpy as np
import pytest

from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.kernels.gif import adaptation_kernel, binomial, history_length, poisson_count
from distsim.kernels.rng import stream_key
from distsim.recording import MemoryRecorder
from distsim.spec import Device, Network, Population, Projection, SpecError, validate


@pytest.mark.parametrize("n,p", [(800, 0.004), (800, 0.3), (5, 0.9), (100000, 0.02)])
def test_binomial_matches_mean_and_variance(n, p):
    key = np.uint64(stream_key(1, 9, n, int(p * 1e6)))  # uint64 as in the kernels
    x = np.array([binomial(n, p, key, c) for c in range(40000)], dtype=np.float64)
    mean, var = n * p, n * p * (1 - p)
    assert x.min() >= 0 and x.max() <= n
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / x.size)
    assert abs(x.var() / var - 1) < 5 * math.sqrt(2.0 / x.size) + 0.01


def test_binomial_edges():
    key = np.uint64(stream_key(1, 2, 3, 4))
    assert binomial(10, 0.0, key, 0) == 0 and binomial(10, 1.0, key, 0) == 10
    assert binomial(0, 0.5, key, 0) == 0


@pytest.mark.parametrize("mean", [0.01, 3.0, 250.0])
def test_poisson_count_matches_mean_and_variance(mean):
    key = np.uint64(stream_key(2, 9, 1, int(mean * 100)))
    x = np.array([poisson_count(mean, key, c) for c in range(40000)], dtype=np.float64)
    assert abs(x.mean() - mean) < 5 * math.sqrt(mean / x.size)
    assert abs(x.var() / mean - 1) < 5 * math.sqrt(2.0 / x.size) + 0.01


def test_history_length_is_where_the_kernel_falls_below_a_tenth_of_delta_v():
    q, tau, dV, h = [10.0, 1.0], [100.0, 1000.0], 2.5, 0.5
    L = history_length(h, 20.0, 4.0, dV, q, tau)
    assert adaptation_kernel(L, h, q, tau) >= 0.1 * dV > adaptation_kernel(L + 1, h, q, tau)
    # no adaptation: the shortest history allowed, 5 tau_m
    assert history_length(h, 20.0, 4.0, dV, [0.0], [10.0]) == int(5 * 20.0 / h)


def _run(net, t_ms, seed=1):
    rec = MemoryRecorder()
    sim = Simulation(net, seed=seed, comm=SerialComm(), recorder=rec)
    sim.run(t_ms)
    return sim, rec


def test_gif_without_escape_relaxes_exactly_to_the_steady_state():
    """lambda_0 = 0: no spikes, V(t) = E_L + I_e/g_L (1 - exp(-t/tau_m)) at every sample."""
    prm = {"lambda_0": 0.0, "I_e": 60.0, "E_L": -70.0, "g_L": 4.0, "C_m": 80.0, "V_m": -70.0}
    net = Network([Population("A", "gif_psc_exp", 3, prm)],
                  devices=[Device("voltmeter", ["A"], params={"interval_ms": 0.1}),
                           Device("spike_recorder", ["A"])], dt_ms=0.1)
    sim, rec = _run(net, 100.0)
    gids, stamps, v = rec.gather_samples(SerialComm(), "A")
    t = stamps * 0.1
    expect = -70.0 + 60.0 / 4.0 * (1 - np.exp(-t / 20.0))
    assert rec.local_spikes()[0].size == 0
    np.testing.assert_allclose(v, np.repeat(expect[:, None], 3, axis=1), rtol=0, atol=1e-10)


def test_gif_threshold_adaptation_and_refractoriness_when_firing_is_certain():
    """Tiny Delta_V and huge lambda_0 make firing deterministic: fire whenever V > E_sfa.
    With q_sfa the threshold steps up by q after each spike, so inter-spike intervals grow."""
    prm = {"lambda_0": 1e9, "Delta_V": 1e-3, "V_T_star": -60.0, "E_L": -70.0, "V_reset": -70.0,
           "I_e": 100.0, "q_sfa": [2.0], "tau_sfa": [200.0], "t_ref": 2.0, "V_m": -70.0}
    net = Network([Population("A", "gif_psc_exp", 1, prm)], devices=[Device("spike_recorder", ["A"])],
                  dt_ms=0.1)
    _, rec = _run(net, 300.0)
    t = rec.local_spikes()[1] * 0.1
    isi = np.diff(t)
    assert t.size > 5
    assert np.all(isi >= 2.0)  # refractory
    assert np.all(np.diff(isi[:5]) > 0)  # adaptation lengthens the intervals


def test_meso_node_without_escape_is_silent_and_expects_nothing():
    prm = {"N": 500, "lambda_0": 0.0}
    net = Network([Population("P", "gif_pop_psc_exp", 1, prm)],
                  devices=[Device("spike_recorder", ["P"]),
                           Device("multimeter", ["P"], params={"interval_ms": 1.0, "record_from": ["mean", "n_events"]})],
                  dt_ms=0.5)
    sim, rec = _run(net, 50.0)
    assert rec.local_spikes()[0].size == 0
    _, _, mean = rec.gather_samples(SerialComm(), "P:mean")
    assert mean.shape == (50, 1) and np.all(mean == 0.0)


def test_meso_spike_records_carry_the_drawn_number():
    """n_events sampled every step equals the number of spikes recorded in that step."""
    net = Network([Population("P", "gif_pop_psc_exp", 2, {"N": 300, "I_e": 300.0})],
                  devices=[Device("spike_recorder", ["P"]),
                           Device("multimeter", ["P"], params={"interval_ms": 0.5, "record_from": ["n_events"]})],
                  dt_ms=0.5)
    sim, rec = _run(net, 200.0)
    gids, stamps = rec.local_spikes()
    _, st, n_ev = rec.gather_samples(SerialComm(), "P:n_events")
    assert gids.size > 100
    for j in range(2):
        counts = np.bincount(stamps[gids == j], minlength=st.max() + 1)[st]
        np.testing.assert_array_equal(counts, n_ev[:, j])


@pytest.mark.parametrize("prm,field,msg", [
    ({"q_sfa": [1.0, 2.0], "tau_sfa": [10.0]}, "q_sfa", "as many elements"),
    ({"tau_sfa": [10.0, -1.0], "q_sfa": [1.0, 1.0]}, "tau_sfa[1]", "> 0"),
    ({"q_stc": "x"}, "q_stc", "list of numbers"),
    ({"Delta_V": 0.0}, "Delta_V", "> 0"),
])
def test_gif_parameter_errors_name_the_field(prm, field, msg):
    net = Network([Population("A", "gif_psc_exp", 2, prm)])
    with pytest.raises(SpecError) as e:
        validate(net)
    assert field in str(e.value) and msg in str(e.value)


@pytest.mark.parametrize("prm,field,msg", [
    ({"N": 10.5}, "N", "integer >= 1"),
    ({"N": 0}, "N", "integer >= 1"),
    ({"len_kernel": 3, "t_ref": 4.0}, "len_kernel", "> t_ref"),
    ({"BinoRand": 1}, "BinoRand", "true or false"),
])
def test_gif_pop_parameter_errors_name_the_field(prm, field, msg):
    net = Network([Population("P", "gif_pop_psc_exp", 1, prm)], dt_ms=0.5)
    with pytest.raises(SpecError) as e:
        validate(net)
    assert field in str(e.value) and msg in str(e.value)


def test_multimeter_variable_must_be_recordable_in_the_target():
    net = Network([Population("A", "gif_psc_exp", 2)],
                  devices=[Device("multimeter", ["A"], params={"record_from": ["mean"]})])
    with pytest.raises(SpecError) as e:
        validate(net)
    assert "record_from" in str(e.value) and "allowed: V_m" in str(e.value)


def test_meso_checkpoint_resumes_exactly(tmp_path):
    """History arrays are state: a run restored from a checkpoint continues bit for bit."""
    from distsim.engine import checkpoint
    from distsim.networks.gif_populations import gif_populations

    net = gif_populations("meso", size=50)
    _, ref = _run(net, 200.0, seed=5)
    sim = Simulation(gif_populations("meso", size=50), seed=5, comm=SerialComm(), recorder=MemoryRecorder())
    sim.run(100.0)
    path = str(tmp_path / "ck.h5")
    checkpoint.save(sim, path)
    rec = MemoryRecorder()
    sim2 = Simulation(gif_populations("meso", size=50), seed=5, comm=SerialComm(), recorder=rec)
    checkpoint.restore(sim2, path)
    sim2.run(100.0)
    g_ref, s_ref = ref.local_spikes()
    late = s_ref > 200
    g, s = rec.local_spikes()
    assert late.sum() > 100
    np.testing.assert_array_equal(g, g_ref[late])
    np.testing.assert_array_equal(s, s_ref[late])
