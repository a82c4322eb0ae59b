"""distsim.meanfield's NNMT tools checked without NNMT: against their defining equations,
finite differences and limits (NNMT comparisons: tests/validation/test_meanfield_nnmt.py)."""
import json
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfc

from distsim import meanfield as mf
from distsim.meanfield import sensitivity as se
from distsim.meanfield import stability as st
from distsim.meanfield import statistics as ss
from distsim.meanfield.inputs import network_arrays
from distsim.meanfield.rates import _jacobian, _rate_map
from distsim.networks import brunel_params, microcircuit_params


@pytest.fixture(scope="module")
def mc():
    p = microcircuit_params.derive()
    return p, mf.working_point(p)


def test_static_coupling_is_the_jacobian_of_the_rate_map(mc):
    """W0 = d Phi / d nu: the analytic derivative against central differences of the rate map.
    Brunel's SR point (g = 3, 327 spikes/s, y_r = -13) included: there NNMT's formula
    underflows to W0 = 0, ours is scaled (erfcx)."""
    for p, wp in (mc, (brunel_params.derive(g=5.0, eta=2.0, V_reset=10.0), None),
                  (brunel_params.derive(g=3.0, eta=2.0, V_reset=10.0), None)):
        wp = wp or mf.working_point(p)
        a = network_arrays(p)
        jac = _jacobian(lambda x: _rate_map(x, a), wp["rates"], rel_step=1e-5)
        W0 = mf.static_effective_connectivity(p, wp["rates"])
        np.testing.assert_allclose(W0, jac, rtol=1e-5, atol=1e-7 * np.max(np.abs(jac)))
        assert mf.spectral_bound(p, wp["rates"]) == pytest.approx(np.max(np.linalg.eigvals(jac).real),
                                                                   abs=1e-6)


def _cv_brunel_quadrature(y_r, y_th, nu_tau):
    """Brunel 2000 eq. A.1 by direct nested quadrature (moderate y only: e^{x^2} formed; the
    inner integrand, e^{y^2} (1 + erf y)^2 written with erfc(-y), is below 1e-60 under y = -12)."""
    def inner(x):
        return quad(lambda y: math.exp(y * y) * erfc(-y) ** 2, -12.0, x, epsrel=1e-12, limit=200)[0]
    return math.sqrt(2 * math.pi * nu_tau**2 * quad(lambda x: math.exp(x * x) * inner(x), y_r, y_th,
                                                     epsrel=1e-12, limit=200)[0])


@pytest.mark.parametrize("mu,sigma", [(15.0, 5.0), (21.0, 7.7), (5.0, 6.0), (30.0, 3.0), (18.0, 1.5)])
def test_cv_matches_brunel_formula(mu, sigma):
    from distsim.meanfield.siegert import _siegert

    nu = float(_siegert(mu, sigma, 20.0, 10.0, 20.0, 2.0))
    ours = ss._cvs(nu, mu, sigma, 20.0, 10.0, 20.0, 0.0)[0]
    ref = _cv_brunel_quadrature((10.0 - mu) / sigma, (20.0 - mu) / sigma, 1e-3 * nu * 20.0)
    assert ours == pytest.approx(ref, rel=1e-8)


def test_cv_limits():
    from distsim.meanfield.siegert import _siegert

    # far below threshold the spikes are rare, independent events: Poisson, CV -> 1 (here
    # y_th = 7: exp(49) would overflow nothing but the naive double integral loses digits)
    for mu, sigma in ((-30.0, 7.0), (-100.0, 15.0)):
        nu = float(_siegert(mu, sigma, 20.0, 10.0, 20.0, 0.0))
        assert 0 < nu < 1e-3
        assert ss._cvs(nu, mu, sigma, 20.0, 10.0, 20.0, 0.0)[0] == pytest.approx(1.0, abs=0.05)
    # strongly supra-threshold, little noise: nearly clock-like
    nu = float(_siegert(60.0, 0.5, 20.0, 10.0, 20.0, 2.0))
    assert ss._cvs(nu, 60.0, 0.5, 20.0, 10.0, 20.0, 0.0)[0] < 0.02
    assert np.isnan(ss._cvs(0.0, -1e3, 1.0, 20.0, 10.0, 20.0, 0.0)[0])


def test_covariances_structure(mc):
    p, wp = mc
    C, D = ss._pairwise_covariances(mf.static_effective_connectivity(p, wp["rates"]), wp["rates"],
                                    mf.cvs(p, wp["rates"]), return_noise_strength=True)
    cv = mf.cvs(p, wp["rates"])
    np.testing.assert_allclose(np.diag(C), cv**2 * wp["rates"], rtol=1e-10)
    np.testing.assert_allclose(C, C.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mf.pairwise_covariances(p, wp["rates"]), C, rtol=1e-12)
    # no coupling: no cross-covariance, D = autocovariance
    C0, D0 = ss._pairwise_covariances(np.zeros((3, 3)), [1.0, 2.0, 3.0], [1.0, 0.5, 0.2], True)
    np.testing.assert_allclose(C0, np.diag([1.0, 0.5, 0.12]))
    np.testing.assert_allclose(D0, [1.0, 0.5, 0.12])


