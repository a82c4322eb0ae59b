"""Spatial connectivity: positions, periodic distances, profiles, masks, distance delays,
spec errors, rank independence and the positions in the output file.

The profile tests are chi-square tests with a false-alarm rate of 1e-3 each (fixed seeds,
so they are deterministic); each also checks that a slightly wrong profile is rejected, so
the test has power and cannot pass vacuously.
"""
import numpy as np
import pytest
from conftest import synapse_list
from scipy import stats

from distsim.connectivity import build_synapses
from distsim.connectivity.spatial import connection_probability, displacements, network_positions
from distsim.spec import Network, Population, Projection, SpecError, network_from_dict, validate
from distsim.spec.spatial import Profile

ALPHA = 1e-3  # false-alarm rate of every statistical test here


def ring(n_pos=400, per=1, name="S", extent=1.0, wrap=True):
    return Population(name, "iaf_psc_delta", n_pos * per,
                      positions={"kind": "grid", "shape": [n_pos], "extent": [extent], "edge_wrap": wrap,
                                 "per_position": per})


def synapses(net, seed=7, n_ranks=1):
    """Union over ranks of (src, tgt, w, d) sorted by (src, tgt, d)."""
    parts = [synapse_list(build_synapses(net, seed, r, n_ranks), n_ranks, r) for r in range(n_ranks)]
    cols = [np.concatenate(c) for c in zip(*parts)]
    order = np.lexsort((cols[3], cols[2], cols[1], cols[0]))
    return [c[order] for c in cols]


def pair_distances(net, src, tgt, seed=7):
    """Distances (periodic in the source) of the pairs (src gid, tgt gid)."""
    pos = network_positions(net, seed)
    r = net.gid_ranges()
    S, T = net.population(src[0]), net.population(tgt[0])
    d = displacements(pos[S.name][src[1] - r[S.name][0]], pos[T.name][tgt[1] - r[T.name][0]], S.positions)
    return np.sqrt((d ** 2).sum(axis=1))


def bernoulli_chi2(net, pr, bins, seed=7, profile=None):
    """(statistic, dof, p-value) of the connection counts per distance bin against the sum of
    independent Bernoulli trials with the profile's p (``profile`` overrides pr.p)."""
    src, tgt, _, _ = synapses(net, seed)
    pos = network_positions(net, seed)
    S = net.population(pr.source)
    prof = profile or pr.p
    # every (target, source) pair: distance and probability
    dist = np.concatenate([np.sqrt((displacements(pos[pr.source], x, S.positions) ** 2).sum(axis=1))
                           for x in pos[pr.target]])
    p = prof(dist)
    d_conn = pair_distances(net, (pr.source, src), (pr.target, tgt), seed)
    O = np.histogram(d_conn, bins)[0]
    E = np.histogram(dist, bins, weights=p)[0]
    V = np.histogram(dist, bins, weights=p * (1 - p))[0]
    assert np.all(O[V == 0] == np.round(E[V == 0]))  # p 0 (or 1) bins: exact
    ok = V > 0
    x = float(np.sum((O[ok] - E[ok]) ** 2 / V[ok]))
    return x, int(ok.sum()), float(stats.chi2.sf(x, ok.sum()))


@pytest.mark.parametrize("p", [{"profile": "gaussian", "std": 0.08, "p0": 0.6},
                               {"profile": "exponential", "beta": 0.05, "p0": 0.9},
                               {"profile": "boxcar", "width": 0.13, "p0": 0.3}])
def test_pairwise_bernoulli_profile_histogram(p):
    net = validate(Network([ring(400)], [Projection("S", "S", "pairwise_bernoulli", weight=1.0, delay_ms=1.0,
                                                    p=dict(p))]))
    pr = net.projections[0]
    bins = np.linspace(0, 0.5, 26)
    x, dof, pval = bernoulli_chi2(net, pr, bins)
    assert pval > ALPHA, (x, dof)
    # power: the same connections against a profile 10 % wider are rejected
    key = {"gaussian": "std", "exponential": "beta", "boxcar": "width"}[p["profile"]]
    wrong = Profile(pr.p.name, pr.p.p0, pr.p.a * 1.1, pr.p.b)
    assert bernoulli_chi2(net, pr, bins, profile=wrong)[2] < ALPHA, key


