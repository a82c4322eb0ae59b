"""Plastic synapses side by side with NEST 3.10: the weight after every presynaptic spike
(NEST's weight_recorder) equal to 1e-9 relative, for stdp_synapse, stdp_pl_synapse_hom and
tsodyks2_synapse; and NEST's evaluate_tsodyks2_synapse example, its membrane trace to 1e-9.

Protocol: each presynaptic neuron (its own population, one projection each, a different
delay each) and the postsynaptic neuron are driven by spike generators so strongly that they
fire where told (iaf_psc_delta, t_ref = 0: in the step the input arrives); the plastic input
is too weak to make the postsynaptic neuron fire by itself. Postsynaptic spike times include
spikes at exactly t_pre - d (the end of the facilitation window and the K_minus boundary),
one step either side of it, and within one delay after a presynaptic spike.
"""
import numpy as np
import pytest

from distsim.spec import Device, Network, Population, Projection

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

H = 0.1
T_MS = 400.0
DELAYS = (0.1, 1.0, 2.5, 5.0)
DRIVE_MV = 100.0  # a spike_generator input this large makes an iaf_psc_delta fire at once
NEURON = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "t_ref": 0.0, "V_m": -70.0}


def spike_trains(seed=7):
    """Presynaptic trains (one per delay) and the postsynaptic train (ms, on the grid)."""
    rng = np.random.default_rng(seed)
    pre = []
    for _ in DELAYS:
        steps = np.unique(rng.integers(20, int((T_MS - 20) / H), 35))
        steps = steps[np.concatenate(([True], np.diff(steps) > 20))]  # >= 2 ms apart
        pre.append(steps)
    post = set(rng.integers(20, int((T_MS - 20) / H), 45).tolist())
    for d, steps in zip(DELAYS, pre):
        ds = int(round(d / H))
        for k, s in enumerate(steps[::3]):  # around t_pre - d, and within one delay after t_pre
            post.update({s - ds + (k % 3) - 1, s + max(ds // 2, 1)})
    post = np.array(sorted(x for x in post if x > 5), dtype=np.int64)
    return [s * H for s in pre], post * H


def _round(times):
    return [float(round(t, 10)) for t in times]


def run_nest(syn, w0, post_model, post_params, pre_times, post_times, drive_post):
    """(per presynaptic neuron: (times, weights) from the weight_recorder), final weights,
    postsynaptic spike times."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = H
    params = {k: v for k, v in syn.items() if k != "model"}
    wr = nest.Create("weight_recorder")
    nest.CopyModel(syn["model"], "plastic_rec", dict(params, weight_recorder=wr, weight=w0))
    post = nest.Create(post_model, params=post_params)
    sg = nest.Create("spike_generator", params={"spike_times": _round(post_times)})
    nest.Connect(sg, post, syn_spec={"weight": drive_post, "delay": H})
    pres = []
    for d, times in zip(DELAYS, pre_times):
        pre = nest.Create("iaf_psc_delta", params=NEURON)
        g = nest.Create("spike_generator", params={"spike_times": _round(times)})
        nest.Connect(g, pre, syn_spec={"weight": DRIVE_MV, "delay": H})
        nest.Connect(pre, post, syn_spec={"synapse_model": "plastic_rec", "weight": w0, "delay": d})
        pres.append(pre)
    sr = nest.Create("spike_recorder")
    nest.Connect(post, sr)
    nest.Simulate(T_MS)
    ev = wr.events
    out = []
    for pre in pres:
        m = np.asarray(ev["senders"]) == pre.global_id
        out.append((np.asarray(ev["times"])[m], np.asarray(ev["weights"])[m]))
    final = [nest.GetConnections(pre, post).get("weight") for pre in pres]
    return out, np.array(final, dtype=float), np.asarray(sr.events["times"])


def run_ours(syn, w0, post_model, post_params, pre_times, post_times, drive_post):
    """The same as run_nest with distsim, stepping one dt at a time and reading each
    projection's weight after every presynaptic spike."""
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.recording import MemoryRecorder

    pops = [Population("post", post_model, 1, dict(post_params))]
    projs, devs = [], [Device("spike_generator", ["post"], {"spike_times_ms": _round(post_times),
                                                             "weight": drive_post, "delay_ms": H}),
                       Device("spike_recorder", ["post"])]
    for i, (d, times) in enumerate(zip(DELAYS, pre_times)):
        pops.append(Population(f"pre{i}", "iaf_psc_delta", 1, dict(NEURON)))
        devs.append(Device("spike_generator", [f"pre{i}"], {"spike_times_ms": _round(times),
                                                            "weight": DRIVE_MV, "delay_ms": H}))
        projs.append(Projection(f"pre{i}", "post", "all_to_all", weight=w0, delay_ms=d, synapse=dict(syn)))
    net = Network(pops, projs, devs, dt_ms=H)
    rec = MemoryRecorder()
    sim = Simulation(net, seed=1, comm=SerialComm(), recorder=rec)
    tabs = sim.plastic.tables
    tso = syn["model"] == "tsodyks2_synapse"  # NEST records the delivered x u w
    out = [([], []) for _ in tabs]
    last = [int(t.src_state["t_last"][0]) for t in tabs]
    for _ in range(int(round(T_MS / H))):
        sim.run(H)
        for i, t in enumerate(tabs):
            tl = int(t.src_state["t_last"][0])
            if tl != last[i]:
                out[i][0].append(tl * H)
                st = t.src_state
                out[i][1].append(float(st["x"][0] * st["u"][0] * t.w[0]) if tso else float(t.w[0]))
                last[i] = tl
    g, s = rec.gather_spikes(SerialComm())
    return ([(np.array(a), np.array(b)) for a, b in out], np.array([t.w[0] for t in tabs]),
            s[g == 0] * H)


def compare(syn, w0, post_model="iaf_psc_delta", post_params=None, drive_post=DRIVE_MV, seed=7,
            min_changes=5):
    post_params = dict(NEURON if post_params is None else post_params)
    pre_times, post_times = spike_trains(seed)
    nw, nfinal, nspk = run_nest(syn, w0, post_model, post_params, pre_times, post_times, drive_post)
    ow, ofinal, ospk = run_ours(syn, w0, post_model, post_params, pre_times, post_times, drive_post)
    assert nspk.size > 20 and np.array_equal(np.round(ospk / H), np.round(nspk / H))
    for (nt, nv), (ot, ov), pre in zip(nw, ow, pre_times):
        assert nv.size == len(pre) == ov.size
        assert np.allclose(ot, nt, rtol=0, atol=1e-9), (ot, nt)
        assert np.all(np.abs(ov - nv) <= 1e-9 * np.maximum(np.abs(nv), 1e-300)), np.max(np.abs(ov - nv))
        assert np.unique(nv).size >= min_changes, "the protocol must change the weight"
    assert np.all(np.abs(ofinal - nfinal) <= 1e-9 * np.abs(nfinal))
    return nw


STDP = {"model": "stdp_synapse", "tau_plus": 16.8, "lambda": 0.05, "alpha": 1.1, "mu_plus": 1.0,
        "mu_minus": 1.0, "Wmax": 2.0}


def test_stdp_synapse_equals_nest():
    compare(STDP, 1.0, post_params=dict(NEURON, tau_minus=33.7))


def test_stdp_synapse_at_wmax_equals_nest():
    nw = compare(dict(STDP, **{"lambda": 0.3, "alpha": 0.0, "mu_plus": 0.5}), 1.9, min_changes=2)  # no depression: the clip shows
    assert any(np.any(v == 2.0) for _, v in nw), "the weight must reach Wmax"


def test_stdp_synapse_at_zero_equals_nest():
    nw = compare(dict(STDP, **{"lambda": 0.1, "alpha": 1.5, "mu_minus": 0.4}), 0.1, min_changes=2)
    assert any(np.any(v == 0.0) for _, v in nw), "the weight must reach 0"


def test_stdp_synapse_inhibitory_equals_nest():
    compare(dict(STDP, Wmax=-2.0), -1.0)


def test_stdp_synapse_alpha_post_equals_nest():
    """An iaf_psc_alpha target (weights in pA), driven by strong spike_generator input."""
    p = {"t_ref": 2.0, "tau_minus": 15.0}
    compare(dict(STDP, Wmax=60.0), 30.0, post_model="iaf_psc_alpha", post_params=p, drive_post=3000.0)


PL = {"model": "stdp_pl_synapse_hom", "tau_plus": 15.0, "lambda": 0.1, "alpha": 0.9, "mu": 0.4}


def test_stdp_pl_synapse_hom_equals_nest():
    compare(PL, 1.0, post_params=dict(NEURON, tau_minus=25.0))


def test_stdp_pl_synapse_hom_to_zero_equals_nest():
    nw = compare(dict(PL, alpha=1.0, **{"lambda": 0.15}), 0.3, min_changes=2)
    assert any(np.any(v == 0.0) for _, v in nw), "the weight must reach 0"


def test_tsodyks2_synapse_equals_nest():
    compare({"model": "tsodyks2_synapse", "U": 0.3, "u": 0.4, "x": 0.9, "tau_rec": 120.0,
             "tau_fac": 35.0}, 1.5)


def test_tsodyks2_synapse_no_facilitation_equals_nest():
    compare({"model": "tsodyks2_synapse", "U": 0.67, "u": 0.67, "x": 1.0, "tau_rec": 450.0,
             "tau_fac": 0.0}, 1.5)


# ------------------------------------------------------------------ evaluate_tsodyks2_synapse
DEP = {"U": 0.67, "u": 0.67, "x": 1.0, "tau_rec": 450.0, "tau_fac": 0.0, "weight": 250.0}
FAC = {"U": 0.1, "u": 0.1, "x": 1.0, "tau_fac": 1000.0, "tau_rec": 100.0, "weight": 250.0}


def example_nest(syn):
    """NEST's pynest/examples/evaluate_tsodyks2_synapse.py (the tsodyks2_synapse half): V_m of
    neuron 3 (times, values), voltmeter at its default interval."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    neuron = nest.Create("iaf_psc_exp", 3, params={"tau_syn_ex": 3.0})
    nest.Connect(neuron[0], neuron[2], syn_spec=dict(syn, synapse_model="tsodyks2_synapse"))
    vm = nest.Create("voltmeter")
    nest.Connect(vm, neuron[2])
    neuron[0].I_e = 376.0
    nest.Simulate(500.0)
    neuron[0].I_e = 0.0
    nest.Simulate(500.0)
    neuron[0].I_e = 376.0
    nest.Simulate(500.0)
    return np.asarray(vm.events["times"]), np.asarray(vm.events["V_m"])


def example_ours(syn):
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.recording import MemoryRecorder

    p = {k: v for k, v in syn.items() if k != "weight"}
    net = Network([Population("n0", "iaf_psc_exp", 1, {"tau_syn_ex": 3.0, "I_e": 376.0}),
                   Population("n2", "iaf_psc_exp", 1, {"tau_syn_ex": 3.0})],
                  [Projection("n0", "n2", "all_to_all", weight=syn["weight"], delay_ms=1.0,
                              synapse=dict(p, model="tsodyks2_synapse"))],
                  [Device("voltmeter", ["n2"], {"interval_ms": 1.0})], dt_ms=0.1)
    rec = MemoryRecorder()
    sim = Simulation(net, seed=1, comm=SerialComm(), recorder=rec)
    g0 = next(g for g in sim.groups if g.pops[0].name == "n0")
    sim.run(500.0)
    g0.p["I_e"][...] = 0.0  # NEST's SetStatus between Simulate calls: the kernel's own array
    sim.run(500.0)
    g0.p["I_e"][...] = 376.0
    sim.run(500.0)
    _, st, v = rec.gather_samples(SerialComm(), "n2")
    return st * 0.1, v[:, 0]


@pytest.mark.parametrize("syn", [DEP, FAC], ids=["depression", "facilitation"])
def test_evaluate_tsodyks2_synapse_example(syn):
    nt, nv = example_nest(syn)
    ot, ov = example_ours(syn)
    assert nv.max() - nv.min() > 0.3, "the example must show PSPs"
    n = nt.size
    assert n >= 1490 and np.allclose(ot[:n], nt, rtol=0, atol=1e-9)
    assert np.max(np.abs(ov[:n] - nv)) / np.max(np.abs(nv)) < 1e-9, np.max(np.abs(ov[:n] - nv))