def test_sensitivity_is_the_eigenvalue_derivative():
    """sum Z = lambda and d lambda = sum_ij Z_ij eps_ij for W_ij -> W_ij (1 + eps_ij)."""
    rng = np.random.default_rng(4)
    W = 0.4 * (rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5)))
    d = se._sensitivity_measure(W)
    ev = np.linalg.eigvals(W)
    assert d["critical_eigenvalue"] == pytest.approx(ev[np.argmin(np.abs(ev - 1))])
    assert np.sum(d["sensitivity"]) == pytest.approx(d["critical_eigenvalue"], rel=1e-12)
    eps = 1e-7 * rng.standard_normal((5, 5))
    ev2 = np.linalg.eigvals(W * (1 + eps))
    lam2 = ev2[np.argmin(np.abs(ev2 - d["critical_eigenvalue"]))]
    assert lam2 - d["critical_eigenvalue"] == pytest.approx(np.sum(d["sensitivity"] * eps), rel=1e-4)
    # the projections: k points from lambda to 1, Z_amp + i Z_freq is Z rotated onto (k, k_per)
    lam = d["critical_eigenvalue"]
    k = d["k"][0] + 1j * d["k"][1]
    assert k == pytest.approx((1 - lam) / abs(1 - lam))
    np.testing.assert_allclose(d["sensitivity_amp"] + 1j * d["sensitivity_freq"], d["sensitivity"] * np.conj(k),
                               rtol=1e-12, atol=1e-15)


def test_eigenvalue_trajectories_follow_crossing_eigenvalues():
    """Two eigenvalues that cross: the trajectories stay continuous although eig's order flips."""
    t = np.linspace(0.0, 1.0, 101)
    W = np.zeros((t.size, 2, 2), complex)
    W[:, 0, 0] = t + 0.1j
    W[:, 1, 1] = 1 - t
    W[:, 0, 1] = 1e-3
    traj, _ = se._eigenvalue_trajectories(W)
    assert np.max(np.abs(np.diff(traj, axis=0))) < 0.02
    assert traj[0, 0] == pytest.approx(0.1j, abs=1e-5) and traj[-1, 0] == pytest.approx(1 + 0.1j, abs=1e-5)


def test_lambertw_solves_the_characteristic_equation():
    c = np.array([0.5, -2.0, 3.0 + 1j, -0.3 - 0.7j])
    lam = mf.lambertw_eigenvalues(c, 1.5, 4.0, branches=(-3, -1, 0, 1, 3))
    np.testing.assert_allclose(1 + lam * 4.0, c * np.exp(-lam * 1.5), rtol=1e-11)
    # real c < 1 (0.5): stable; principal branch holds the largest real part for real c
    assert lam[2, 0].real < 0 and np.argmax(lam[:, 0].real) == 2
    # real c > 1 without delay effects: unstable, real eigenvalue (c - 1)/tau for d -> 0
    small = mf.lambertw_eigenvalues([1.5], 1e-6, 4.0)[0, 0]
    assert small == pytest.approx(0.5 / 4.0, rel=1e-5)
    with pytest.raises(ValueError, match="delay_ms"):
        mf.lambertw_eigenvalues(c, 0.0, 4.0)


def test_rate_model_fit_recovers_a_low_pass():
    f = np.geomspace(1.0, 1000.0, 100)
    w = 2e-3 * np.pi * f
    tf = np.stack([3.0 / (1 + 1j * w * 5.0), 0.2 / (1 + 1j * w * 0.7)], axis=1)
    fit, tau, h0, err = st._fit_transfer_function(tf, f)
    np.testing.assert_allclose(tau, [5.0, 0.7], rtol=1e-9)
    np.testing.assert_allclose(h0, [3.0, 0.2], rtol=1e-9)
    np.testing.assert_allclose(fit, tf, rtol=1e-9)
    assert np.all(err < 1e-6)


def test_linear_stability_of_brunel_regimes():
    """Brunel's SI-fast point (g = 6, eta = 4) is predicted oscillatory-unstable, the AI point
    (g = 5, eta = 2) stable, both with the fast (~150-250 Hz) mode of delay 1.5 ms; the
    microcircuit (distributed delays) is refused with the reason."""
    fast = mf.linear_stability(brunel_params.derive(g=6.0, eta=4.0))
    ai = mf.linear_stability(brunel_params.derive(g=5.0, eta=2.0))
    print(fast["max_real_per_ms"], fast["oscillation_hz"], ai["max_real_per_ms"], ai["oscillation_hz"])
    assert fast["unstable"] and not ai["unstable"]
    assert 120.0 < fast["oscillation_hz"] < 300.0
    with pytest.raises(ValueError, match="fixed delays"):
        mf.linear_stability(microcircuit_params.derive())


