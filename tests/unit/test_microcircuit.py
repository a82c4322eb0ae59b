"""The microcircuit builder, the Network -> mean-field conversion and ``distsim meanfield``.

Serial and fast: the only engine build is the microcircuit at N_scaling = 0.02 (~6e6 synapses).
"""
import json

import numpy as np
import pytest
from scipy.stats import norm

from conftest import run_network, synapse_list
from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.meanfield import firing_rates
from distsim.meanfield.cli import main as mf_main
from distsim.meanfield.network import params_from_network
from distsim.networks import brunel_params, microcircuit_params
from distsim.networks.brunel import brunel
from distsim.networks.microcircuit import THALAMUS, microcircuit
from distsim.spec import Device, Network, Population, Projection, SpecError, validate

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
# mean-field rates quoted in /work/shared/MODELS.md section 3 (spikes/s)
MODELS_MD_MEANFIELD = [0.75, 2.79, 4.44, 5.82, 7.15, 8.47, 1.16, 7.76]


# ------------------------------------------------------------------ specification (no build)
def test_full_scale_sizes_and_synapse_total():
    P = microcircuit_params.derive(N_scaling=1.0)
    assert P["num_neurons"].sum() == 77169
    assert abs(int(P["num_synapses"].sum()) - 298_880_970) <= 10
    net = validate(microcircuit(N_scaling=1.0))
    assert [p.name for p in net.populations] == POPS
    assert net.n_neurons == 77169
    assert sum(pr.n_total for pr in net.projections) == P["num_synapses"].sum()


