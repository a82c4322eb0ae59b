"""iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp as declared models: NEST's defaults and
names, named errors for bad values before any work, numerical instability as an error."""
import math

import numpy as np
import pytest

from distsim.models import MODELS
from distsim.spec import Device, Network, Population, SpecError, validate

COND = ("iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp")


def one(model, **params):
    return Network([Population("E", model, 3, params)], [], [Device("spike_recorder", ["E"])], dt_ms=0.1)


CASES = [
    (one("iaf_cond_exp", V_reset=-50.0), "populations[E].params.V_reset", "< V_th"),
    (one("iaf_cond_alpha", V_reset=-55.0), "populations[E].params.V_reset", "< V_th"),
    (one("iaf_cond_exp", C_m=0.0), "populations[E].params.C_m", "> 0"),
    (one("iaf_cond_exp", g_L=-1.0), "populations[E].params.g_L", "> 0"),
    (one("iaf_cond_alpha", tau_syn_ex=0.0), "populations[E].params.tau_syn_ex", "> 0"),
    (one("iaf_cond_exp", t_ref=-0.1), "populations[E].params.t_ref", ">= 0"),
    (one("iaf_cond_exp", E_in=math.nan), "populations[E].params.E_in", "finite"),
    (one("aeif_cond_exp", V_peak=-55.0), "populations[E].params.V_peak", ">= V_th"),
    (one("aeif_cond_exp", V_reset=0.0), "populations[E].params.V_reset", "< V_peak"),
    (one("aeif_cond_exp", Delta_T=-1.0), "populations[E].params.Delta_T", ">= 0"),
    (one("aeif_cond_exp", Delta_T=0.01, V_peak=20.0), "populations[E].params.Delta_T", "overflow"),
    (one("aeif_cond_exp", Delta_T={"dist": "uniform", "low": 0.0, "high": 2.0}),
     "populations[E].params.Delta_T", "overflow"),
    (one("aeif_cond_exp", tau_w=0.0), "populations[E].params.tau_w", "> 0"),
    (one("aeif_cond_exp", gsl_error_tol=0.0), "populations[E].params.gsl_error_tol", "> 0"),
    (one("aeif_cond_exp", V_th={"dist": "uniform", "low": -55.0, "high": 1.0}), "populations[E].params.V_peak",
     ">= V_th"),
]


@pytest.mark.parametrize("net,field,allowed", CASES)
def test_bad_values_are_named_errors(net, field, allowed):
    with pytest.raises(SpecError) as e:
        validate(net)
    assert e.value.field == field, str(e.value)
    assert allowed in e.value.allowed, str(e.value)


def test_nest_allows_what_we_allow():
    """Delta_T = 0 (an adaptive IAF) and V_reset above V_th in aeif_cond_exp are valid in
    NEST, and here."""
    validate(one("aeif_cond_exp", Delta_T=0.0, V_peak=-50.4))
    validate(one("aeif_cond_exp", V_reset=-45.0))


@pytest.mark.parametrize("model", COND)
def test_defaults_names_and_recordables_are_nest_s(model):
    nest = pytest.importorskip("nest")
    nest.ResetKernel()
    d = nest.GetDefaults(model)
    m = MODELS[model]
    for k, p in m.params.items():
        assert d[k] == p.default, (k, d[k], p.default)
    assert set(m.recordables) <= set(d["recordables"])
    assert m.weight_unit == "nS"


def test_numerical_instability_is_an_error_like_nest():
    """A huge hyperpolarising current drives V_m below -1000 mV within a step: NEST raises
    NumericalInstability, and so do we (not a silent trace)."""
    from conftest import run_network
    net = one("aeif_cond_exp", I_e=-1e7)
    with pytest.raises(RuntimeError, match=r"numerical instability .* of gid 0 \(population E\)"):
        run_network(net, 5.0)
    nest = pytest.importorskip("nest")
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.Create("aeif_cond_exp", params={"I_e": -1e7})
    with pytest.raises(Exception, match="numerical instability"):
        nest.Simulate(5.0)


@pytest.mark.parametrize("model", COND)
def test_state_starts_like_nest(model):
    """V_m = E_L (or the given V_m), conductances and w zero, the integrator's step size dt."""
    from conftest import run_network
    sim, _, _ = run_network(one(model, V_m=-65.0), 0.0)
    g = sim.groups[0]
    assert np.all(g.state["V"] == -65.0)
    assert np.all(g.state["h"] == 0.1)
    for k in ("g_ex", "g_in", "w", "dg_ex", "dg_in"):
        if k in g.state:
            assert np.all(g.state[k] == 0.0)


@pytest.mark.parametrize("model", COND)
def test_per_neuron_parameters_match_separate_runs(model):
    """Two populations with different parameters share one group (parameters per neuron,
    not hoisted): each traces exactly what it traces alone."""
    from conftest import run_network

    def net(pops):
        devs = [Device("spike_generator", [p.name], {"spike_times_ms": [2.0, 4.0, 9.5], "weight": 20.0})
                for p in pops]
        devs += [Device("spike_recorder", [p.name for p in pops]),
                 Device("multimeter", [p.name for p in pops], {"interval_ms": 0.1,
                                                               "record_from": list(MODELS[model].recordables)})]
        return Network(pops, [], devs, dt_ms=0.1)

    I = 800.0 if model == "aeif_cond_exp" else 400.0
    a = Population("A", model, 2, {"I_e": I, "tau_syn_in": 3.0})
    b = Population("B", model, 1, {"I_e": 1.5 * I, "t_ref": 4.0, "E_L": -65.0})
    sim, _, both = run_network(net([a, b]), 40.0)
    assert len(sim.groups) == 1 and sim.groups[0].args.shared is False
    for pop in (a, b):
        _, _, alone = run_network(net([pop]), 40.0)
        for var in MODELS[model].recordables:
            key = pop.name if var == "V_m" else f"{pop.name}:{var}"
            np.testing.assert_array_equal(both[key][2], alone[key][2])


def test_model_code_is_cached_only_inside_run_group():
    """numba links a cached callee from its own cache, keyed by its own file: a cached block
    function stayed stale after an edit to kernels/cond.py (seen: the old spike times, exit
    0). Only run_group, keyed by every kernel and model source, may cache this code."""
    from numba.core.caching import NullCache

    from distsim.kernels import cond, rkf45
    from distsim.models import aeif_cond_exp, iaf_cond_alpha, iaf_cond_exp
    fns = [iaf_cond_exp.iaf_cond_exp_block, iaf_cond_alpha.iaf_cond_alpha_block,
           aeif_cond_exp.aeif_cond_exp_block, cond.iaf_cond_exp_rhs, cond.iaf_cond_alpha_rhs,
           cond.aeif_cond_exp_rhs, rkf45.evolve_apply, rkf45.advance]
    for fn in fns:
        assert isinstance(fn._cache, NullCache), fn.__name__