def test_external_rates_round_trip_on_a_network():
    """The working point of the Brunel network, asked for, gives its generator rate back."""
    from distsim.meanfield.network import params_from_network
    from distsim.networks.brunel import brunel

    net = brunel(order=500, g=5.0, eta=2.0, V_reset=10.0)
    wp = mf.working_point(params_from_network(net))
    rate = [dv.params["rate_Hz"] for dv in net.devices if dv.type == "poisson_generator"]
    r = mf.external_rates_for_fixed_input(net, wp["mu"], wp["sigma"])
    np.testing.assert_allclose(r["rates_Hz"], rate, rtol=1e-9)
    np.testing.assert_allclose(list(r["achieved_mu_mV"].values()), wp["mu"], rtol=1e-9)
    np.testing.assert_allclose(list(r["target_rates"].values()), wp["rates"], rtol=1e-9)
    with pytest.raises(ValueError, match="negative external rate"):
        mf.external_rates_for_fixed_input(net, -50.0, 1.0)
    # iaf_psc_exp: the microcircuit's eight generators (weights converted with tau_syn / C_m)
    from distsim.networks.microcircuit import microcircuit

    mc = microcircuit(N_scaling=0.1)
    wp = mf.working_point(params_from_network(mc))
    r = mf.external_rates_for_fixed_input(mc, wp["mu"], wp["sigma"])
    rates = [mc.devices[i].params["rate_Hz"] for i in r["devices"]]
    assert len(rates) == 8
    np.testing.assert_allclose(r["rates_Hz"], rates, rtol=1e-9)


def test_meanfield_cli_json_has_the_tools(capsys):
    from distsim.meanfield.cli import main

    assert main(["brunel", "--set", "V_reset=10", "--json", "--target-input", "21,7"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("cv", "spectral_bound", "static_coupling_eigenvalues", "pairwise_covariances",
                "eigenmodes", "rate_model", "lambertw_stability", "external_rates"):
        assert key in res, key
    assert res["cv"]["E"] == pytest.approx(0.6753, abs=1e-3)
    assert res["lambertw_stability"]["unstable"] is False
    m = res["eigenmodes"][0]
    assert len(m["sensitivity_amp"]) == 2 and m["distance_to_1"] <= res["eigenmodes"][-1]["distance_to_1"]
    assert main(["brunel", "--target-input", "21"]) == 2
    assert "--target-input" in capsys.readouterr().err


def test_root_finder_survives_non_finite_steps():
    """Regression: hybr stepped to non-finite rates (after an overflowing Phi) and the rate map
    crashed on NaN ('cannot convert float NaN to integer') while scanning the Sanzeni networks;
    now such a start just fails to converge."""
    from distsim.meanfield.rates import _solve_root

    calls = []

    def phi(x):
        calls.append(x.copy())
        if len(calls) == 3:
            return np.array([np.inf, 1.0])
        if not np.all(np.isfinite(x)):
            raise ValueError("non-finite rates reached phi")
        return 0.5 * x + 1.0

    nu, ok = _solve_root(phi, np.zeros(2))
    assert not ok
    calls.clear()
    nu, ok = _solve_root(lambda x: 0.5 * x + 1.0, np.zeros(2))
    assert ok and np.allclose(nu, 2.0)


def test_meanfield_json_is_valid_for_a_population_that_does_not_fire(tmp_path, capsys):
    """A driven population whose rate underflows to 0 has no ISI CV: JSON null, not NaN
    (``json.dumps`` would write the invalid token NaN)."""
    from distsim.meanfield.cli import main

    toml = tmp_path / "quiet.toml"
    toml.write_text('''name = "quiet"
[[populations]]
name = "A"
model = "iaf_psc_delta"
n = 10
[[populations]]
name = "B"
model = "iaf_psc_delta"
n = 10
[[projections]]
source = "A"
target = "B"
rule = "fixed_indegree"
indegree = 1
weight = 0.1
delay_ms = 1.5
[[devices]]
type = "poisson_generator"
targets = ["A", "B"]
rate_Hz = 1000.0
weight = -0.1
delay_ms = 1.0
''')
    assert main([str(toml), "--json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out
    res = json.loads(out)
    assert res["rates"]["A"] == 0.0 and res["cv"]["A"] is None
    # no rate model (and no Lambert-W stability) from a transfer function that is 0
    assert "does not fire" in res["rate_model"]["not_applicable"]
    assert "not_applicable" in res["lambertw_stability"]
