"""The built-in networks coba and adex_brunel: what they build, their --set parameters and
checks; the Brian2 benchmark script's copy of coba's defaults; the seed-spread comparison of
the NEST validation (tests/nest_builders.py)."""
import os
import sys

import numpy as np
import pytest

from distsim.networks import build_builtin
from distsim.networks.adex_brunel import adex_brunel
from distsim.networks.coba import PARAMS, coba
from distsim.spec import SpecError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))


def _raw(v):
    return v.to_raw() if hasattr(v, "to_raw") else v


def test_coba_is_the_published_benchmark():
    net = coba()
    E, I = net.populations
    assert (E.name, E.n, I.name, I.n) == ("E", 3200, "I", 800)
    assert E.model == I.model == "iaf_cond_exp"
    p = {k: _raw(v) for k, v in E.params.items()}
    assert p["C_m"] / p["g_L"] == 20.0  # tau_m of Brette et al. 2007
    for k, v in {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
                 "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0}.items():
        assert p[k] == v, k
    assert p["V_m"] == {"dist": "uniform", "low": -60.0, "high": -50.0}
    w = {(pr.source, pr.target): (_raw(pr.weight), pr.rule, pr.p, pr.allow_autapses) for pr in net.projections}
    assert w == {(s, t): (6.0 if s == "E" else -67.0, "pairwise_bernoulli", 0.02, True)
                 for s in "EI" for t in "EI"}
    stim = [d for d in net.devices if d.type == "poisson_generator"]
    assert len(stim) == 1 and stim[0].targets == ["E", "I"]
    assert {k: _raw(v) for k, v in stim[0].params.items()} == {"rate_Hz": 20.0, "weight": 100.0, "stop_ms": 50.0}


def test_coba_set_and_checks():
    net = build_builtin("coba", {"w_ex_nS": "4", "w_in_nS": "51", "stim_rate_Hz": "0", "N_E": "40"})
    assert net.populations[0].n == 40
    assert sorted(_raw(pr.weight) for pr in net.projections) == [-51.0, -51.0, 4.0, 4.0]
    assert not [d for d in net.devices if d.type == "poisson_generator"]
    with pytest.raises(SpecError, match="V_reset_mV"):
        coba(V_reset_mV=-50.0)
    with pytest.raises(SpecError, match="p_conn"):
        build_builtin("coba", {"p_conn": "1.5"})
    with pytest.raises(SpecError, match="w_ex"):
        build_builtin("coba", {"w_ex": "4"})  # units are part of the names


def test_adex_brunel_topology():
    net = adex_brunel(order=50, g=4.0, J_ex_nS=2.0)
    assert [(p.name, p.n, p.model) for p in net.populations] == [("E", 200, "aeif_cond_exp"),
                                                                  ("I", 50, "aeif_cond_exp")]
    w = {(pr.source, pr.target): (_raw(pr.weight), pr.indegree) for pr in net.projections}
    assert w == {("E", "E"): (2.0, 20), ("E", "I"): (2.0, 20), ("I", "E"): (-8.0, 5), ("I", "I"): (-8.0, 5)}
    with pytest.raises(SpecError, match="epsilon"):
        adex_brunel(order=1, epsilon=0.1)


def test_brian2_script_has_cobas_defaults():
    """The Brian2 benchmark script's COBA dict (read from its source, not imported: tests do
    not import scripts) equals the built-in's defaults."""
    import ast
    with open(os.path.join(ROOT, "scripts", "brian2_coba.py")) as f:
        tree = ast.parse(f.read())
    found = [ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "COBA" for t in n.targets)]
    ours = {k: p.default for k, p in PARAMS.items() if k not in ("record_spikes", "n_record")}
    assert found == [ours]


def test_within_spread_is_a_two_sample_t_test():
    from nest_builders import within_spread

    ref = [18.2, 18.8, 19.4, 19.0, 18.7]
    assert within_spread([18.9, 18.3, 19.5, 18.6, 19.2], ref)["ok"]
    far = within_spread(list(np.array(ref) + 1.5), ref)  # a shift of 3 seed-to-seed sd
    assert not far["ok"] and far["t"] > far["t_max"] > 3.3
