"""Plastic synapses (distsim.synapses, kernels.plastic, engine.plastic): parameter checks
with named errors before the build, the storage per synapse, the weights of a whole
network against a slow reference of NEST's rules replayed on the recorded spikes, and
checkpoint/resume."""

import numpy as np
import pytest

from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.recording import MemoryRecorder
from distsim.spec import Network, Population, Projection, SpecError, network_from_dict, validate
from plastic_nets import PL, STDP, TSO, plastic_net, reference_stdp, reference_tsodyks2


def test_kernel_codes_equal_the_declarations():
    from distsim.kernels import plastic
    from distsim.synapses import base

    assert (base.KIND_STDP, base.KIND_STDP_PL_HOM, base.KIND_TSODYKS2) == \
        (plastic.KIND_STDP, plastic.KIND_STDP_PL_HOM, plastic.KIND_TSODYKS2)


def _net(syn, weight=1.0, src_model="iaf_psc_alpha", tgt_params=None):
    return Network([Population("a", src_model, 3), Population("b", "iaf_psc_alpha", 2, tgt_params or {})],
                   [Projection("a", "b", "all_to_all", weight=weight, delay_ms=1.0, synapse=syn)])


@pytest.mark.parametrize("syn,weight,field,text", [
    (dict(STDP, Wmax=-5.0), 1.0, "weight", "same sign"),
    (dict(STDP, Wmax=5.0), -1.0, "weight", "same sign"),
    (dict(STDP, Wmax=0.0), 1.0, "synapse.Wmax", "nonzero"),
    (dict(STDP, tau_plus=0.0), 1.0, "synapse.tau_plus", "> 0"),
    (dict(STDP, tau_plus=-3.0), 1.0, "synapse.tau_plus", "> 0"),
    (dict(PL, tau_plus=0.0), 1.0, "synapse.tau_plus", "> 0"),
    (dict(PL), -1.0, "weight", ">= 0"),
    (dict(TSO, U=0.0), 1.0, "synapse.U", "(0, 1]"),
    (dict(TSO, U=1.5), 1.0, "synapse.U", "(0, 1]"),
    (dict(TSO, u=-0.1), 1.0, "synapse.u", "[0, 1]"),
    (dict(TSO, tau_rec=0.0), 1.0, "synapse.tau_rec", "> 0"),
    (dict(TSO, tau_fac=-1.0), 1.0, "synapse.tau_fac", ">= 0"),
    ({"model": "stdp_synapses"}, 1.0, "synapse.model", "did you mean 'stdp_synapse'"),
    (dict(STDP, tau_minus=20.0), 1.0, "synapse.tau_minus", "unknown parameter"),
    ({"model": "static_synapse", "Wmax": 1.0}, 1.0, "synapse.Wmax", "no parameters"),
])
def test_bad_parameters_named_before_the_build(syn, weight, field, text):
    with pytest.raises(SpecError) as e:
        validate(_net(syn, weight))
    assert e.value.field.endswith(field) and text in str(e.value), str(e.value)


def test_tau_minus_is_a_neuron_parameter():
    validate(_net(dict(STDP), tgt_params={"tau_minus": 30.0}))
    with pytest.raises(SpecError, match=r"params\.tau_minus.*> 0"):
        validate(_net(dict(STDP), tgt_params={"tau_minus": 0.0}))


def test_population_nodes_cannot_be_plastic():
    net = Network([Population("a", "gif_pop_psc_exp", 1), Population("b", "iaf_psc_exp", 2)],
                  [Projection("a", "b", "all_to_all", weight=1.0, delay_ms=1.0, synapse=dict(TSO))])
    with pytest.raises(SpecError, match="population node"):
        validate(net)


def test_toml_form():
    import tomllib

    d = tomllib.loads("""
[[populations]]
name = "a"
model = "iaf_psc_alpha"
n = 2
params = { tau_minus = 15.0 }
[[projections]]
source = "a"
target = "a"
rule = "all_to_all"
weight = 10.0
synapse = { model = "stdp_synapse", tau_plus = 12.0, lambda = 0.02, Wmax = 50.0 }
""")
    net = validate(network_from_dict(d))
    syn = net.projections[0].synapse
    assert syn == {"model": "stdp_synapse", "tau_plus": 12.0, "lambda": 0.02, "alpha": 1.0,
                   "mu_plus": 1.0, "mu_minus": 1.0, "Wmax": 50.0}
    assert network_from_dict(net.to_dict()).projections[0].synapse == syn


