r"""Stationary linear stability: static effective connectivity, spectral bound, a low-pass
rate model fitted to the transfer function, and the characteristic equation of a network
with one constant delay (Lambert W branches).

Static effective connectivity of one synapse (Helias et al. 2013, eq. A.3; NNMT
``lif.exp._pairwise_effective_connectivity``): the change of the target's rate per input
spike/s, from the mean and the variance of its input, with the shifted bounds
``y~ = y + sqrt(tau_s/tau_m) |zeta(1/2)|/sqrt(2)`` and ``y = (V - mu)/sigma``::

    w_ij = a_i J_ij + b_i J_ij^2
    a_i  = sqrt(pi) (tau_m nu_i)^2 / sigma_i     [erfcx(-y~_th) - erfcx(-y~_r)]      (1/mV)
    b_i  = sqrt(pi) (tau_m nu_i)^2 / (2 sigma_i^2) [erfcx(-y~_th) y_th - erfcx(-y~_r) y_r]  (1/mV^2)

(``a_i = tau_m dnu/dmu``). A population i receives K_ij such synapses from population j,
so the population-level matrix is ``W0_ij = K_ij w_ij`` (dimensionless, the zero-frequency
limit of the rate dynamics' coupling); its spectral bound ``max Re eig(W0)`` must stay
below 1 for the stationary state to be stable.

Rate model (Senk et al. 2020, Sec. F): ``H_i(w) ~ h0_i / (1 + i w tau_i)`` fitted by least
squares to ``|H_i|`` over the given frequencies; weights ``W_rate = 1e-3 h0 tau_m J K``.

Constant delay d, rate dynamics ``tau dr/dt = -r + c r(t - d)`` for one eigenvalue c of the
coupling (e.g. of ``W_rate``, or of a spatial Fourier mode of it): ``1 + lambda tau =
c exp(-lambda d)`` has the solutions ``lambda_B = -1/tau + W_B(c d/tau exp(d/tau)) / d`` on
the branches B of the Lambert W function (Helias et al. 2013 eq. 8, Senk et al. 2020 eq. 7).

Units: ms, mV, spikes/s, Hz; eigenvalues lambda in 1/ms.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize as sopt
from scipy.special import lambertw

from .inputs import network_arrays
from .siegert import _times_erfcx_neg, colored_noise_shift


def _pairwise_effective_connectivity(nu, mu, sigma, J, V_th_rel, V_reset_rel, tau_m, tau_s):
    """Return ``w = a J + b J^2`` (dimensionless, shape of J): rate response per synapse.

    nu (spikes/s), mu, sigma (mV), tau_m, tau_s (ms), V_th_rel, V_reset_rel (mV): per
    target population (rows of J); J (mV), targets x sources (any matrix, e.g. the
    neuron-to-neuron weights of a small network). See the module docstring.
    """
    nu, mu, sigma, V_th_rel, V_reset_rel, tau_m, tau_s = (
        np.atleast_1d(np.asarray(x, float)) for x in (nu, mu, sigma, V_th_rel, V_reset_rel, tau_m, tau_s))
    J = np.asarray(J, float)
    # a = tau_m dnu/dmu (1/mV) as in siegert._dsiegert_dmu, but at the given rates nu
    shift = colored_noise_shift(tau_s, tau_m)
    y_th = (V_th_rel - mu) / sigma
    y_r = (V_reset_rel - mu) / sigma
    tn = 1e-3 * tau_m * nu  # dimensionless
    a = np.sqrt(np.pi) * tn / sigma * (_times_erfcx_neg(tn, y_th + shift) - _times_erfcx_neg(tn, y_r + shift))
    b = np.sqrt(np.pi) * tn / (2.0 * sigma**2) * (
        _times_erfcx_neg(tn, y_th + shift) * y_th - _times_erfcx_neg(tn, y_r + shift) * y_r)
    return a[:, None] * J + b[:, None] * J**2


def static_effective_connectivity(params: dict, nu=None) -> np.ndarray:
    """Return the population-level static coupling ``W0 = K * w`` (n x n, dimensionless).

    params: a ``derive()`` / ``params_from_network`` dict; nu: working-point rates
    (spikes/s), solved self-consistently if None. ``W0_ij`` = change of the rate of
    population i (spikes/s) per spike/s of population j (module docstring).
    """
    from .rates import working_point

    wp = working_point(params, nu)
    a = network_arrays(params)
    w = _pairwise_effective_connectivity(wp["rates"], wp["mu"], wp["sigma"], a["J"], a["V_th_rel"],
                                         a["V_reset_rel"], a["tau_m"], a["tau_s"])
    return a["K"] * w


def _spectral_bound(W):
    """Return ``max Re eig(W)`` (dimensionless) of a square matrix W.

    (NNMT's ``_spectral_bound`` returns the absolute value of this number.)
    """
    return float(np.max(np.linalg.eigvals(np.asarray(W)).real))


def spectral_bound(params: dict, nu=None) -> float:
    """Return the spectral bound ``max Re eig(W0)`` of the static coupling (dimensionless).

    Below 1: the stationary working point is linearly stable against slow (rate) modes.
    """
    return _spectral_bound(static_effective_connectivity(params, nu))


def _fit_transfer_function(tf, freqs):
    """Fit ``h0/(1 + i w tau)`` to each column of a transfer function.

    tf: (n_freqs, n_pops) complex, spikes/s per mV; freqs in Hz (w = 2 pi f).
    Returns (tf_fit (n_freqs, n_pops) complex, tau (ms, n_pops), h0 (spikes/s per mV,
    n_pops), fit_error (n_pops)): the least-squares fit of the modulus |H| (as NNMT); tau's
    sign (and the fit's imaginary part) is flipped when the sign of the imaginary part at
    the highest frequency disagrees with tf's; fit_error = sqrt(rel. err(tau)^2 +
    rel. err(h0)^2) from the fit's covariance. ValueError for a column that is 0 (a
    population that does not fire).
    """
    tf = np.asarray(tf)
    w = 2e-3 * np.pi * np.asarray(freqs, float)  # rad/ms

    def model(om, tau, h0):
        return h0 / (1.0 + 1j * om * tau)

    def model_abs(om, tau, h0):
        return np.abs(model(om, tau, h0))

    n = tf.shape[1]
    fit = np.zeros(tf.shape, complex)
    tau, h0, err = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        y = np.abs(tf[:, i])
        if not np.any(y > 0):
            raise ValueError(f"the transfer function of population {i} is 0 (it does not fire): "
                             "no rate model to fit")
        # start: gain at the lowest frequency, corner where |H| falls to 1/sqrt(2) of it
        g0 = y[np.argmin(w)]
        below = np.nonzero(y < g0 / np.sqrt(2.0))[0]
        t0 = 1.0 / w[below[0]] if below.size and w[below[0]] > 0 else 1.0 / max(np.max(w), 1e-9)
        p, cov = sopt.curve_fit(model_abs, w, y, p0=(t0, g0), xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                maxfev=20000)
        tau[i], h0[i] = p
        fit[:, i] = model(w, tau[i], h0[i])
        if (tf[-1, i].imag > 0) != (fit[-1, i].imag > 0):
            fit[:, i].imag *= -1
            tau[i] *= -1
        sd = np.sqrt(np.diag(cov))
        err[i] = np.hypot(sd[0] / tau[i], sd[1] / h0[i])
    return fit, tau, h0, err


def fit_transfer_function(params: dict, freqs, nu=None) -> dict:
    """Return the low-pass rate model fitted to the network's transfer function at freqs (Hz).

    Keys: ``tau_ms`` (n_pops), ``h0`` (spikes/s per mV), ``W_rate`` (n x n, dimensionless
    ``1e-3 h0_i tau_m J_ij K_ij``), ``fit_error`` (n_pops), ``tf`` and ``tf_fit``
    ((n_freqs, n_pops) complex, spikes/s per mV).
    """
    from .linear import transfer_function

    a = network_arrays(params)
    tf = transfer_function(params, freqs, nu=nu)
    fit, tau, h0, err = _fit_transfer_function(tf, freqs)
    W_rate = 1e-3 * (h0 * a["tau_m"])[:, None] * a["J"] * a["K"]
    return {"tau_ms": tau, "h0": h0, "W_rate": W_rate, "fit_error": err, "tf": tf, "tf_fit": fit}


def lambertw_eigenvalues(coupling, delay_ms: float, tau_ms: float, branches=(0,)) -> np.ndarray:
    """Return the eigenvalues lambda (1/ms, complex) of ``tau dr/dt = -r + c r(t - d)``.

    coupling: eigenvalue(s) c of the (e.g. spatially Fourier-transformed) coupling, any
    shape, one per mode; delay_ms d > 0, tau_ms > 0: the constant delay and the time
    constant; branches: Lambert W branch numbers. Returns shape (len(branches),
    *coupling.shape): ``lambda_B = -1/tau + W_B(c d/tau e^{d/tau}) / d``, the solutions of
    ``1 + lambda tau = c e^{-lambda d}``. The principal branch B = 0 holds the one with the
    largest real part for real c.
    """
    if not (np.isfinite(delay_ms) and delay_ms > 0):
        raise ValueError(f"delay_ms must be > 0, got {delay_ms}")
    if not (np.isfinite(tau_ms) and tau_ms > 0):
        raise ValueError(f"tau_ms must be > 0, got {tau_ms}")
    c = np.asarray(coupling, complex)
    z = c * delay_ms / tau_ms * np.exp(delay_ms / tau_ms)
    return np.stack([-1.0 / tau_ms + lambertw(z, int(k)) / delay_ms for k in np.atleast_1d(branches)])


def linear_stability(params: dict, freqs=None, nu=None, branches=(-2, -1, 0, 1, 2)) -> dict:
    """Linear stability of the fitted rate model of a network with one constant delay.

    Fits the rate model (:func:`fit_transfer_function`, default freqs 1-1000 Hz) and solves
    the characteristic equation for every eigenvalue of ``W_rate`` on ``branches``. Needs
    one fixed delay for all projections and (to 1e-6) one fitted tau for all populations;
    raises ValueError otherwise. Returns ``{"tau_ms", "delay_ms", "coupling_eigenvalues",
    "branches", "eigenvalues" ((n_branches, n) complex, 1/ms), "max_real_per_ms",
    "unstable" (bool), "oscillation_hz" (imaginary part / 2 pi of the leading eigenvalue)}``.
    """
    a = network_arrays(params)
    d = np.asarray(a["delay_mean"], float)
    K = np.asarray(a["K"], float)
    dd = d[K > 0]
    if a["delay_dist"] not in ("none",) and np.any(np.asarray(a["delay_std"])[K > 0] > 0):
        raise ValueError("linear_stability needs fixed delays (delay_std = 0)")
    if dd.size == 0 or np.ptp(dd) > 1e-12 * np.max(dd):
        raise ValueError(f"linear_stability needs one delay for all projections, got {np.unique(dd)} ms")
    freqs = np.geomspace(1.0, 1000.0, 200) if freqs is None else np.asarray(freqs, float)
    fit = fit_transfer_function(params, freqs, nu)
    tau = fit["tau_ms"]
    if np.ptp(tau) > 1e-6 * np.max(np.abs(tau)):
        raise ValueError(f"linear_stability needs one rate time constant, fitted {tau} ms")
    c = np.linalg.eigvals(fit["W_rate"])
    lam = lambertw_eigenvalues(c, float(dd[0]), float(tau[0]), branches)
    k = np.unravel_index(np.argmax(lam.real), lam.shape)
    return {"tau_ms": float(tau[0]), "delay_ms": float(dd[0]), "coupling_eigenvalues": c,
            "branches": list(np.atleast_1d(branches)), "eigenvalues": lam,
            "max_real_per_ms": float(lam.real[k]), "unstable": bool(lam.real[k] > 0),
            "oscillation_hz": float(abs(lam.imag[k]) * 1e3 / (2 * np.pi))}
