"""Connection rules: degree statistics, autapse/multapse options, rank independence."""
import numpy as np
import pytest
from conftest import synapse_list

from distsim.connectivity import build_synapses
from distsim.spec import Network, Population, Projection, validate


def net_with(proj, n_src=200, n_tgt=150, same=False):
    pops = [Population("S", "iaf_psc_delta", n_src)]
    if not same:
        pops.append(Population("T", "iaf_psc_delta", n_tgt))
    return validate(Network(pops, [proj]))


def all_synapses(net, n_ranks, seed=3):
    """Union over ranks of (src, tgt, w, d), sorted; each rank built separately."""
    parts = [synapse_list(build_synapses(net, seed, r, n_ranks), n_ranks, r) for r in range(n_ranks)]
    cols = [np.concatenate(c) for c in zip(*parts)]
    order = np.lexsort((cols[3], cols[2], cols[1], cols[0]))
    return [c[order] for c in cols]


def test_fixed_indegree_exact_and_uniform():
    net = net_with(Projection("S", "T", "fixed_indegree", weight=1.0, delay_ms=1.0, indegree=40))
    src, tgt, _, _ = all_synapses(net, 1)
    assert np.all(np.bincount(tgt - 200, minlength=150) == 40)
    counts = np.bincount(src, minlength=200)
    # chi-square test of uniform sources: 6000 draws over 200 sources
    chi2 = np.sum((counts - 30.0) ** 2 / 30.0)
    assert 130 < chi2 < 280  # 199 dof: mean 199, sd 20


def test_fixed_indegree_no_autapses_no_multapses():
    net = net_with(Projection("S", "S", "fixed_indegree", weight=1.0, delay_ms=1.0, indegree=199,
                              allow_autapses=False, allow_multapses=False), same=True)
    src, tgt, _, _ = all_synapses(net, 1)
    assert np.all(src != tgt)
    pairs = src * 1000 + tgt
    assert np.unique(pairs).size == pairs.size == 200 * 199


def test_fixed_total_number_split():
    net = net_with(Projection("S", "T", "fixed_total_number", weight=1.0, delay_ms=1.0, n_total=30000))
    src, tgt, _, _ = all_synapses(net, 1)
    assert src.size == 30000
    c = np.bincount(tgt - 200, minlength=150)
    assert abs(c.mean() - 200.0) < 1e-12
    assert 0.7 * 200 * (1 - 1 / 150) < c.var() < 1.3 * 200 * (1 - 1 / 150)


def test_pairwise_bernoulli_degrees():
    net = net_with(Projection("S", "T", "pairwise_bernoulli", weight=1.0, delay_ms=1.0, p=0.1))
    src, tgt, _, _ = all_synapses(net, 1)
    c = np.bincount(tgt - 200, minlength=150)
    assert abs(c.mean() - 20.0) < 4 * np.sqrt(20 * 0.9 / 150)
    assert 0.6 * 18 < c.var() < 1.4 * 18
    assert np.unique(src * 1000 + tgt).size == src.size  # never multapses


def test_all_to_all_and_one_to_one():
    net = net_with(Projection("S", "S", "all_to_all", weight=1.0, delay_ms=1.0, allow_autapses=False),
                   n_src=30, same=True)
    src, tgt, _, _ = all_synapses(net, 1)
    assert src.size == 30 * 29 and np.all(src != tgt)
    net = net_with(Projection("S", "T", "one_to_one", weight=1.0, delay_ms=1.0), n_src=50, n_tgt=50)
    src, tgt, _, _ = all_synapses(net, 1)
    assert np.array_equal(tgt - 50, src)


def test_weight_and_delay_distributions():
    w = {"dist": "normal", "mean": 87.8, "std": 8.78, "min": 0.0}
    d = {"dist": "normal", "mean": 1.5, "std": 0.75, "min": 0.05}
    net = net_with(Projection("S", "T", "fixed_indegree", weight=w, delay_ms=d, indegree=100))
    _, _, ws, ds = all_synapses(net, 1)
    assert ws.min() >= 0 and abs(ws.mean() - 87.8) < 0.2
    assert ds.min() >= 1  # redrawn below dt/2 then rounded to the grid: never below one step
    # mean of the normal truncated below at 0.05 ms (the redraw bound), then on the grid
    from math import erf, exp, pi, sqrt
    a = (0.05 - 1.5) / 0.75
    trunc_mean = 1.5 + 0.75 * exp(-a * a / 2) / sqrt(2 * pi) / (1 - 0.5 * (1 + erf(a / sqrt(2))))
    assert abs(ds.mean() * 0.1 - trunc_mean) < 4 * 0.75 / np.sqrt(ds.size)