def test_same_synapses_as_static_and_12_bytes_per_pl_synapse():
    """A plastic projection draws the same sources, weights (float64, not rounded) and delays
    as the static one; stdp_pl_synapse_hom with a constant delay holds 12 bytes a synapse."""
    def make(syn):
        w = {"dist": "normal", "mean": 45.0, "std": 5.0, "min": 0.0}
        return Network([Population("E", "iaf_psc_alpha", 50)],
                       [Projection("E", "E", "fixed_indegree", weight=w, delay_ms=1.5, indegree=20, synapse=syn)])
    static = Simulation(make(None), seed=3, comm=SerialComm())
    plastic = Simulation(make(dict(PL)), seed=3, comm=SerialComm())
    t = plastic.plastic.tables[0]
    assert plastic.syn.n == 0 and t.n == static.syn.n == 1000
    assert np.array_equal(t.row_ptr, static.syn.row_ptr[:51])
    assert np.array_equal(t.tgt, static.syn.tgt)
    assert t.w.dtype == np.float64 and np.array_equal(t.w.astype(np.float32), static.syn.w)
    assert not np.array_equal(t.w, t.w.astype(np.float32))  # float64 draws kept
    assert t.synapse_nbytes / t.n == 12
    assert t.d_const == 15 and t.delays().tolist() == static.syn.d.astype(np.int64).tolist()


def _run(net, t_ms, seed=11):
    rec = MemoryRecorder()
    sim = Simulation(net, seed=seed, comm=SerialComm(), recorder=rec)
    w0 = [t.w.copy() for t in sim.plastic.tables]
    sim.run(t_ms)
    g, s = rec.gather_spikes(SerialComm())
    return sim, w0, g, s


def test_network_weights_equal_reference():
    """Every synapse's final weight (and tsodyks2's delivered factor) as NEST's rules give
    it, replayed on the recorded spike trains."""
    net = plastic_net()
    sim, w0, g, s = _run(net, 300.0)
    ranges = net.gid_ranges()
    dt = net.dt_ms
    spikes = {int(x): s[g == x] for x in np.unique(g)}
    assert sum(v.size for v in spikes.values()) > 500
    changed = 0
    for t, wi in zip(sim.plastic.tables, w0):
        src = t.src_lo + np.repeat(np.arange(t.n_src), np.diff(t.row_ptr))
        dl = t.delays()
        for k in range(t.n):
            pre = spikes.get(int(src[k]), np.zeros(0, np.int64)).tolist()
            post = spikes.get(int(t.tgt[k]), np.zeros(0, np.int64)).tolist()  # one rank: gid = index
            if t.model == "tsodyks2_synapse":
                if pre:
                    assert reference_tsodyks2(t.params, pre, dt)[-1] == pytest.approx(
                        t.src_state["x"][src[k] - t.src_lo] * t.src_state["u"][src[k] - t.src_lo], rel=1e-12)
                continue
            kind = "stdp" if t.model == "stdp_synapse" else "pl"
            ref = reference_stdp(kind, t.params, pre, post, int(dl[k]), float(wi[k]), dt, 25.0)
            want = ref[-1] if ref else wi[k]
            assert t.w[k] == pytest.approx(want, rel=1e-12, abs=0), (t.model, k)
            changed += t.w[k] != wi[k]
    assert changed > 500
    assert ranges["E"] == (0, 40)


def test_history_is_pruned():
    """Entries read by every incoming synapse go (NEST's rule): histories stay short."""
    sim, _, g, s = _run(plastic_net(), 300.0)
    hlen = sim.plastic.H[4]
    n_post = np.bincount(g, minlength=50)[:40]
    assert n_post.max() > 8 and hlen[:40].max() < n_post.max()


def test_checkpoint_resume_bit_identical(tmp_path):
    """state_dict -> load_state into a fresh simulation, then both go on: same spikes and
    weights bit for bit (the weights, traces and histories travel)."""
    net = plastic_net()
    a = Simulation(net, seed=5, comm=SerialComm(), recorder=MemoryRecorder())
    a.run(150.0)
    st = a.state_dict()
    st = {k: (v if k != "pending" else {kk: tuple(np.copy(x) for x in vv) for kk, vv in v.items()})
          for k, v in st.items()}
    st["state"] = {p: {k: np.copy(v) for k, v in d.items()} for p, d in st["state"].items()}
    b = Simulation(plastic_net(), seed=5, comm=SerialComm(), recorder=MemoryRecorder())
    b.load_state(st)
    ra, rb = MemoryRecorder(), MemoryRecorder()
    a.set_recorder(ra)
    b.set_recorder(rb)
    a.run(150.0)
    b.run(150.0)
    sa, sb = ra.gather_spikes(SerialComm()), rb.gather_spikes(SerialComm())
    assert sa[0].size > 100 and np.array_equal(sa[0], sb[0]) and np.array_equal(sa[1], sb[1])
    for ta, tb in zip(a.plastic.tables, b.plastic.tables):
        assert np.array_equal(ta.w, tb.w)


