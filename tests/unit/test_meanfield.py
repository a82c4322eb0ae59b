"""Tests of distsim.meanfield and the network parameter modules (serial).

References: NEST's siegert_neuron example (seed 000, 32.03 spikes/s), NNMT 1.3.0
(``nnmt.lif.exp``) built from our derived microcircuit parameters, and
independent quadratures.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf, erfcx

from distsim import meanfield as mf
from distsim.meanfield.inputs import _mean_input, _std_input, network_arrays
from distsim.meanfield.linear import (
    _delay_kernel,
    _effective_connectivity,
    _pcf_U,
    _power_spectra,
    _transfer_function_shift,
)
from distsim.meanfield.rates import _fixed_points, _rate_map, _solve_pseudo_time, _solve_root
from distsim.meanfield.siegert import _dsiegert_dmu, _erfcx_integral, _siegert
from distsim.networks import brunel_params, microcircuit_params

# Mean-field prediction quoted in /work/shared/MODELS.md (spikes/s, 2 decimals)
MODELS_MD_MEANFIELD = np.array([0.75, 2.79, 4.44, 5.82, 7.15, 8.47, 1.16, 7.76])

# Frequencies (Hz) for the NNMT comparison: NNMT evaluates U(a, x) with mpmath
# (~75 ms per frequency for 8 populations), so 1-400 Hz is sampled, not swept.
NNMT_FREQS = np.unique(np.r_[np.geomspace(1.0, 400.0, 24), np.arange(50.0, 401.0, 50.0)])


# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------


def test_microcircuit_derived_parameters():
    p = microcircuit_params.derive()
    assert p["populations"] == ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
    assert p["num_neurons"].sum() == 77169
    # synapse numbers: independent evaluation of the NEST formula
    N = p["full_num_neurons"].astype(float)
    C = p["conn_probs"]
    K_tot = np.log1p(-C) / np.log1p(-1.0 / np.outer(N, N))
    np.testing.assert_allclose(p["full_num_synapses"], K_tot, rtol=1e-7)
    # NEST's own floating-point expression, so that the rounded counts are identical, with the
    # C library's log (math.log; numpy's AVX-512 log differs in the last bit: kernels/libm.py)
    prod = np.outer(N, N)
    K_tot = (np.vectorize(math.log)(1.0 - C) / np.vectorize(math.log)((prod - 1.0) / prod))
    np.testing.assert_array_equal(p["full_num_synapses"], K_tot)
    assert np.array_equal(p["num_synapses"], np.round(K_tot).astype(int))
    assert abs(p["num_synapses"].sum() / 1e9 - 0.30) < 0.005
    np.testing.assert_allclose(p["full_indegrees"], K_tot / N[:, None], rtol=1e-12)
    # the mean-field in-degree is that of the network built: rounded totals / neurons
    assert np.array_equal(p["indegrees"], p["num_synapses"] / p["num_neurons"][:, None])
    np.testing.assert_allclose(p["indegrees"], K_tot / N[:, None], rtol=1e-4)
    # PSC weight: the PSP of the exp-exp kernel peaks at PSP_exc_mean
    npar = p["neuron_params"]
    t = np.linspace(0.0, 10.0, 200001)
    tm, ts, Cm = npar["tau_m"], npar["tau_syn_ex"], npar["C_m"]
    v = p["weight_ext"] * tm * ts / (Cm * (tm - ts)) * (np.exp(-t / tm) - np.exp(-t / ts))
    assert v.max() == pytest.approx(0.15, rel=1e-8)
    W = p["weight_matrix_mean"]
    assert W[0, 2] == pytest.approx(2 * W[0, 0])
    assert W[0, 1] == pytest.approx(-4 * W[0, 0])
    np.testing.assert_allclose(p["weight_matrix_std"], 0.1 * np.abs(W))
    assert p["delay_matrix_mean"][3, 2] == 1.5 and p["delay_matrix_mean"][3, 3] == 0.75
    np.testing.assert_allclose(p["delay_matrix_std"], 0.5 * p["delay_matrix_mean"])
    assert np.array_equal(p["K_ext"], [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
    assert np.all(p["DC_amp"] == 0.0)
    np.testing.assert_allclose(p["V0_mean"][0], -68.28)
    assert p["thalamus"]["num_th_neurons"] == 902


def test_microcircuit_scaling_and_dc():
    p = microcircuit_params.derive(N_scaling=0.1, K_scaling=0.1)
    assert np.array_equal(p["num_neurons"], np.round(p["full_num_neurons"] * 0.1).astype(int))
    assert np.array_equal(p["num_synapses"], np.round(p["full_num_synapses"] * 0.01).astype(int))
    assert np.array_equal(p["K_ext"], [160, 150, 210, 190, 200, 190, 290, 210])
    full = microcircuit_params.derive()
    np.testing.assert_allclose(p["weight_matrix_mean"], full["weight_matrix_mean"] / math.sqrt(0.1))
    # DC replacing the Poisson input: bg_rate * K_ext * PSC_ext * tau_syn * 1e-3
    q = microcircuit_params.derive(poisson_input=False)
    np.testing.assert_allclose(q["DC_amp"], 8.0 * q["K_ext_full"] * q["weight_ext"] * 0.5e-3)
    # the K_scaling compensation keeps mu and sigma of the full network (at full_mean_rates),
    # exactly for the nominal in-degrees full_indegrees * K_scaling (the built network's
    # in-degrees differ from these by the rounding of the synapse totals)
    def nominal(d):
        d["indegrees"] = d["full_indegrees"] * d["K_scaling"]
        return d

    for poisson in (True, False):
        ref = mf.input_statistics(nominal(microcircuit_params.derive(poisson_input=poisson)),
                                  full["full_mean_rates"])
        for ks in (0.5, 0.1):
            d = nominal(microcircuit_params.derive(K_scaling=ks, poisson_input=poisson))
            got = mf.input_statistics(d, full["full_mean_rates"])
            np.testing.assert_allclose(got[0], ref[0], rtol=1e-12)
            np.testing.assert_allclose(got[1], ref[1], rtol=1e-12)


@pytest.mark.parametrize("sets", [[], ["K_scaling=0.5"], ["poisson_input=false"],
                                  ["N_scaling=1.0"]])
def test_meanfield_cli_and_derive_are_one_computation(sets, capsys):
    """``distsim meanfield microcircuit`` (mean-field of the Network that ``distsim run``
    builds) and ``derive()`` give the same rates. Regression: at the default N_scaling = 0.1
    derive() used the unrounded in-degrees and L5E differed by 3.7 %."""
    import json

    from distsim.meanfield.cli import main
    from distsim.meanfield.network import params_from_network
    from distsim.networks.microcircuit import microcircuit

    argv = ["microcircuit", "--json"]
    for kv in sets:
        argv += ["--set", kv]
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)["rates"]
    kw = {"N_scaling": 0.1}
    for kv in sets:
        k, v = kv.split("=")
        kw[k] = False if v == "false" else float(v)
    d = microcircuit_params.derive(**kw)
    ours = mf.working_point(d)["rates"]
    np.testing.assert_allclose([cli[p] for p in d["populations"]], ours, rtol=1e-12)
    K_net = params_from_network(microcircuit(**kw))["indegrees"]
    np.testing.assert_allclose(K_net, d["indegrees"], rtol=1e-14)


def test_meanfield_at_default_scaling_matches_nnmt():
    """Independent check of the N_scaling = 0.1 network: NNMT's rates for the in-degrees read
    straight from the Network's projections (n_total / N_target) equal our prediction."""
    nnmt = pytest.importorskip("nnmt", reason="nnmt (1.3.0) not importable: cannot cross-check")
    from distsim.meanfield.cli import predict
    from distsim.networks.microcircuit import microcircuit

    net = microcircuit(N_scaling=0.1)
    names = [p.name for p in net.populations]
    size = {p.name: p.n for p in net.populations}
    K = np.zeros((8, 8))
    for pr in net.projections:
        K[names.index(pr.target), names.index(pr.source)] += pr.n_total / size[pr.target]
    p = microcircuit_params.derive(N_scaling=0.1)
    npar = p["neuron_params"]
    Q = nnmt.ureg.Quantity
    params = {
        "populations": names, "N": np.array([size[n] for n in names], float),
        "C": Q(npar["C_m"], "pF"), "tau_m": Q(npar["tau_m"], "ms"),
        "tau_s": Q(npar["tau_syn_ex"], "ms"), "tau_r": Q(npar["t_ref"], "ms"),
        "V_th_abs": Q(npar["V_th"], "mV"), "V_0_abs": Q(npar["V_reset"], "mV"),
        "K": K, "W": Q(p["weight_matrix_mean"], "pA"), "K_ext": p["K_ext"].astype(float),
        "W_ext": Q(np.full(8, p["weight_ext"]), "pA"), "nu_ext": Q(p["bg_rate"], "Hz"),
        "Delay": Q(p["delay_matrix_mean"], "ms"), "Delay_sd": Q(p["delay_matrix_std"], "ms"),
        "delay_dist": "truncated_gaussian",
    }
    ref = np.asarray(nnmt.lif.exp.firing_rates(nnmt.models.Basic(params), method="shift"))
    got = predict(net)["rates"]
    np.testing.assert_allclose([got[n] for n in names], ref, rtol=0.01)
    # the in-degree rounding is visible: the full-scale in-degrees give other rates
    nominal = dict(p, indegrees=p["full_indegrees"])
    assert abs(mf.firing_rates(nominal)[4] / got["L5E"] - 1) > 0.02


