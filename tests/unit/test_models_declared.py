"""The model seam (issue 15): a neuron model is one declaration, run by the generic driver."""
import numpy as np
import pytest
from numba import njit

from distsim.models.base import NeuronModel, Param, Var
from distsim.spec import Device, Network, Population, SpecError


@njit(inline="always")
def _toy_neuron(j, S, p, x):
    """A perfect integrator in mV: input and I_e h / C_m add up; reset to 0 at V_th."""
    v = S.V[j] + x.rex[j] + x.rin[j] + x.pex[j] + x.pin[j] + (p.I_e + S.i0[j]) * p.h_over_C
    spike = v >= p.V_th
    S.V[j] = 0.0 if spike else v
    return spike


class ToyIntegrator(NeuronModel):
    """Declared here, outside distsim: nothing else is written for it."""

    name = "toy_integrator"
    weight_unit = "mV"
    params = {"V_th": Param(1.0, "mV"), "I_e": Param(0.0, "pA"), "C_m": Param(1.0, "pF", "positive")}
    state = {"V": Var("mV", init="V_m"), "i0": Var("pA")}
    derived = ("h_over_C",)
    neuron = _toy_neuron
    relations = ()

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """None."""

    @staticmethod
    def calibrate(p, dt):
        """h / C_m (ms/pF)."""
        return {"h_over_C": dt / p["C_m"]}


@pytest.fixture
def toy_registered(monkeypatch):
    from distsim import models
    monkeypatch.setitem(models.MODELS, ToyIntegrator.name, ToyIntegrator)
    return ToyIntegrator


def test_a_model_declared_in_one_class_runs_with_devices(toy_registered, run):
    """Spike times of the integrator follow from arithmetic alone: I_e = 0.25 pA, C_m = 1 pF,
    h = 0.1 ms: 0.025 mV a step, threshold 1 mV after 40 steps; a dc_generator of 0.25 pA
    from 20 ms on doubles the rate; a spike_generator input of 0.5 mV (at 2 ms, delay 0.1 ms)
    advances the first spikes."""
    net = Network([Population("T", "toy_integrator", 2, {"I_e": 0.25, "C_m": 1.0, "V_th": 1.0, "V_m": 0.0})], [],
                  [Device("dc_generator", ["T"], {"amplitude_pA": 0.25, "start_ms": 20.0}),
                   Device("spike_generator", ["T"], {"spike_times_ms": [2.0], "weight": 0.5}, neuron_ids=[1]),
                   Device("spike_recorder", ["T"]), Device("voltmeter", ["T"], {"interval_ms": 0.1})], dt_ms=0.1)
    sim, (g, s), samples = run(net, 40.0)
    s0 = s[g == 0]
    s1 = s[g == 1]
    # neuron 0: 0.025 mV a step -> a spike every 40 steps until the dc current adds 0.025 mV
    # from step 201 on (sent at step 200, read at its end, acting from 201)
    assert s0[:5].tolist() == [40, 80, 120, 160, 200]
    assert np.all(np.diff(s0[5:]) == 20)
    assert s1[0] < 40  # the spike_generator's 0.5 mV sped it up
    _, st, v = samples["T"]
    assert np.allclose(v[:5, 0], 0.025 * np.arange(1, 6), atol=1e-12)


def test_declared_parameters_are_checked_with_named_errors(toy_registered):
    from distsim.spec import validate
    net = Network([Population("T", "toy_integrator", 2, {"C_m": -1.0})], [], [])
    with pytest.raises(SpecError) as e:
        validate(net)
    assert "C_m" in str(e.value) and "> 0" in str(e.value)


def test_recordables_must_name_state_variables():
    with pytest.raises(TypeError, match="recordable w"):
        class Bad(ToyIntegrator):  # noqa: F841
            name = "bad"
            recordables = {"V_m": "mV", "w": "pA"}
            neuron = _toy_neuron


def test_driver_cache_key_covers_the_model_sources():
    """run_group's compiled code contains every model's function: its numba cache is keyed
    by the hash of distsim/models and distsim/kernels, not of driver.py alone."""
    from distsim.kernels.driver import _DriverSources, run_group
    loc = run_group._cache._impl.locator
    assert isinstance(loc, _DriverSources)
    assert loc.get_source_stamp() == _DriverSources.sources_digest()
    assert _DriverSources.sources_digest()[:16] in loc.get_disambiguator()


def test_iaf_psc_alpha_refuses_reset_above_threshold():
    from distsim.spec import validate
    net = Network([Population("A", "iaf_psc_alpha", 2, {"V_reset": -50.0})], [], [])
    with pytest.raises(SpecError) as e:
        validate(net)
    assert "V_reset" in str(e.value) and "V_th" in str(e.value)


def test_run_group_is_callable_from_numba_over_groups_of_different_models():
    """What the compiled multi-slice loop of issue 14 needs: one numba function iterating
    (literal_unroll) over the heterogeneous tuple of the groups' GroupArgs and calling
    run_group gives the same states as the engine's own slices."""
    from numba import literal_unroll

    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.kernels.driver import Rec, run_group

    @njit(cache=True)  # about 2 minutes to compile
    def loop(groups, t_end, M, R, rings, out, rec):
        n_out = 0
        for t0 in range(0, t_end, M):
            for g in literal_unroll(groups):
                n_out, _ = run_group(g, t0, M, R, rings, out, n_out, rec)
            n_out = 0
        return n_out

    def make():
        pops = [Population(m, m, 7, {"I_e": 380.0}) for m in ("iaf_psc_delta", "iaf_psc_exp", "iaf_psc_alpha")]
        return Network(pops, [], [Device("poisson_generator", [p.name for p in pops], {"rate_Hz": 8000.0, "weight": 0.3})])

    a = Simulation(make(), seed=4, comm=SerialComm())
    a.run(30.0)
    b = Simulation(make(), seed=4, comm=SerialComm())
    assert len(b.groups) == 3 and b.min_delay == 10
    rec = Rec(np.empty(0, np.int64), np.zeros(1, np.int64), np.empty((0, 0)), 1, 0)
    loop(tuple(g.args for g in b.groups), 300, b.min_delay, b.R, (b.ring_ex, b.ring_in, b.ring_cur),
         (b.out_idx, b.out_stamp, b.out_mult), rec)
    for ga, gb in zip(a.groups, b.groups):
        assert np.ptp(ga.state["V"]) > 0
        for k in ga.state:
            assert np.array_equal(ga.state[k], gb.state[k]), (ga.model.name, k)