def _target_major(sim, pid):
    """(source gid, target gid, weight) of projection ``pid`` in the file's target-major order
    (target, then source, a pair's multapses in row order), from the tables (one rank)."""
    src, tgt, w = sim.plastic.weights(pid)
    o = np.lexsort((src, tgt))
    return src[o], tgt[o], np.array(w)[o]


def test_final_weights_written_as_edges_and_analyzed(tmp_path):
    """/edges/<projection>/{source_node_id, target_node_id, weight} hold every synapse's final
    weight in target-major order; ``distsim analyze --json`` reports their mean and sd and
    draws a histogram."""
    import json
    import subprocess
    import sys

    from distsim.recording.hdf5 import HDF5Recorder, read_edges

    path = str(tmp_path / "out.h5")
    net = plastic_net()
    rec = HDF5Recorder(path)
    sim = Simulation(net, seed=3, comm=SerialComm(), recorder=rec)
    sim.run(100.0)
    rec.close(sim)
    edges = read_edges(path)
    assert sorted(edges) == ["E->E#0", "E->E#1", "E->I"]
    for t in sim.plastic.tables:
        name = {0: "E->E#0", 1: "E->E#1", 2: "E->I"}[t.pid]
        e = edges[name]
        src, tgt, w = _target_major(sim, t.pid)
        lo = net.gid_ranges()[net.projections[t.pid].target][0]
        assert np.array_equal(e["source_node_id"], src) and np.array_equal(e["target_node_id"], tgt - lo)
        assert np.array_equal(e["weight"], w) and e["attrs"]["synapse_model"] == t.model
        assert e["attrs"]["order"] == "target-major" and e["snapshots"] == {}
    p = subprocess.run([sys.executable, "-m", "distsim", "analyze", path, "--json", "--fig-dir",
                        str(tmp_path / "fig")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    w = edges["E->E#1"]["weight"]
    assert s["weights"]["E->E#1"]["mean"] == pytest.approx(w.mean(), rel=1e-12)
    assert s["weights"]["E->E#1"]["sd"] == pytest.approx(w.std(), rel=1e-9)
    assert s["weights"]["E->E#1"]["n"] == w.size and w.std() > 0
    assert (tmp_path / "fig" / "weights.png").stat().st_size > 1000


def test_edges_written_again_hold_the_latest_weights(tmp_path):
    """A stopped run writes /edges at close and writes them again when resumed and closed:
    the second write replaces the first."""
    from distsim.recording.hdf5 import HDF5Recorder, read_edges

    path = str(tmp_path / "out.h5")
    rec = HDF5Recorder(path)
    sim = Simulation(plastic_net(), seed=3, comm=SerialComm(), recorder=rec)
    sim.run(50.0)
    rec.write_edges(sim)
    w50 = sim.plastic.tables[1].w.copy()
    sim.run(50.0)
    rec.close(sim)
    e = read_edges(path)
    for t in sim.plastic.tables:
        name = {0: "E->E#0", 1: "E->E#1", 2: "E->I"}[t.pid]
        assert np.array_equal(e[name]["weight"], _target_major(sim, t.pid)[2])
    assert not np.array_equal(w50, sim.plastic.tables[1].w)  # the weights moved in between


def test_weight_snapshots_equal_the_final_weights_of_runs_that_end_there(tmp_path, monkeypatch):
    """``weights_every_ms`` writes /edges/<projection>/weight_t<ms> at every multiple of it:
    each equals, bit for bit, the final weights of a run stopped at that time, also when the
    time is not a multiple of the minimum delay (12.3 ms = 123 steps, slices of 5: the slice
    ends there) and when the edges are written in small blocks."""
    from distsim.recording import hdf5
    from distsim.recording.hdf5 import HDF5Recorder, read_edges

    monkeypatch.setattr(hdf5, "_EDGE_BLOCK", 50)  # many blocks per projection
    path = str(tmp_path / "out.h5")
    rec = HDF5Recorder(path, weights_every_ms=12.3)
    sim = Simulation(plastic_net(), seed=3, comm=SerialComm(), recorder=rec)
    assert sim.min_delay == 5
    sim.run(30.0)
    sim.run(10.0)
    rec.close(sim)
    e = read_edges(path)
    for name, pid in (("E->E#0", 0), ("E->E#1", 1), ("E->I", 2)):
        assert list(e[name]["snapshots"]) == [12.3, 24.6, 36.9]
        assert list(e[name]["attrs"]["snapshot_times_ms"]) == [12.3, 24.6, 36.9]
    moved = False
    for t_ms, t_slice in ((12.3, 12.5), (24.6, 25.0)):  # t_slice: where a 5-step slice would end
        ref = Simulation(plastic_net(), seed=3, comm=SerialComm()).run(t_ms)
        for name, pid in (("E->E#0", 0), ("E->E#1", 1), ("E->I", 2)):
            assert np.array_equal(e[name]["snapshots"][t_ms], _target_major(ref, pid)[2]), (t_ms, name)
        # the weights changed within the slice that holds the snapshot: its time is exact
        late = Simulation(plastic_net(), seed=3, comm=SerialComm()).run(t_slice)
        moved = moved or any(not np.array_equal(_target_major(late, pid)[2], e[name]["snapshots"][t_ms])
                             for name, pid in (("E->E#0", 0), ("E->E#1", 1)))
    assert moved
    try:  # SONATA: libsonata reads the edges, their weights and snapshots as attributes
        import libsonata
    except ImportError:
        libsonata = None
    if libsonata is not None:
        pop = libsonata.EdgeStorage(path).open_population("E->I")
        sel = libsonata.Selection([[0, pop.size]])
        assert (pop.source, pop.target) == ("E", "I") and pop.size == e["E->I"]["weight"].size
        assert {"weight", "weight_t12.3"} <= set(pop.attribute_names)
        assert np.array_equal(pop.source_nodes(sel), e["E->I"]["source_node_id"])
        assert np.array_equal(pop.target_nodes(sel), e["E->I"]["target_node_id"])
        assert np.array_equal(pop.get_attribute("weight_t12.3", sel), e["E->I"]["snapshots"][12.3])
        assert np.array_equal(pop.get_attribute("weight", sel), e["E->I"]["weight"])
    with pytest.raises(SpecError):
        HDF5Recorder(str(tmp_path / "b.h5"), weights_every_ms=0.0)


@pytest.mark.parametrize("delay", [{"d0": 0.5, "c": 1.0}, 1.0], ids=["distance-delay", "constant"])
def test_spatial_plastic_projection_has_the_static_synapses(delay):
    grid = {"kind": "grid", "shape": [40], "extent": [1.0], "edge_wrap": True}

    def make(syn):
        return Network([Population("G", "iaf_psc_exp", 40, {"I_e": 400.0}, positions=grid)],
                       [Projection("G", "G", "pairwise_bernoulli", weight=10.0, delay_ms=delay,
                                   p={"profile": "gaussian", "std": 0.2},
                                   mask={"kind": "circular", "radius": 0.4}, synapse=syn)])
    static = Simulation(make(None), seed=1, comm=SerialComm())
    t = Simulation(make(dict(STDP)), seed=1, comm=SerialComm()).run(20.0).plastic.tables[0]
    assert t.n == static.syn.n > 100
    assert np.array_equal(t.tgt, static.syn.tgt) and np.array_equal(t.delays(), static.syn.d.astype(np.int64))
    assert (t.d_const >= 0) == isinstance(delay, float)


def test_killed_run_with_snapshots_only_is_readable(tmp_path):
    """A run killed after a weight snapshot and before its end leaves /edges with the ids and
    the snapshot but no final ``weight``: read_edges returns the snapshot, the analysis
    skips the projection instead of failing."""
    import shutil

    from analysis.weights import weight_stats
    from distsim.recording.hdf5 import HDF5Recorder, read_edges

    path, copy = str(tmp_path / "out.h5"), str(tmp_path / "killed.h5")
    rec = HDF5Recorder(path, weights_every_ms=10.0)
    sim = Simulation(plastic_net(), seed=3, comm=SerialComm(), recorder=rec)
    sim.run(15.0)
    shutil.copy(path, copy)  # what a kill now leaves (every write ends with a flush)
    rec.close(sim)
    e = read_edges(copy)
    assert all("weight" not in v and list(v["snapshots"]) == [10.0] for v in e.values())
    assert e["E->I"]["source_node_id"].size == e["E->I"]["snapshots"][10.0].size > 0
    assert weight_stats(copy) == {} and set(weight_stats(path)) == set(e)