def test_microcircuit_overrides():
    p = microcircuit_params.derive(overrides={"bg_rate": 9.0, "neuron.t_ref": 1.0}, V0_type="original")
    assert p["bg_rate"] == 9.0 and p["neuron_params"]["t_ref"] == 1.0
    np.testing.assert_allclose(p["V0_mean"], -58.0)
    with pytest.raises(KeyError):
        microcircuit_params.derive(overrides={"no_such_parameter": 1})


def test_brunel_parameters():
    p = brunel_params.derive()
    assert (p["NE"], p["NI"], p["CE"], p["CI"]) == (10000, 2500, 1000, 250)
    assert p["J_in"] == pytest.approx(-0.5)
    assert p["p_rate"] == pytest.approx(20000.0)
    assert p["nu_th"] == pytest.approx(0.01)
    assert p["regimes"] == {"SR": (3, 2), "SI-fast": (6, 4), "AI": (5, 2), "SI-slow": (4.5, 0.9)}


# --------------------------------------------------------------------------
# Siegert function
# --------------------------------------------------------------------------


def _siegert_reference(mu, sigma, V_th, V_r, tau_m, t_ref):
    """Siegert rate (spikes/s) by adaptive quadrature of erfcx(-u)."""
    a, b = (V_r - mu) / sigma, (V_th - mu) / sigma
    integral = quad(lambda u: erfcx(-u), a, b, limit=500, epsabs=0, epsrel=1e-13)[0]
    return 1e3 / (t_ref + tau_m * math.sqrt(math.pi) * integral)