def test_fixed_indegree_sources_follow_profile_in_mask():
    """NEST's spatial fixed_indegree: sources inside the mask drawn with probability
    proportional to p(d); every target gets exactly ``indegree``."""
    S = ring(500)
    pr = Projection("S", "S", "fixed_indegree", weight=1.0, delay_ms=1.0, indegree=60, allow_autapses=False,
                    p={"profile": "gaussian", "std": 0.1}, mask={"kind": "circular", "radius": 0.25})
    net = validate(Network([S], [pr]))
    src, tgt, _, _ = synapses(net)
    assert np.all(np.bincount(tgt, minlength=500) == 60)
    assert np.all(src != tgt)
    d = pair_distances(net, ("S", src), ("S", tgt))
    assert d.max() <= 0.25 + 1e-12
    bins = np.linspace(0, 0.25 + 1e-9, 21)  # the mask edge is inclusive
    pos = network_positions(net, 7)["S"]

    def expected(profile):
        w = connection_probability(Projection("S", "S", "fixed_indegree", p=profile, mask=net.projections[0].mask),
                                   net.population("S").positions, pos, pos[0])
        w[0] = 0.0  # no autapse
        dist = np.abs(displacements(pos, pos[0], net.population("S").positions)[:, 0])
        return np.histogram(dist, bins, weights=w)[0] / w.sum() * src.size

    O = np.histogram(d, bins)[0]
    E = expected(net.projections[0].p)
    assert stats.chisquare(O, E).pvalue > ALPHA
    assert stats.chisquare(O, expected(Profile("gaussian", 1.0, 0.12))).pvalue < ALPHA  # power


def test_periodic_displacement_and_distance():
    P = validate(Network([ring(10, extent=2.0)])).populations[0].positions
    # x = -0.9 and 0.9 are 0.2 apart across the edge of a ring of length 2
    assert np.allclose(displacements([[0.9]], [-0.9], P), [[-0.2]])
    assert np.allclose(displacements([[-0.9]], [0.9], P), [[0.2]])
    Q = validate(Network([ring(10, extent=2.0, wrap=False)])).populations[0].positions
    assert np.allclose(displacements([[0.9]], [-0.9], Q), [[1.8]])
    # a torus: the shortest displacement in each dimension
    T = validate(Network([Population("T", "iaf_psc_delta", 6, positions={"kind": "grid", "shape": [3, 2],
                                                                         "extent": [3.0, 2.0], "edge_wrap": True})]))
    pos = network_positions(T, 0)["T"]
    assert np.allclose(pos, [[-1, 0.5], [-1, -0.5], [0, 0.5], [0, -0.5], [1, 0.5], [1, -0.5]])  # NEST's order
    assert np.allclose(displacements(pos[5:6], pos[0], T.populations[0].positions), [[-1.0, -1.0]])


def test_circular_mask_across_the_edge_is_exact():
    """p = 1 inside a circular mask on a periodic ring: each target connects to exactly the
    sources within the radius, including those across the edge."""
    net = validate(Network([ring(100)], [Projection("S", "S", "pairwise_bernoulli", weight=1.0, delay_ms=1.0, p=1.0,
                                                    mask={"kind": "circular", "radius": 0.05})]))
    src, tgt, _, _ = synapses(net)
    # spacing 0.01: radius 0.05 holds the target and 5 neighbours on each side (inclusive)
    assert np.all(np.bincount(tgt, minlength=100) == 11)
    assert set(src[tgt == 0]) == {95, 96, 97, 98, 99, 0, 1, 2, 3, 4, 5}
    # without edge_wrap the first neuron only sees its right side
    net2 = validate(Network([ring(100, wrap=False)], [Projection("S", "S", "pairwise_bernoulli", weight=1.0,
                                                                 delay_ms=1.0, p=1.0,
                                                                 mask={"kind": "circular", "radius": 0.05})]))
    src2, tgt2, _, _ = synapses(net2)
    assert set(src2[tgt2 == 0]) == {0, 1, 2, 3, 4, 5}


def test_rectangular_mask_2d_is_exact():
    pop = Population("G", "iaf_psc_delta", 100, positions={"kind": "grid", "shape": [10, 10], "extent": [1.0, 1.0],
                                                           "edge_wrap": True})
    # pairwise_bernoulli as NEST's: the mask applies to the target - source displacement
    mask = {"kind": "rectangular", "lower_left": [-0.1, -0.2], "upper_right": [0.3, 0.0]}
    net = validate(Network([pop], [Projection("G", "G", "pairwise_bernoulli", weight=1.0, delay_ms=1.0, p=1.0,
                                              mask=mask)]))
    src, tgt, _, _ = synapses(net)
    pos = network_positions(net, 0)["G"]
    disp = displacements(pos[tgt], pos[src], net.populations[0].positions)  # NEST: target - source
    assert np.all((disp >= [-0.1 - 1e-9, -0.2 - 1e-9]) & (disp <= [0.3 + 1e-9, 1e-9]))
    # spacing 0.1: 5 columns (dx -0.1..0.3) x 3 rows (dy -0.2..0) per target
    assert np.all(np.bincount(tgt, minlength=100) == 15)


