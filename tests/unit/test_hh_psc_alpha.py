"""hh_psc_alpha as a declared model: NEST's checks as named errors before any work, its
initial state, TOML and --set, a multimeter on every state variable, per-neuron
parameters, and the code compiled only into the driver (see test_cond_models.py)."""
import math

import numpy as np
import pytest

from distsim.models import MODELS
from distsim.models.hh_psc_alpha import HhPscAlpha, equilibrium_gating
from distsim.spec import Device, Network, Population, SpecError, validate

M = "hh_psc_alpha"


def one(**params):
    return Network([Population("E", M, 3, params)], [], [Device("spike_recorder", ["E"])], dt_ms=0.1)


# NEST's hh_psc_alpha::Parameters_::set and State_::set refuse exactly these
CASES = [
    (one(C_m=0.0), "C_m", "> 0"),
    (one(C_m=-1.0), "C_m", "> 0"),
    (one(t_ref=-0.1), "t_ref", ">= 0"),
    (one(tau_syn_ex=0.0), "tau_syn_ex", "> 0"),
    (one(tau_syn_in=-2.0), "tau_syn_in", "> 0"),
    (one(g_Na=-1.0), "g_Na", ">= 0"),
    (one(g_K=-1.0), "g_K", ">= 0"),
    (one(g_L=-1.0), "g_L", ">= 0"),
    (one(g_L={"dist": "normal", "mean": 30.0, "std": 1.0}), "g_L", ">= 0"),
    (one(Act_m=-0.1), "Act_m", ">= 0"),
    (one(Inact_h=-0.1), "Inact_h", ">= 0"),
    (one(Act_n=-0.1), "Act_n", ">= 0"),
    (one(E_Na=math.inf), "E_Na", "finite"),
    (one(V_m=math.nan), "V_m", "finite"),
    (one(V_th=-50.0), "V_th", "parameter of hh_psc_alpha"),
]


@pytest.mark.parametrize("net,key,allowed", CASES)
def test_bad_values_are_named_errors(net, key, allowed):
    with pytest.raises(SpecError) as e:
        validate(net)
    assert e.value.field == f"populations[E].params.{key}", str(e.value)
    assert allowed in e.value.allowed, str(e.value)


def test_nest_accepts_what_we_accept():
    """Zero conductances, zero refractoriness, any reversal potentials and a V_m above E_Na
    are valid in NEST, and here."""
    validate(one(g_Na=0.0, g_K=0.0, g_L=0.0, t_ref=0.0, E_K=10.0, V_m=60.0))
    nest = pytest.importorskip("nest")
    nest.ResetKernel()
    nest.Create(M, params={"g_Na": 0.0, "g_K": 0.0, "g_L": 0.0, "t_ref": 0.0, "E_K": 10.0, "V_m": 60.0})
    for key, bad in (("C_m", 0.0), ("t_ref", -0.1), ("tau_syn_ex", 0.0), ("g_K", -1.0), ("Act_n", -0.1)):
        with pytest.raises(Exception):
            nest.Create(M, params={key: bad})


def test_state_starts_like_nest():
    """V_m = -65 mV unless given (not E_L), the gating variables at their equilibrium at
    -65 mV even when V_m is given, currents zero, the integrator's step size dt."""
    from conftest import run_network
    net = Network([Population("A", M, 2, {}), Population("B", M, 2, {"V_m": -70.0, "Act_n": 0.5})], [],
                  [Device("spike_recorder", ["A"])], dt_ms=0.1)
    sim, _, _ = run_network(net, 0.0)
    s = sim.groups[0].state
    assert list(s["V"]) == [-65.0, -65.0, -70.0, -70.0]
    m, h, n = equilibrium_gating(-65.0)
    assert list(s["Act_m"]) == [m] * 4 and list(s["Inact_h"]) == [h] * 4
    assert list(s["Act_n"]) == [n, n, 0.5, 0.5]
    assert 0.05 < m < 0.06 and 0.59 < h < 0.6 and 0.31 < n < 0.32  # the textbook resting values
    for k in ("dI_ex", "I_syn_ex", "dI_in", "I_syn_in", "i0"):
        assert np.all(s[k] == 0.0)
    assert np.all(s["h"] == 0.1)


def spec_text():
    """A TOML spec: two hh_psc_alpha neurons, inhibitory spikes, a multimeter on everything."""
    rec = ", ".join(f'"{v}"' for v in HhPscAlpha.recordables)
    return f"""
name = "hh"
[simulation]
dt_ms = 0.1
[[populations]]
name = "H"
model = "hh_psc_alpha"
n = 2
params = {{ I_e = 0.0, t_ref = 3.0 }}
[[devices]]
type = "spike_generator"
targets = ["H"]
spike_times_ms = [5.0, 10.0]
weight = -100.0
[[devices]]
type = "spike_recorder"
targets = ["H"]
[[devices]]
type = "multimeter"
targets = ["H"]
interval_ms = 0.5
record_from = [{rec}]
"""


