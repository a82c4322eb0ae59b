r"""Spike-train statistics at the working point: ISI CVs, pairwise covariances, and the
external rates that set a chosen working point.

ISI CV of a LIF neuron driven by white noise (Brunel 2000, appendix A.1), with the
colored-noise shift of the bounds as for the rates::

    CV^2 = 2 pi (nu tau_m)^2 Int_{y_r}^{y_th} dx e^{x^2} I(x),
    I(x) = Int_{-inf}^{x} e^{y^2} (1 + erf y)^2 dy

Evaluated without forming e^{x^2}: with ``m = max(y_th, 0)`` the outer integrand is
multiplied by ``e^{-2 m^2}`` and ``nu`` by ``e^{m^2}``; ``I`` is written through bounded
integrands (``erfc(s) erfcx(s)``, ``erfcx``) and Dawson's function::

    x <= 0:  I(x) = G(-x)
    x > 0:   I(x) = 2 G(0) - G(x) - 4 Int_0^x erfcx + 4 e^{x^2} dawsn(x),
    G(a) = Int_a^inf erfc(s) erfcx(s) ds,   used as  e^{a^2} G(a) = Int_0^inf erfcx(a+t)^2 e^{-2at-t^2} dt

Pairwise covariances (linear response, renewal spike trains; Layer et al. 2023 eqs. 9, 11,
as NNMT ``lif.exp._pairwise_covariances``): for an effective connectivity W (here the
static population coupling ``W0`` of :mod:`.stability`), ``A = (1 - W)^-1``, autocovariances
``a_i = CV_i^2 nu_i``, noise strengths ``D = (A∘A)^-1 a`` (elementwise square), and
``C = A diag(D) A^T`` (spikes/s; ``diag C = a``).

External rates for a fixed input (Helias et al. 2013 eq. E1, Senk et al. 2020 appendix F):
the rates ``nu_ext`` (spikes/s) of the external sources that give every population the mean
``mu_set`` and standard deviation ``sigma_set`` (mV) when the network fires at the rates
``Phi(mu_set, sigma_set)``: the least-squares solution of
``[K_ext J_ext; K_ext J_ext^2] nu_ext = [mu_ext; sigma_ext^2] / (1e-3 tau_m)``, the
external part being what the recurrent input does not provide.

Units: ms, mV, pA, pF, spikes/s.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import dawsn, erfcx

from .inputs import _mean_input, _std_input, network_arrays
from .siegert import _erfcx_integral, _siegert, colored_noise_shift

_QUAD = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 500}


def _G_scaled(a: float) -> float:
    """Return ``e^{a^2} Int_a^inf erfc(s) erfcx(s) ds`` for a >= 0 (dimensionless).

    Integrand written as ``erfcx(a + t)^2 e^{-2 a t - t^2}`` (t = s - a), bounded for any a.
    """
    return quad(lambda t: erfcx(a + t) ** 2 * math.exp(-2.0 * a * t - t * t), 0.0, np.inf, **_QUAD)[0]


def _cv_scaled_integral(y_r: float, y_th: float, m: float) -> float:
    """Return ``e^{-2 m^2} Int_{y_r}^{y_th} e^{x^2} I(x) dx`` (module docstring), m >= y_th, m >= 0."""
    g0 = _G_scaled(0.0)
    e2m = math.exp(-2.0 * m * m)

    def outer(x):
        if x <= 0.0:  # e^{x^2} G(-x)
            return e2m * _G_scaled(-x)
        # e^{x^2} [2 G(0) - G(x) - 4 Int_0^x erfcx] + 4 e^{2 x^2} dawsn(x), scaled by e^{-2 m^2}
        return (math.exp(x * x - 2 * m * m) * (2.0 * g0 - 4.0 * float(_erfcx_integral(0.0, x)))
                - e2m * _G_scaled(x) + 4.0 * math.exp(2 * x * x - 2 * m * m) * dawsn(x))

    pts = [p for p in (0.0,) if y_r < p < y_th]
    return quad(outer, y_r, y_th, points=pts or None, **_QUAD)[0]


def _cvs(nu, mu, sigma, V_th_rel, V_reset_rel, tau_m, tau_s):
    """Return the ISI CV (dimensionless) per population.

    nu (spikes/s), mu, sigma (mV, mu relative to E_L), V_th_rel, V_reset_rel (mV),
    tau_m, tau_s (ms; tau_s = 0 for delta synapses); broadcast to one value per
    population. NaN where nu is 0 (no spikes).
    """
    nu, mu, sigma, V_th_rel, V_reset_rel, tau_m, tau_s = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, float)) for x in (nu, mu, sigma, V_th_rel, V_reset_rel, tau_m, tau_s)))
    shift = colored_noise_shift(tau_s, tau_m)
    out = np.full(nu.shape, np.nan)
    for i in range(nu.size):
        if not nu[i] > 0:
            continue
        y_th = (V_th_rel[i] - mu[i]) / sigma[i] + shift[i]
        y_r = (V_reset_rel[i] - mu[i]) / sigma[i] + shift[i]
        m = max(y_th, 0.0)
        # (nu tau e^{m^2})^2 formed in logs: nu is ~e^{-y_th^2} for strongly sub-threshold input
        log_nt = math.log(1e-3 * nu[i] * tau_m[i]) + m * m
        cv2 = 2.0 * math.pi * math.exp(2.0 * log_nt) * _cv_scaled_integral(y_r, y_th, m)
        out[i] = math.sqrt(cv2)
    return out


def cvs(params: dict, nu=None) -> np.ndarray:
    """Return the ISI CV (dimensionless) of each population at the working point.

    params: a ``derive()`` / ``params_from_network`` dict; nu: rates (spikes/s), solved
    self-consistently if None.
    """
    from .rates import working_point

    wp = working_point(params, nu)
    a = network_arrays(params)
    return _cvs(wp["rates"], wp["mu"], wp["sigma"], a["V_th_rel"], a["V_reset_rel"], a["tau_m"], a["tau_s"])


def _pairwise_covariances(W, nu, cv, return_noise_strength: bool = False):
    """Return the covariance matrix C (spikes/s) for effective connectivity W (module docstring).

    W: (n, n) dimensionless; nu (spikes/s), cv (dimensionless) per unit. With
    ``return_noise_strength`` also the noise strengths D (spikes/s).
    """
    W = np.asarray(W, float)
    A = np.linalg.inv(np.eye(W.shape[0]) - W)
    auto = np.asarray(cv, float) ** 2 * np.asarray(nu, float)
    D = np.linalg.solve(A * A, auto)
    C = A @ np.diag(D) @ A.T
    return (C, D) if return_noise_strength else C


def pairwise_covariances(params: dict, nu=None) -> np.ndarray:
    """Return the linear-response covariance matrix (n x n, spikes/s) of the populations.

    Uses the static population coupling ``W0`` (:func:`.stability.static_effective_connectivity`),
    the working-point rates and the ISI CVs; ``C_ii = CV_i^2 nu_i`` (module docstring).
    """
    from .rates import working_point
    from .stability import static_effective_connectivity

    wp = working_point(params, nu)
    return _pairwise_covariances(static_effective_connectivity(params, wp["rates"]), wp["rates"],
                                 cvs(params, wp["rates"]))


def _external_rates_for_fixed_input(mu_set, sigma_set, J, K, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s,
                                    J_ext, K_ext, I_e=0.0, C_m=1.0):
    """Return the external source rates (spikes/s, one per column of K_ext) for (mu_set, sigma_set).

    mu_set, sigma_set (mV) per population; J (mV), K: recurrent weights and in-degrees
    (targets x sources); V_th_rel, V_reset_rel (mV), tau_m, t_ref, tau_s (ms); J_ext (mV)
    and K_ext: (populations x external sources) weights and in-degrees; I_e (pA), C_m (pF)
    a DC input. Raises ValueError when a rate comes out negative (working point not
    reachable with these sources).
    """
    mu_set, sigma_set, tau_m = (np.atleast_1d(np.asarray(x, float)) for x in (mu_set, sigma_set, tau_m))
    n = np.asarray(K).shape[0]
    mu_set, sigma_set, tau_m = (np.broadcast_to(x, (n,)) for x in (mu_set, sigma_set, tau_m))
    nu = _siegert(mu_set, sigma_set, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s)
    mu_loc = _mean_input(nu, K, J, tau_m, I_e=I_e, C_m=C_m)
    sigma_loc = _std_input(nu, K, J, tau_m)
    J_ext = np.asarray(J_ext, float)
    K_ext = np.asarray(K_ext, float)
    lhs = np.concatenate([K_ext * J_ext, K_ext * J_ext**2], axis=0)
    rhs = np.concatenate([(mu_set - mu_loc), (sigma_set**2 - sigma_loc**2)]) / np.tile(1e-3 * tau_m, 2)
    nu_ext = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    if np.any(nu_ext < 0):
        raise ValueError(f"negative external rate {nu_ext} spikes/s: the working point "
                         f"(mu, sigma) = ({mu_set}, {sigma_set}) mV is not reachable")
    return nu_ext


def external_rates_for_fixed_input(net, mu_set, sigma_set) -> dict:
    """Return the rates (spikes/s) of a Network's Poisson generators that set (mu_set, sigma_set).

    net: a :class:`distsim.spec.Network`; mu_set, sigma_set (mV, mu relative to E_L):
    scalars or one value per driven population (the order of ``params_from_network``).
    Each stationary ``poisson_generator`` is one unknown (its ``rate_Hz``, one train per
    target neuron, weight converted to mV as for the rates); a DC input stays as it is.
    Returns ``{"devices": [device index, ...], "rates_Hz": array, "target_rates":
    population -> spikes/s, "achieved_mu_mV", "achieved_sigma_mV": population -> mV}``: the
    least-squares solution, equal to the target where one exists.
    """
    from .network import _device_weights_mV, params_from_network

    params = params_from_network(net)
    a = network_arrays(params)
    pops = list(params["populations"])
    idx, J_ext = _device_weights_mV(net, params)
    if not idx:
        raise ValueError(f"network {net.name!r} has no stationary poisson_generator to adjust")
    K_ext = np.zeros((len(pops), len(idx)))
    Jx = np.zeros((len(pops), len(idx)))
    for c, (i, jm) in enumerate(zip(idx, J_ext)):
        for t in net.devices[i].targets:
            if t in pops:
                K_ext[pops.index(t), c] = 1.0
                Jx[pops.index(t), c] = jm
    n = len(pops)
    mu_set = np.broadcast_to(np.asarray(mu_set, float), (n,))
    sigma_set = np.broadcast_to(np.asarray(sigma_set, float), (n,))
    rates = _external_rates_for_fixed_input(mu_set, sigma_set, a["J"], a["K"], a["V_th_rel"], a["V_reset_rel"],
                                            a["tau_m"], a["t_ref"], a["tau_s"], Jx, K_ext, a["I_e"], a["C_m"])
    target = _siegert(mu_set, sigma_set, a["V_th_rel"], a["V_reset_rel"], a["tau_m"], a["t_ref"], a["tau_s"])
    # the input these rates give (equal to the target when the system is solvable)
    mu = _mean_input(target, a["K"], a["J"], a["tau_m"], K_ext,
                     Jx, rates, a["I_e"], a["C_m"])
    sigma = _std_input(target, a["K"], a["J"], a["tau_m"], K_ext, Jx, rates)
    return {"devices": list(idx), "rates_Hz": rates, "target_rates": dict(zip(pops, map(float, target))),
            "achieved_mu_mV": dict(zip(pops, map(float, mu))),
            "achieved_sigma_mV": dict(zip(pops, map(float, sigma)))}