def test_distance_dependent_delay():
    net = validate(Network([ring(200)], [Projection("S", "S", "pairwise_bernoulli", weight=1.0, p=0.5,
                                                    delay_ms={"d0": 0.5, "c": 4.0},
                                                    mask={"kind": "circular", "radius": 0.3})]))
    src, tgt, _, d = synapses(net)
    dist = pair_distances(net, ("S", src), ("S", tgt))
    assert np.array_equal(d, np.floor((0.5 + 4.0 * dist) / 0.1 + 0.5).astype(np.int64))
    assert d.max() > d.min() + 8  # the delays really spread over distances
    assert net.projections[0].delay_ms.hi == pytest.approx(0.5 + 4.0 * 0.3)


@pytest.mark.parametrize("n_ranks", [2, 3])
def test_spatial_synapses_independent_of_ranks(n_ranks):
    pops = [ring(50, per=4, name="E"), ring(50, name="I"),
            Population("F", "iaf_psc_delta", 37, positions={"kind": "free", "extent": [1.0]})]
    projs = [Projection("E", "I", "fixed_indegree", weight={"dist": "normal", "mean": 1.0, "std": 0.2},
                        delay_ms={"d0": 0.2, "c": 1.0}, indegree=30, p={"profile": "gaussian", "std": 0.1}),
             Projection("I", "E", "pairwise_bernoulli", weight=-2.0, delay_ms=1.0,
                        p={"profile": "exponential", "beta": 0.1, "p0": 0.7}, mask={"kind": "circular", "radius": 0.3}),
             Projection("F", "E", "fixed_indegree", weight=1.0, delay_ms=0.5, indegree=3, allow_multapses=False,
                        mask={"kind": "circular", "radius": 0.2})]
    net = validate(Network(pops, projs))
    one = synapses(net, 11, 1)
    many = synapses(net, 11, n_ranks)
    assert one[0].size > 3000
    for a, b in zip(one, many):
        assert np.array_equal(a, b)


def test_free_positions_uniform_in_extent_and_seeded():
    pop = Population("F", "iaf_psc_delta", 3000, positions={"kind": "free", "extent": [2.0, 1.0],
                                                            "center": [1.0, 0.0]})
    net = validate(Network([pop]))
    a = network_positions(net, 1)["F"]
    assert a.shape == (3000, 2)
    assert stats.kstest(a[:, 0], stats.uniform(0.0, 2.0).cdf).pvalue > ALPHA
    assert stats.kstest(a[:, 1], stats.uniform(-0.5, 1.0).cdf).pvalue > ALPHA
    assert np.array_equal(a, network_positions(net, 1)["F"])
    assert not np.array_equal(a, network_positions(net, 2)["F"])


def test_positions_in_output_file(tmp_path):
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.recording.hdf5 import HDF5Recorder, read_positions
    from distsim.spec import Device

    pops = [ring(20, per=2, name="E"), Population("F", "iaf_psc_delta", 5,
                                                   positions={"kind": "free", "extent": [1.0, 1.0]})]
    net = Network(pops, [], [Device("spike_recorder", ["E"])])
    rec = HDF5Recorder(str(tmp_path / "o.h5"))
    sim = Simulation(net, seed=4, comm=SerialComm(), recorder=rec)
    sim.run(1.0)
    rec.close(sim)
    got = read_positions(str(tmp_path / "o.h5"))
    want = network_positions(net, 4)
    assert got.keys() == {"E", "F"}
    for k in got:
        assert np.array_equal(got[k], want[k])
    assert np.array_equal(got["E"][:4, 0], [-0.475, -0.475, -0.425, -0.425])  # 2 neurons per position


def test_spec_round_trip_through_dict():
    d = {"populations": [{"name": "E", "model": "iaf_psc_delta", "n": 40,
                          "positions": {"kind": "grid", "shape": [20], "extent": [1.0], "edge_wrap": True,
                                        "per_position": 2}}],
         "projections": [{"source": "E", "target": "E", "rule": "pairwise_bernoulli", "weight": 1.0,
                          "delay_ms": {"d0": 1.0, "c": 0.5}, "p": {"profile": "gaussian", "std": 0.1},
                          "mask": {"kind": "circular", "radius": 0.3}}]}
    net = validate(network_from_dict(d))
    again = validate(network_from_dict(net.to_dict()))
    assert again.to_dict() == net.to_dict()
    assert np.array_equal(synapses(net)[0], synapses(again)[0])