@pytest.mark.parametrize(
    "mu,sigma",
    [(10, 5), (19, 1), (25, 3), (5, 2), (40, 0.5), (18, 8), (-5, 4), (12, 0.7), (100, 10)],
)
def test_siegert_matches_quadrature(mu, sigma):
    got = _siegert(mu, sigma, 20.0, 10.0, 20.0, 2.0)
    assert got == pytest.approx(_siegert_reference(mu, sigma, 20.0, 10.0, 20.0, 2.0), rel=1e-10)


def test_erfcx_integral_matches_quad():
    s0 = np.array([0.0, 0.0, 0.5, 3.0, 0.0, 10.0])
    s1 = np.array([0.0, 1.0, 4.0, 3.5, 50.0, 1e4])
    got = _erfcx_integral(s0, s1)
    ref = [quad(erfcx, x, y, limit=500, epsrel=1e-13)[0] for x, y in zip(s0, s1)]
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-15)


def test_siegert_extreme_inputs_finite():
    mu = np.array([-1e8, -1e4, -100.0, 0.0, 15.0, 20.0, 25.0, 100.0, 1e4, 1e8])
    for tau_s in (0.0, 0.5):
        for sigma in (0.0, 1e-12, 1e-3, 1.0, 10.0, 1e3, 1e6):
            nu = _siegert(mu, sigma, 20.0, 10.0, 20.0, 2.0, tau_s)
            assert np.all(np.isfinite(nu)), (tau_s, sigma, nu)
            assert np.all(nu >= 0.0) and np.all(nu <= 500.0 + 1e-9)
            assert np.all(np.diff(nu) >= -1e-9 * nu[1:])  # non-decreasing in mu
    # deterministic limit: 1/(t_ref + tau_m log((mu - V_r)/(mu - V_th)))
    mu = np.array([21.0, 30.0, 200.0])
    exact = 1e3 / (2.0 + 20.0 * np.log((mu - 10.0) / (mu - 20.0)))
    np.testing.assert_allclose(_siegert(mu, 1e-9, 20.0, 10.0, 20.0, 2.0), exact, rtol=1e-6)
    # strongly sub-threshold: underflows to 0 without overflow, NaN or division warnings
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        assert _siegert(-1e3, 1.0, 20.0, 10.0, 20.0, 2.0) == 0.0