@pytest.mark.parametrize("rule,kw", [("fixed_indegree", {"indegree": 30}),
                                     ("fixed_total_number", {"n_total": 5000}),
                                     ("pairwise_bernoulli", {"p": 0.2}),
                                     ("all_to_all", {}), ("one_to_one", {})])
def test_same_synapses_for_any_number_of_ranks(rule, kw):
    w = {"dist": "normal", "mean": 1.0, "std": 0.3}
    d = {"dist": "uniform", "low": 0.1, "high": 3.0}
    n_tgt = 200 if rule == "one_to_one" else 150
    net = net_with(Projection("S", "T", rule, weight=w, delay_ms=d, **kw), n_tgt=n_tgt)
    ref = all_synapses(net, 1)
    for n_ranks in (2, 3, 4, 7):
        got = all_synapses(net, n_ranks)
        for a, b in zip(ref, got):
            assert np.array_equal(a, b)


def test_rows_sorted_by_delay():
    d = {"dist": "uniform", "low": 0.1, "high": 5.0}
    net = net_with(Projection("S", "T", "fixed_indegree", weight=1.0, delay_ms=d, indegree=50))
    t = build_synapses(net, 1, 0, 1)
    for r in range(200):
        seg = t.d[t.row_ptr[r]:t.row_ptr[r + 1]]
        assert np.all(np.diff(seg.astype(int)) >= 0)


def test_from_list_gives_the_listed_synapses_on_any_number_of_ranks():
    """The from_list rule (distsim.pynn's PopulationViews, Assemblies, FromList...): exactly
    the listed connections (multapses kept, delays rounded as NEST rounds them), the same
    union for any number of ranks, and projection_connections returns what the build holds."""
    from distsim.connectivity import projection_connections
    rng = np.random.default_rng(0)
    m = 500
    src, tgt = rng.integers(0, 200, m), rng.integers(0, 150, m)
    w, d = rng.normal(1.0, 0.3, m), rng.uniform(0.1, 3.0, m)
    net = net_with(Projection("S", "T", "from_list", connections={
        "source": src.tolist(), "target": tgt.tolist(), "weight": w.tolist(), "delay_ms": d.tolist()}))
    ref = all_synapses(net, 1)
    want = [src, tgt + 200, w.astype(np.float32), np.floor(d / 0.1 + 0.5).astype(np.int64)]
    order = np.lexsort((want[3], want[2], want[1], want[0]))
    for a, b in zip(ref, want):
        assert np.array_equal(a, b[order])
    for n_ranks in (2, 3):
        for a, b in zip(ref, all_synapses(net, n_ranks)):
            assert np.array_equal(a, b)
    got = projection_connections(net, 3, 0)
    order2 = np.lexsort((got[3], got[2], got[1], got[0]))
    for a, b in zip(ref, got):
        assert np.array_equal(a, np.asarray(b[order2], dtype=a.dtype))
    assert net.projections[0].weight.b == w.max() and net.projections[0].delay_ms.a == d.min()


@pytest.mark.parametrize("conns,msg", [
    ({"source": [0, 1], "target": [0]}, "as many entries as source"),
    ({"source": [0, 200], "target": [0, 1]}, r"node ids must be in \[0, 199\]"),
    ({"source": [0], "target": [0], "delay_ms": [0.05]}, "delays must be >= dt_ms"),
    ({"source": [0], "target": [0], "weight": [1.0, 2.0]}, "list of 1 finite numbers"),
    ({"source": [0], "target": [0], "w": [1.0]}, "w"),
])
def test_from_list_errors(conns, msg):
    from distsim.spec import SpecError
    with pytest.raises(SpecError, match=msg):
        net_with(Projection("S", "T", "from_list", connections=conns))