BAD = [
    # (population positions, projection overrides, field in the message, words in the message)
    ({"kind": "grid", "shape": [20], "extnt": [1.0]}, {}, "positions.extnt", "did you mean 'extent'"),
    ({"kind": "grd", "shape": [20]}, {}, "positions.kind", "did you mean 'grid'"),
    ({"kind": "grid", "shape": [21]}, {}, "positions.shape", "n = 20"),
    ({"kind": "grid", "shape": [20], "edge_wrap": 1}, {}, "edge_wrap", "true or false"),
    ({"kind": "grid", "shape": [20], "extent": [0.0]}, {}, "extent", "> 0"),
    ({"kind": "free"}, {}, "positions.extent", "is required"),
    ({"kind": "free", "pos": [[0.0]] * 3}, {}, "positions.pos", "n = 20"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"p": {"profile": "gausian", "std": 0.1}}, "p.profile",
     "did you mean 'gaussian'"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"p": {"profile": "gaussian", "sd": 0.1}}, "p.sd",
     "did you mean 'std'"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"p": {"profile": "boxcar"}}, "p.width", "is required"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"p": {"profile": "boxcar", "width": 0.1, "p0": 1.5}},
     "p.p0", "(0, 1]"),
    ({"kind": "grid", "shape": [20], "extent": [1.0], "edge_wrap": True}, {"mask": {"kind": "circular", "radius": 0.6}},
     "mask", "wider than the periodic pool extent"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"mask": {"kind": "box", "lower_left": [0], "upper_right": [1]}},
     "mask.kind", "3-D"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"mask": {"kind": "circular", "radus": 0.1}}, "mask.radus",
     "did you mean 'radius'"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]},
     {"mask": {"kind": "rectangular", "lower_left": [0.1], "upper_right": [-0.1]}}, "mask.upper_right", "> lower_left"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"rule": "all_to_all", "mask": {"kind": "circular", "radius": 0.1}},
     "mask", "need rule"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"delay_ms": {"d0": 0.05, "c": 1.0}}, "delay_ms.d0", ">= dt_ms"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"delay_ms": {"d0": 1.0, "slope": 1.0}}, "delay_ms.slope",
     "d0 + c * distance"),
    ({"kind": "grid", "shape": [20], "extent": [1.0]}, {"delay_ms": {"d0": 1.0, "c": 1e6}}, "delay_ms",
     "65535 steps"),
    (None, {"mask": {"kind": "circular", "radius": 0.1}}, "source", "need positions on both"),
]


@pytest.mark.parametrize("positions,over,field,words", BAD)
def test_spec_errors_name_the_field(positions, over, field, words):
    d = {"populations": [{"name": "E", "model": "iaf_psc_delta", "n": 20}],
         "projections": [dict({"source": "E", "target": "E", "rule": "pairwise_bernoulli", "p": 0.5}, **over)]}
    if positions is not None:
        d["populations"][0]["positions"] = positions
    with pytest.raises(SpecError) as e:
        validate(network_from_dict(d))
    assert field in e.value.field and words in str(e.value), str(e.value)


def test_dimension_mismatch_and_too_few_sources():
    pops = [ring(20, name="A"), Population("B", "iaf_psc_delta", 4, positions={"kind": "grid", "shape": [2, 2]})]
    with pytest.raises(SpecError, match="must match"):
        validate(Network(pops, [Projection("A", "B", "pairwise_bernoulli", p=0.5,
                                           mask={"kind": "circular", "radius": 0.1})]))
    # without multapses a target needs at least indegree sources inside its mask: 3 here
    net = validate(Network([ring(20, name="A")], [Projection("A", "A", "fixed_indegree", indegree=4,
                                                              allow_multapses=False,
                                                              mask={"kind": "circular", "radius": 0.05})]))
    with pytest.raises(SpecError, match="only 3 sources") as e:
        build_synapses(net, 1, 0, 1)
    assert "indegree" in e.value.field