# --------------------------------------------------------------------------
# self-consistent rates
# --------------------------------------------------------------------------


def test_brunel_rate_seed000():
    p = brunel_params.derive(order=2500, g=5.0, eta=2.0)
    for method in ("root", "ode"):
        nu = mf.firing_rates(p, method=method)
        np.testing.assert_allclose(nu, [32.0, 32.0], rtol=5e-3)


@pytest.mark.validation
def test_brunel_rate_against_nest_siegert_example():
    nest = pytest.importorskip("nest")
    p = brunel_params.derive()
    nest.ResetKernel()
    nest.resolution = 0.1
    tau_m, J, CE, CI = 20.0, p["J_ex"], p["CE"], p["CI"]
    npar = {"tau_m": tau_m, "t_ref": 2.0, "theta": 20.0, "V_reset": 0.0}
    se = nest.Create("siegert_neuron", params=npar)
    si = nest.Create("siegert_neuron", params=npar)
    drive = nest.Create("siegert_neuron", params={"mean": p["p_rate"]})
    for src, k, w in ((drive, 1, J), (se, CE, J), (si, CI, p["J_in"])):
        syn = {
            "drift_factor": tau_m * 1e-3 * k * w,
            "diffusion_factor": tau_m * 1e-3 * k * w**2,
            "synapse_model": "diffusion_connection",
        }
        nest.Connect(src, se + si, "all_to_all", syn)
    nest.Simulate(50.0)
    nest_rates = np.array([se.get("rate"), si.get("rate")])
    np.testing.assert_allclose(mf.firing_rates(p), nest_rates, rtol=1e-6)