@pytest.mark.parametrize("item,text", [("populations.H.params.C_m=0", "populations[H].params.C_m = 0"),
                                       ("populations.H.params.g_K=-1", "populations[H].params.g_K = -1"),
                                       ("populations.H.params.V_th=-50", "unknown parameter of hh_psc_alpha")])
def test_bad_set_values_are_refused_before_the_build(tmp_path, capsys, monkeypatch, item, text):
    import distsim.engine.simulation as S
    from distsim.cli import main

    def refuse(self):
        raise AssertionError("network was built although the input is invalid")
    monkeypatch.setattr(S.Simulation, "_build", refuse)
    spec = tmp_path / "hh.toml"
    spec.write_text(spec_text())
    assert main(["run", str(spec), "--set", item, "--t-sim", "10", "-q"]) == 2
    assert text in capsys.readouterr().err


def test_toml_set_and_multimeter_on_every_state_variable(tmp_path):
    """A TOML file with an hh_psc_alpha population, a parameter changed by --set, and a
    multimeter on every recordable: the HDF5 output has each variable, and the changed
    I_e makes the neuron fire (it does not at the file's value)."""
    import h5py

    from distsim.cli import main
    spec = tmp_path / "hh.toml"
    spec.write_text(spec_text())
    counts = {}
    for I_e in ("0", "1000"):
        out = tmp_path / f"out{I_e}.h5"
        assert main(["run", str(spec), "--set", f"populations.H.params.I_e={I_e}", "--t-sim", "50", "-q",
                     "-o", str(out)]) == 0
        with h5py.File(out, "r") as f:
            names = set(f["report"])
            assert names == {"H"} | {f"H:{v}" for v in HhPscAlpha.recordables if v != "V_m"}
            for v in HhPscAlpha.recordables:
                d = f["report"]["H" if v == "V_m" else f"H:{v}"]
                assert d["data"].shape == (100, 2) and np.all(np.isfinite(d["data"][...]))
            I_in = f["report"]["H:I_syn_in"]["data"][...]
            assert I_in.min() < -50.0  # the inhibitory spikes arrived as negative currents
            counts[I_e] = f["spikes"]["H"]["timestamps"].shape[0]
    assert counts["0"] == 0 and counts["1000"] >= 4


@pytest.mark.parametrize("shared", [True, False])
def test_per_neuron_parameters_match_separate_runs(shared):
    """Two populations with different parameters share one group (parameters per neuron,
    not hoisted): each traces exactly what it traces alone; with equal parameters the group
    is hoisted and still traces the same."""
    from conftest import run_network

    def net(pops):
        devs = [Device("spike_generator", [p.name], {"spike_times_ms": [2.0, 4.0, 9.5], "weight": 300.0})
                for p in pops]
        devs += [Device("spike_generator", [p.name], {"spike_times_ms": [3.0, 7.0], "weight": -200.0})
                 for p in pops]
        devs += [Device("spike_recorder", [p.name for p in pops]),
                 Device("multimeter", [p.name for p in pops], {"interval_ms": 0.1,
                                                               "record_from": list(HhPscAlpha.recordables)})]
        return Network(pops, [], devs, dt_ms=0.1)

    a = Population("A", M, 2, {"I_e": 800.0, "tau_syn_in": 3.0})
    b = Population("B", M, 1, {"I_e": 800.0, "tau_syn_in": 3.0} if shared else {"I_e": 1200.0, "t_ref": 4.0,
                                                                                 "E_L": -60.0})
    sim, spikes, both = run_network(net([a, b]), 40.0)
    assert len(sim.groups) == 1 and sim.groups[0].args.shared is shared
    assert spikes[0].size >= 3
    for pop in (a, b):
        _, _, alone = run_network(net([pop]), 40.0)
        for var in HhPscAlpha.recordables:
            key = pop.name if var == "V_m" else f"{pop.name}:{var}"
            np.testing.assert_array_equal(both[key][2], alone[key][2])


def test_listed_by_distsim_models(capsys):
    import json

    from distsim.cli import main
    assert M in MODELS
    assert main(["models", M, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["weight_unit"] == "pA" and d["parameters"]["V_m"]["default"] == -65.0
    assert list(d["recordables"]) == ["V_m", "I_syn_ex", "I_syn_in", "Act_m", "Inact_h", "Act_n"]


def test_model_code_is_cached_only_inside_run_group():
    """As for the cond models: only run_group, keyed by every kernel and model source, may
    cache this code (a callee's own cache is keyed by its file alone and goes stale)."""
    from numba.core.caching import NullCache

    from distsim.models import hh_psc_alpha
    for fn in (hh_psc_alpha.hh_psc_alpha_block, hh_psc_alpha.hh_psc_alpha_rhs):
        assert isinstance(fn._cache, NullCache), fn.__name__