# ------------------------------------------------------------------ the ring model (Senk 2020)
def test_ring_declarations_are_the_builders_signature(capsys):
    import inspect
    import json

    from distsim.cli import main
    from distsim.networks import builtin_models, builtin_params

    fn = builtin_models()["ring"]
    decl = builtin_params("ring")
    sig = inspect.signature(fn).parameters
    assert list(sig) == list(decl)
    assert all(sig[k].default == p.default for k, p in decl.items())
    assert main(["models", "ring", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["parameters"]) == list(decl)


def test_ring_structure_and_working_point():
    """The built network has the Senk et al. structure, and distsim's mean-field of the built
    network (an independent reading of its projections and devices) puts every neuron at the
    requested working point (mu, sigma)."""
    from distsim.meanfield.cli import predict
    from distsim.networks.ring import ring

    net = validate(ring(n_positions=200, K_E=80, K_I=20, mu=12.0, sigma=6.0))
    E, I = net.population("E"), net.population("I")
    assert (E.n, I.n) == (800, 200) and E.positions.per_position == 4 and E.positions.edge_wrap
    pos = network_positions(net, 1)
    assert np.array_equal(pos["E"][::4], pos["I"])  # one I and four E per grid position
    src, tgt, w, _ = synapses(net, 5)
    n_in = np.bincount(tgt, minlength=1000)
    assert np.all(n_in == 100)
    ee = (src < 800) & (tgt < 800)
    d = pair_distances(net, ("E", src[ee]), ("E", tgt[ee]))
    assert d.max() <= 0.2 + 1e-12 and d.max() > 0.19
    p = predict(net)
    for pop in ("E", "I"):
        assert p["mu_mV"][pop] == pytest.approx(12.0, rel=1e-9)
        assert p["sigma_mV"][pop] == pytest.approx(6.0, rel=1e-9)
        assert p["rates"][pop] == pytest.approx(net.reference_rates[pop], rel=1e-6)


@pytest.mark.parametrize("bad,field", [({"width_E": 0.6}, "width_E"), ({"K_E": -1}, "K_E"),
                                       ({"sigma": 0.0}, "sigma"), ({"mu": 10.0, "sigma": 0.5}, "mu, sigma")])
def test_ring_bad_arguments(bad, field):
    from distsim.networks.ring import ring

    with pytest.raises(SpecError) as e:
        ring(**bad)
    assert e.value.field == field


def test_lambertw_eigenvalues_solve_the_characteristic_equation():
    """lambda_B solves (1 + lambda tau) exp(lambda d) = c on every branch, and the boxcar
    transform is 1 at k = 0 with its first zero at k w = pi."""
    from distsim.meanfield import lambertw_eigenvalues
    from distsim.meanfield.spatial import boxcar_ft

    c = np.array([2.7 - 0.3j, -3.4, 0.5, -0.9 + 1.2j])
    tau, d = 1.9, 1.5
    lam = lambertw_eigenvalues(c, d, tau, branches=(-2, -1, 0, 1, 2))  # delay, tau (ms): 1/ms
    np.testing.assert_allclose((1 + lam * tau) * np.exp(lam * d), np.broadcast_to(c, lam.shape), rtol=1e-10)
    assert boxcar_ft(0.0, 0.2) == 1.0 and abs(boxcar_ft(np.pi / 0.2, 0.2)) < 1e-15


def test_meanfield_indegree_of_a_spatial_pairwise_projection():
    """The mean-field takes a spatial pairwise_bernoulli projection's mean in-degree from its
    profile (regression: ``p * N`` with p a profile raised a TypeError). On a periodic grid a
    boxcar of half width w with p0 gives p0 * (sources within w), the same for every target,
    and the built network has that many synapses on average."""
    from distsim.meanfield.network import params_from_network
    from distsim.spec import Device

    n, w, p0 = 400, 0.101, 0.5  # w between grid distances: no float edge case
    grid = {"kind": "grid", "shape": [n], "extent": [1.0], "edge_wrap": True}
    net = validate(Network(
        [Population("A", "iaf_psc_delta", n, {"I_e": 0.0}, positions=grid)],
        [Projection("A", "A", "pairwise_bernoulli", weight=0.1, delay_ms=1.0, allow_autapses=False,
                    p={"profile": "boxcar", "width": w, "p0": p0})],
        [Device("poisson_generator", ["A"], {"rate_Hz": 8000.0, "weight": 0.1})]))
    P = params_from_network(net)
    exact = p0 * (np.count_nonzero(np.abs((np.arange(n) / n + 0.5) % 1.0 - 0.5) <= w) - 1)  # 80 sources
    K = float(np.asarray(P["K"])[0, 0])
    built = build_synapses(net, 1, 0, 1).tgt.size / n
    assert exact == 40.0 and K == pytest.approx(exact, rel=1e-12)
    assert built == pytest.approx(K, rel=0.05)