def test_pseudo_time_and_root_agree():
    cases = [microcircuit_params.derive()]
    cases += [brunel_params.derive(g=g, eta=eta) for g, eta in brunel_params.REGIMES.values()]
    cases += [brunel_params.derive(g=g, eta=eta, V_reset=10.0) for g, eta in brunel_params.REGIMES.values()]
    for p in cases:
        a = network_arrays(p)

        def phi(x, a=a):
            return _rate_map(x, a)

        n = len(a["populations"])
        nu_ode = _solve_pseudo_time(phi, np.zeros(n), tol=1e-10)
        # root finder from many starts: exactly one solution, the same one
        fps = mf.fixed_points(p)
        assert len(fps) == 1 and fps[0]["stable"]
        np.testing.assert_allclose(fps[0]["rates"], nu_ode, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(phi(nu_ode), nu_ode, rtol=1e-10, atol=1e-10)
        # public API, both methods, default start
        np.testing.assert_allclose(mf.firing_rates(p, "root"), mf.firing_rates(p, "ode"), rtol=1e-9, atol=1e-10)


def _bistable_network():
    """One excitatory population with strong recurrence: low, middle and high fixed point."""
    return {
        "populations": ["E"],
        "K": np.array([[200.0]]),
        "J": np.array([[0.1]]),
        "tau_m": np.array([20.0]),
        "t_ref": np.array([2.0]),
        "tau_s": np.array([0.0]),
        "V_th_rel": np.array([20.0]),
        "V_reset_rel": np.array([10.0]),
        "K_ext": np.array([1000.0]),
        "J_ext": np.array([0.1]),
        "nu_ext": 8.0,
        "I_e": np.array([0.0]),
        "C_m": np.array([1.0]),
    }


def test_multiple_solutions_reported():
    a = _bistable_network()

    def phi(x):
        return _rate_map(x, a)

    starts = [np.array([v]) for v in (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 50.0, 200.0, 450.0)]
    fps = _fixed_points(phi, starts)
    assert len(fps) == 3
    assert [f["stable"] for f in fps] == [True, False, True]
    for f in fps:
        np.testing.assert_allclose(phi(f["rates"]), f["rates"], rtol=1e-9, atol=1e-12)
    lo, hi = fps[0]["rates"], fps[2]["rates"]
    assert 1e-3 < lo[0] < 1.0 and 1.0 < fps[1]["rates"][0] < 20.0 and hi[0] > 100.0
    # the pseudo-time dynamics reach the stable ones from either side
    np.testing.assert_allclose(_solve_pseudo_time(phi, np.array([0.0])), lo, rtol=1e-7)
    np.testing.assert_allclose(_solve_pseudo_time(phi, np.array([450.0])), hi, rtol=1e-9)


def test_public_fixed_points_brunel_unique():
    fps = mf.fixed_points(brunel_params.derive())
    assert len(fps) == 1 and fps[0]["stable"]
    np.testing.assert_allclose(fps[0]["rates"], mf.firing_rates(brunel_params.derive()), rtol=1e-9)


def test_external_drive_sweep_brunel():
    nu_ext = np.arange(0.0, 100.0 + 1e-9, 5.0)  # spikes/s per external input
    prev = np.zeros(2)
    for g in (3.0, 5.0, 6.0):
        prev = np.zeros(2)
        for x in nu_ext:
            p = brunel_params.derive(g=g, eta=x / 10.0)  # nu_th = 10 spikes/s per input
            assert p["nu_ext"] == pytest.approx(x)
            for method in ("root", "ode"):
                nu = mf.firing_rates(p, method=method)
                assert np.all(np.isfinite(nu)) and np.all(nu >= 0.0), (g, x, nu)
                assert np.all(nu < 500.0)
            assert np.all(nu >= prev - 1e-9)  # monotone in the drive
            prev = nu


def test_mean_and_std_input_formula():
    nu = np.array([3.0, 7.0])
    K = np.array([[100.0, 50.0], [80.0, 20.0]])
    J = np.array([[0.2, -0.8], [0.1, -0.5]])
    mu = _mean_input(nu, K, J, 10.0, np.array([200.0, 300.0]), 0.15, 5.0, np.array([100.0, 0.0]), 250.0)
    sig = _std_input(nu, K, J, 10.0, np.array([200.0, 300.0]), 0.15, 5.0)
    mu_ref = 1e-2 * (K * J @ nu + np.array([200.0, 300.0]) * 0.15 * 5.0) + 10.0 * np.array([100.0, 0.0]) / 250.0
    sig_ref = np.sqrt(1e-2 * (K * J**2 @ nu + np.array([200.0, 300.0]) * 0.15**2 * 5.0))
    np.testing.assert_allclose(mu, mu_ref)
    np.testing.assert_allclose(sig, sig_ref)
    # pA -> mV as NNMT: w tau_s / C_m
    assert mf.psc_to_mV(87.8, 0.5, 250.0) == pytest.approx(87.8 * 0.5 / 250.0)


def test_microcircuit_rates_match_models_md():
    nu = mf.firing_rates(microcircuit_params.derive())
    print("microcircuit mean-field rates (spikes/s):", np.array2string(nu, precision=4))
    np.testing.assert_array_equal(np.round(nu, 2), MODELS_MD_MEANFIELD)


# --------------------------------------------------------------------------
# linear response
# --------------------------------------------------------------------------


def test_parabolic_cylinder_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    a = np.array([-0.5 + 0.1j, -0.5 + 5.0j, -0.5 + 25.0j, 0.5 + 25.0j])
    y = np.array([-6.0, -2.0, 0.0, 1.5, 4.0])
    u, du, lg = _pcf_U(a, y)
    for i, ai in enumerate(a):
        ref = np.array([complex(mpmath.pcfu(complex(ai), float(v))) for v in y])
        dref = np.array([complex(mpmath.diff(lambda t: mpmath.pcfu(complex(ai), t), float(v))) for v in y])
        ours, dours = u[i] * np.exp(lg[i]), du[i] * np.exp(lg[i])
        c = ref[2] / ours[2]  # U is returned up to a constant per order
        np.testing.assert_allclose(ours * c, ref, rtol=1e-9)
        np.testing.assert_allclose(dours * c, dref, rtol=1e-9)


def test_transfer_function_low_frequency_limit():
    # delta synapses: H(0) = d nu / d mu of the Siegert formula
    mu, sigma = np.array([15.0, 19.0, 25.0]), np.array([5.0, 2.0, 3.0])
    args = (mu, sigma, 20.0, 0.0, 2.0, 20.0, 10.0)
    f = np.array([0.0, 1e-4])
    h = 1e-5
    fd = (_siegert(mu + h, sigma, 20.0, 10.0, 20.0, 2.0) - _siegert(mu - h, sigma, 20.0, 10.0, 20.0, 2.0)) / (2 * h)
    np.testing.assert_allclose(_dsiegert_dmu(mu, sigma, 20.0, 10.0, 20.0, 2.0), fd, rtol=1e-6)
    # exact response with the refractory phase: continuous at f = 0
    H = _transfer_function_shift(*args, freqs=f, refractory=True)
    np.testing.assert_allclose(H[0].real, fd, rtol=1e-6)
    np.testing.assert_allclose(H[1], H[0], rtol=1e-5)
    # NNMT / Schuecker 2015 formula (default): f -> 0 gives dnu/dmu / (1 - nu t_ref)
    H = _transfer_function_shift(*args, freqs=f)
    nu = _siegert(mu, sigma, 20.0, 10.0, 20.0, 2.0)
    np.testing.assert_allclose(H[0].real, fd, rtol=1e-6)
    np.testing.assert_allclose(H[1], fd / (1.0 - nu * 2e-3), rtol=1e-5)


def test_delay_kernel():
    f = np.array([0.0, 10.0, 200.0, 1000.0])
    d = np.array([[1.5, 0.75], [1.5, 0.75]])
    s = 0.5 * d
    np.testing.assert_allclose(_delay_kernel(f, d, s, "none"), np.exp(-2e-3j * np.pi * f[:, None, None] * d))
    # truncated gaussian: NNMT's closed form (erf of complex argument), truncation at 0
    D = _delay_kernel(f, d, s, "truncated_gaussian")
    w = 2e-3 * np.pi * f[:, None, None]
    a0 = 0.5 * (1 + erf((-d / s + 1j * w * s) / np.sqrt(2)))
    a1 = 0.5 * (1 + erf((-d / s) / np.sqrt(2)))
    ref = (1 - a0) / (1 - a1) * np.exp(-0.5 * (s * w) ** 2) * np.exp(-1j * w * d)
    np.testing.assert_allclose(D, ref, rtol=1e-12, atol=1e-15)
    # general truncation point: direct integration of the characteristic function
    dmin, mean, sd, om = 0.05, 0.75, 0.375, 2e-3 * np.pi * 300.0
    pdf = lambda x: np.exp(-0.5 * ((x - mean) / sd) ** 2)  # noqa: E731
    norm = quad(pdf, dmin, np.inf)[0]
    re = quad(lambda x: np.cos(om * x) * pdf(x), dmin, np.inf, epsabs=1e-14)[0] / norm
    im = -quad(lambda x: np.sin(om * x) * pdf(x), dmin, np.inf, epsabs=1e-14)[0] / norm
    got = _delay_kernel(np.array([300.0]), np.array(mean), np.array(sd), "truncated_gaussian", dmin)[0]
    assert got == pytest.approx(re + 1j * im, rel=1e-10)


def test_power_spectra_formula():
    rng = np.random.default_rng(1)
    W = 0.3 * (rng.standard_normal((3, 4, 4)) + 1j * rng.standard_normal((3, 4, 4)))
    nu, N = np.array([1.0, 2.0, 3.0, 4.0]), np.array([100.0, 50.0, 80.0, 20.0])
    P = _power_spectra(nu, W, N)
    for k in range(3):
        Q = np.linalg.inv(np.eye(4) - W[k])
        np.testing.assert_allclose(P[k], np.abs(np.diag(Q @ np.diag(nu / N) @ Q.conj().T)), rtol=1e-12)


# --------------------------------------------------------------------------
# comparison with NNMT 1.3.0
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nnmt_microcircuit():
    """NNMT results for the microcircuit built from OUR derived parameters."""
    nnmt = pytest.importorskip("nnmt", reason="nnmt (1.3.0) not importable: cannot cross-check")
    Q = nnmt.ureg.Quantity
    p = microcircuit_params.derive()
    npar = p["neuron_params"]
    n = p["num_pops"]
    network_params = {
        "populations": p["populations"],
        "N": p["num_neurons"].astype(float),
        "C": Q(npar["C_m"], "pF"),
        "tau_m": Q(npar["tau_m"], "ms"),
        "tau_s": Q(npar["tau_syn_ex"], "ms"),
        "tau_r": Q(npar["t_ref"], "ms"),
        "V_th_abs": Q(npar["V_th"], "mV"),
        "V_0_abs": Q(npar["V_reset"], "mV"),  # E_L == V_reset in the microcircuit
        "K": p["indegrees"],
        "W": Q(p["weight_matrix_mean"], "pA"),
        "K_ext": p["K_ext"].astype(float),
        "W_ext": Q(np.full(n, p["weight_ext"]), "pA"),
        "nu_ext": Q(p["bg_rate"], "Hz"),
        "Delay": Q(p["delay_matrix_mean"], "ms"),
        "Delay_sd": Q(p["delay_matrix_std"], "ms"),
        "delay_dist": "truncated_gaussian",
    }
    assert npar["E_L"] == npar["V_reset"] and np.all(p["DC_amp"] == 0)
    net = nnmt.models.Basic(network_params)
    nu = np.asarray(nnmt.lif.exp.firing_rates(net, method="shift"))
    nnmt.lif.exp.mean_input(net)
    nnmt.lif.exp.std_input(net)

    def mag(x):
        return np.asarray(getattr(x, "magnitude", x))

    tf = mag(nnmt.lif.exp.transfer_function(net, freqs=NNMT_FREQS, method="shift"))
    nnmt.network_properties.delay_dist_matrix(net, freqs=NNMT_FREQS)
    nnmt.lif.exp.effective_connectivity(net)
    P = mag(nnmt.lif.exp.power_spectra(net))
    return {"params": p, "rates": nu, "tf": tf * 1e-3, "P": P}  # tf: Hz/V -> spikes/s per mV


def test_microcircuit_rates_match_nnmt(nnmt_microcircuit):
    ref = nnmt_microcircuit["rates"]
    ours = mf.firing_rates(nnmt_microcircuit["params"])
    print("ours:", np.array2string(ours, precision=5), "\nnnmt:", np.array2string(ref, precision=5))
    np.testing.assert_allclose(ours, ref, rtol=0.01)


def test_transfer_function_and_spectra_match_nnmt(nnmt_microcircuit):
    p = nnmt_microcircuit["params"]
    nu = mf.firing_rates(p)
    tf = mf.transfer_function(p, NNMT_FREQS, nu=nu)
    P = mf.power_spectra(p, NNMT_FREQS, nu=nu)
    dev_tf = np.max(np.abs(tf - nnmt_microcircuit["tf"]) / np.abs(nnmt_microcircuit["tf"]))
    dev_P = np.max(np.abs(P - nnmt_microcircuit["P"]) / nnmt_microcircuit["P"])
    print(f"max rel deviation from NNMT: transfer function {dev_tf:.2e}, power spectra {dev_P:.2e}")
    assert dev_tf < 0.05
    assert dev_P < 0.05
    # array-level path gives the same
    a = network_arrays(p)
    wp = mf.working_point(p, nu)
    tf2 = _transfer_function_shift(
        wp["mu"], wp["sigma"], a["tau_m"], a["tau_s"], a["t_ref"], a["V_th_rel"], a["V_reset_rel"], NNMT_FREQS
    )
    D = _delay_kernel(NNMT_FREQS, a["delay_mean"], a["delay_std"], "truncated_gaussian")
    P2 = _power_spectra(nu, _effective_connectivity(tf2, D, a["J"], a["K"], a["tau_m"]), a["N"])
    np.testing.assert_allclose(tf2, tf, rtol=1e-12)
    np.testing.assert_allclose(P2, P, rtol=1e-12)