def test_network_follows_nest_example():
    dt = 0.1
    net = validate(microcircuit(N_scaling=0.1))
    P = microcircuit_params.derive(N_scaling=0.1)
    assert net.name == "microcircuit" and net.dt_ms == dt
    assert net.reference_rates == dict(zip(POPS, P["full_mean_rates"]))
    for i, p in enumerate(net.populations):
        assert p.model == "iaf_psc_exp"
        v = {k: x.a for k, x in p.params.items() if x.is_constant}
        assert v == {"E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0,
                     "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0, "I_e": 0.0}
        vm = p.params["V_m"]
        assert (vm.a, vm.b) == (P["V0_mean"][i], P["V0_std"][i])
    # 64 pairs minus the 9 with connection probability 0
    assert len(net.projections) == 55
    for pr in net.projections:
        i, j = POPS.index(pr.target), POPS.index(pr.source)
        assert pr.rule == "fixed_total_number" and pr.allow_autapses and pr.allow_multapses
        assert pr.n_total == P["num_synapses"][i, j] > 0
        m = P["weight_matrix_mean"][i, j]
        assert pr.weight.a == m and pr.weight.b == pytest.approx(0.1 * abs(m))
        assert (pr.weight.lo, pr.weight.hi) == ((0.0, np.inf) if j % 2 == 0 else (-np.inf, 0.0))
        assert pr.delay_ms.a == (1.5 if j % 2 == 0 else 0.75)
        assert pr.delay_ms.b == 0.5 * pr.delay_ms.a and pr.delay_ms.lo == dt - 0.5 * dt
    gens = [d for d in net.devices if d.type == "poisson_generator"]
    assert [g.targets for g in gens] == [[p] for p in POPS]
    for g, k in zip(gens, P["K_ext"]):
        assert g.params["rate_Hz"] == 8.0 * k
        assert g.params["weight"] == pytest.approx(87.81, abs=0.01)
        assert g.params["delay_ms"] == 1.5
    rec = [d for d in net.devices if d.type == "spike_recorder"]
    assert len(rec) == 1 and rec[0].targets == POPS and rec[0].n_per_population is None


def test_dc_input_and_k_scaling():
    net = validate(microcircuit(N_scaling=0.1, poisson_input=False))
    P = microcircuit_params.derive(N_scaling=0.1, poisson_input=False)
    assert not any(d.type == "poisson_generator" for d in net.devices)
    assert [p.params["I_e"].a for p in net.populations] == pytest.approx(P["DC_amp"])
    assert min(P["DC_amp"]) > 0
    net = validate(microcircuit(N_scaling=0.1, K_scaling=0.5, n_record=10, voltmeter=3))
    P = microcircuit_params.derive(N_scaling=0.1, K_scaling=0.5)
    assert [p.params["I_e"].a for p in net.populations] == pytest.approx(P["DC_amp"])
    assert min(P["DC_amp"]) > 0  # compensating DC for the missing half of the synapses
    g = next(d for d in net.devices if d.type == "poisson_generator")
    assert g.params["weight"] == pytest.approx(87.81 / np.sqrt(0.5), abs=0.02)
    assert next(d for d in net.devices if d.type == "spike_recorder").n_per_population == 10
    assert next(d for d in net.devices if d.type == "voltmeter").n_per_population == 3


@pytest.mark.parametrize("kw", [{"N_scaling": 0.0}, {"V0_type": "random"}, {"K_scaling": -1.0},
                                {"poisson_input": 1}, {"N_scaling": 1e-5}])
def test_bad_arguments_raise_spec_error(kw):
    with pytest.raises(SpecError):
        microcircuit(**kw)


# ------------------------------------------------------------------ engine build (small)
def test_built_synapses_match_derive():
    """N_scaling = 0.02: counts per projection, weight mean/std/sign, delays >= 1 step."""
    net = microcircuit(N_scaling=0.02)
    P = microcircuit_params.derive(N_scaling=0.02)
    sim = Simulation(net, seed=1, comm=SerialComm())
    src, tgt, w, d = synapse_list(sim.syn)
    bounds = np.array([r[0] for r in net.gid_ranges().values()])
    ps, pt = np.searchsorted(bounds, src, "right") - 1, np.searchsorted(bounds, tgt, "right") - 1
    pair = pt * 8 + ps
    counts = np.bincount(pair, minlength=64).reshape(8, 8)
    assert np.array_equal(counts, P["num_synapses"])
    assert sim.n_synapses == P["num_synapses"].sum()
    order = np.argsort(pair, kind="stable")
    starts = np.r_[0, np.cumsum(counts.ravel())]
    w64 = w[order].astype(np.float64)
    for k in np.flatnonzero(counts.ravel()):
        i, j = divmod(k, 8)
        ww = w64[starts[k]:starts[k + 1]]
        m, n = P["weight_matrix_mean"][i, j], ww.size
        assert (ww >= 0).all() if j % 2 == 0 else (ww <= 0).all()
        assert ww.mean() / m - 1 == pytest.approx(0, abs=5 * 0.1 / np.sqrt(n) + 1e-6)
        assert ww.std() / (0.1 * abs(m)) - 1 == pytest.approx(0, abs=5 / np.sqrt(2 * n) + 1e-6)
    assert d.min() == 1  # min delay rounds to exactly one step (dt - dt/2 redraw bound)
    exc = ps % 2 == 0
    for sel, mu in ((exc, 1.5), (~exc, 0.75)):  # mean of normal(mu, mu/2) redrawn below 0.05 ms
        a = (0.05 - mu) / (0.5 * mu)
        tmean = mu + 0.5 * mu * norm.pdf(a) / norm.sf(a)
        assert d[sel].mean() * 0.1 == pytest.approx(tmean, rel=0.01)


# ------------------------------------------------------------------ thalamic input
def test_thalamic_projections():
    net = validate(microcircuit(N_scaling=0.1, thalamic=True))
    th = microcircuit_params.derive(N_scaling=0.1)["thalamus"]
    tc = net.population(THALAMUS)
    assert tc.n == 902 and tc.model == "iaf_psc_delta"
    prs = {pr.target: pr for pr in net.projections if pr.source == THALAMUS}
    assert sorted(prs) == ["L4E", "L4I", "L6E", "L6I"]
    for i, name in enumerate(POPS):
        if name in prs:
            assert prs[name].n_total == th["num_th_synapses"][i] > 0
            assert prs[name].weight.a == pytest.approx(th["weight_th"]) and prs[name].weight.lo == 0.0
    drive = next(d for d in net.devices if d.targets == [THALAMUS])
    assert drive.params["rate_Hz"] == 120.0
    assert (drive.params["start_ms"], drive.params["stop_ms"]) == (700.0, 710.0)
    assert THALAMUS not in next(d for d in net.devices if d.type == "spike_recorder").targets


def test_thalamic_relays_fire_like_parrots():
    """The TC population and its drive alone: one relay spike per step with Poisson input."""
    full = microcircuit(N_scaling=0.02, thalamic=True, th_start=5.0, th_duration=10.0,
                        th_rate=120.0)
    tc = full.population(THALAMUS)
    drive = next(d for d in full.devices if d.targets == [THALAMUS])
    net = Network([tc], [], [drive, Device("spike_recorder", [THALAMUS])], dt_ms=0.1)
    _, (gids, stamps), _ = run_network(net, 20.0, seed=3)
    # poisson_generator active in (5, 15] ms, 1 ms delay, relay spike one step after arrival
    assert stamps.min() >= 61 and stamps.max() <= 161
    expected = 902 * 120.0 * 0.010
    assert abs(gids.size - expected) < 5 * np.sqrt(expected)
    assert np.unique(gids * 1000 + stamps).size == gids.size


# ------------------------------------------------------------------ mean-field from the Network
@pytest.mark.parametrize("kw", [{"N_scaling": 1.0}, {"N_scaling": 0.1},
                                {"N_scaling": 0.1, "K_scaling": 0.5},
                                {"N_scaling": 0.1, "poisson_input": False}])
def test_meanfield_from_network_equals_derive(kw):
    """Same rates as derive(); the network's in-degrees are the rounded n_total / N."""
    a = firing_rates(params_from_network(microcircuit(**kw)))
    d = microcircuit_params.derive(**kw)
    d["indegrees"] = d["num_synapses"] / d["num_neurons"][:, None]
    np.testing.assert_allclose(a, firing_rates(d), rtol=1e-9)
    if kw == {"N_scaling": 1.0}:
        # plain derive() uses unrounded synapse totals: 7e-6 relative at full scale
        np.testing.assert_allclose(a, firing_rates(microcircuit_params.derive(**kw)), rtol=2e-5)


def test_meanfield_from_network_brunel():
    for kw in ({}, {"g": 4.5, "eta": 0.9, "order": 500}):
        a = firing_rates(params_from_network(brunel(**kw)))
        np.testing.assert_allclose(a, firing_rates(brunel_params.derive(**kw)), rtol=1e-6)


def test_meanfield_rules_merging_and_silent_populations():
    """K per rule, two projections of one pair merged, a population without input is silent."""
    params = {"E_L": 0.0, "V_th": 20.0, "V_reset": 10.0, "C_m": 1.0, "tau_m": 20.0}
    pops = [Population("A", "iaf_psc_delta", 100, dict(params)),
            Population("B", "iaf_psc_delta", 50, dict(params)),
            Population("S", "iaf_psc_delta", 10, dict(params))]
    projs = [Projection("A", "A", "pairwise_bernoulli", weight=0.1, p=0.2, allow_autapses=False),
             Projection("B", "A", "all_to_all", weight={"dist": "normal", "mean": -0.3, "std": 0.03}),
             Projection("A", "B", "fixed_total_number", weight=0.2, n_total=500),
             Projection("B", "B", "one_to_one", weight=0.4, delay_ms=2.0),
             Projection("S", "A", "fixed_indegree", weight=0.5, indegree=3)]
    devs = [Device("poisson_generator", ["A", "B"], {"rate_Hz": 20000.0, "weight": 0.1}),
            Device("poisson_generator", ["S"], {"rate_Hz": 500.0, "weight": 30.0, "stop_ms": 10.0}),
            Device("spike_recorder", ["A", "B"], n_per_population=5)]
    p = params_from_network(Network(pops, projs, devs))
    assert p["populations"] == ["A", "B"] and p["silent_populations"] == ["S"]
    np.testing.assert_allclose(p["K"], [[0.2 * 99, 50.0], [10.0, 1.0]])
    np.testing.assert_allclose(p["J"], [[0.1, -0.3], [0.2, 0.4]])
    np.testing.assert_allclose(p["K_ext"] * p["J_ext"] * p["nu_ext"], [2000.0, 2000.0])
    # two projections A -> A merged into one input with the same mean and variance
    projs.append(Projection("A", "A", "fixed_indegree", weight=0.3, indegree=10))
    p = params_from_network(Network(pops, projs, devs))
    K, J = p["K"][0, 0], p["J"][0, 0]
    assert K * J == pytest.approx(0.2 * 99 * 0.1 + 10 * 0.3)
    assert K * J ** 2 == pytest.approx(0.2 * 99 * 0.01 + 10 * 0.09)


def test_meanfield_rejects_heterogeneous_neurons():
    net = microcircuit(N_scaling=0.1)
    net.populations[3].params["tau_m"] = 12.0
    with pytest.raises(SpecError, match="tau_m"):
        params_from_network(net)


# ------------------------------------------------------------------ distsim meanfield
def _run_cli(argv, capsys):
    rc = mf_main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_brunel_json(capsys):
    rc, out, _ = _run_cli(["brunel", "--json"], capsys)
    assert rc == 0
    rates = json.loads(out)["rates"]
    assert rates["E"] == pytest.approx(32.0, rel=0.005)
    assert rates["I"] == pytest.approx(32.0, rel=0.005)


def test_cli_microcircuit_json(capsys):
    # the unrounded full-scale in-degrees of MODELS.md need N_scaling = 1 (only the spec is built);
    # at the default N_scaling = 0.1 rounded population sizes move L5E to 7.42 spikes/s
    rc, out, _ = _run_cli(["microcircuit", "--set", "N_scaling=1", "--json"], capsys)
    assert rc == 0
    res = json.loads(out)
    assert list(res["rates"]) == POPS
    np.testing.assert_allclose([res["rates"][p] for p in POPS], MODELS_MD_MEANFIELD, rtol=0.01)
    assert res["reference_rates"]["L5E"] == 7.569


def test_cli_table_and_errors(capsys):
    rc, out, _ = _run_cli(["microcircuit", "--set", "thalamic=true"], capsys)
    assert rc == 0 and "L23E" in out and "silent (no stationary input): TC" in out
    rc, _, err = _run_cli(["microcircuit", "--set", "N_scaling=abc"], capsys)
    assert rc == 2 and "N_scaling" in err
    rc, _, err = _run_cli(["microcircuit", "--set", "nonsense=1"], capsys)
    assert rc == 2 and "unknown parameter" in err
    rc, _, err = _run_cli(["no_such_model"], capsys)
    assert rc == 2 and "model" in err
    assert _run_cli([], capsys)[0] == 2
