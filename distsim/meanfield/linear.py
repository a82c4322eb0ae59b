"""Linear response: LIF transfer function, delay kernels, effective connectivity, spectra.

Transfer function ('shift' method, Schuecker et al. 2015; as NNMT
``lif.exp._transfer_function_shift``), for the response of the rate to a
modulation of the synaptic input current, at angular frequency w (rad/ms)::

    H(w) = sqrt(2)/sigma * nu/(1 + i w tau_m) * frac / (1 + i w tau_s)
    frac = [Psi'(z, x_th) - Psi'(z, x_r)] / [Psi(z, x_th) - Psi(z, x_r)]
    z = -1/2 + i w tau_m,   x = sqrt(2) (V - mu)/sigma + sqrt(2)*shift
    Psi(z, x) = exp(x^2/4) U(z, -x),   Psi'(z, x) = (1/2 + z) Psi(z + 1, x)

U(a, y) is the parabolic cylinder function; nu the Siegert rate with the
shifted bounds.  At w = 0, H = d nu/d mu of the shifted Siegert formula (as
NNMT).  Note: this formula ignores the refractory period in the reset term,
so its limit w -> 0+ is ``dnu/dmu / (1 - nu t_ref)``, not ``dnu/dmu`` (a jump
of ~nu*t_ref, <2% for the microcircuit); ``refractory=True`` multiplies the
reset term of the denominator by ``exp(-i w t_ref)`` (Lindner &
Schimansky-Geier 2001), which makes H continuous at 0.  U for complex order is not in scipy: we integrate its ODE
``U'' = (y^2/4 + a) U`` from large y (where U is recessive,
``U ~ y^{-a-1/2} e^{-y^2/4}``) downwards, with renormalisation; the
recurrence ``(a + 1/2) U(a+1, y) = -U'(a, y) - y/2 U(a, y)`` gives Psi'
(i.e. ``Psi'(z, x) = e^{x^2/4} [x/2 U(z,-x) - U_y(z,-x)]``).  Integrating
towards decreasing y keeps the wanted solution dominant, so errors in the
start values die out.

Delay kernel D(w) = E[exp(-i w d)] (d in ms): 'none' (fixed delay),
'gaussian', 'truncated_gaussian' (normal truncated below at ``delay_min``,
0 by default as in NNMT), evaluated with the Faddeeva function to stay
finite for large w*std.

Effective connectivity (Bos et al. 2016, eq. 12)::

    W_ij(w) = 1e-3 tau_m,i J_ij K_ij H_i(w) D_ij(w)

Population rate power spectra (Bos et al. 2016, eq. 18)::

    P(w) = diag[(1 - W)^-1 diag(nu/N) (1 - W)^-H]

Frequencies are given in Hz; H in spikes/s per mV; P in spikes/s (power
spectral density of the population-averaged rate, Hz^2/Hz).
"""

from __future__ import annotations

import numpy as np
import scipy.integrate as sint
from scipy.special import erfc, erfcx, wofz

from .inputs import network_arrays
from .rates import working_point
from .siegert import _dsiegert_dmu, _siegert, colored_noise_shift

_SEGMENT = 1.0  # max length of one ODE segment in y before renormalising


def _pcf_U(a, y_points, rtol=1e-11):
    """Return (u, du, logscale) with U(a, y) = C_a u e^logscale, U_y(a, y) = C_a du e^logscale.

    a: complex orders (n_a,); y_points: real arguments (n_y,).  Outputs have
    shape (n_a, n_y); C_a is an unknown constant per order (irrelevant in
    ratios).  U is the recessive-at-+inf parabolic cylinder function.
    """
    a = np.asarray(a, complex).ravel()
    y_points = np.asarray(y_points, float).ravel()
    n_a, n_y = a.size, y_points.size
    y0 = max(float(np.max(y_points)), 0.0) + 2.0 * np.sqrt(max(float(np.max(np.abs(a))), 1.0)) + 12.0
    # start values from the asymptotic expansion (errors decay downwards)
    u = np.ones(n_a, complex)
    du = -y0 / 2.0 - (a + 0.5) / y0 + (a + 0.5) * (a + 1.5) / y0**3
    logscale = np.zeros(n_a)

    order = np.argsort(-y_points)
    targets = y_points[order]
    out_u = np.empty((n_a, n_y), complex)
    out_du = np.empty((n_a, n_y), complex)
    out_log = np.empty((n_a, n_y))

    def rhs(y, s):
        uu, dd = s[:n_a], s[n_a:]
        return np.concatenate([dd, (0.25 * y * y + a) * uu])

    y = y0
    k = 0
    while k < n_y:
        y_next = max(targets[k], y - _SEGMENT)
        if y_next < y:
            sol = sint.solve_ivp(
                rhs, (y, y_next), np.concatenate([u, du]), method="DOP853", rtol=rtol, atol=1e-300
            )
            if not sol.success:
                raise RuntimeError(f"parabolic cylinder ODE failed: {sol.message}")
            u, du = sol.y[:n_a, -1], sol.y[n_a:, -1]
            nrm = np.maximum(np.abs(u), np.abs(du))
            u, du = u / nrm, du / nrm
            logscale = logscale + np.log(nrm)
            y = y_next
        while k < n_y and targets[k] >= y:
            out_u[:, order[k]] = u
            out_du[:, order[k]] = du
            out_log[:, order[k]] = logscale
            k += 1
    return out_u, out_du, out_log


def _transfer_function_shift(
    mu, sigma, tau_m, tau_s, t_ref, V_th_rel, V_reset_rel, freqs, synaptic_filter=True, refractory=False
):
    """Return the LIF transfer function H (n_freqs, n_pops), complex, spikes/s per mV.

    mu, sigma (mV, mu relative to E_L), tau_m, tau_s, t_ref (ms), V_th_rel,
    V_reset_rel (mV rel. E_L): per population (broadcast); freqs in Hz.
    'shift' method of Schuecker et al. (2015) with the synaptic low-pass
    ``1/(1 + i w tau_s)`` if ``synaptic_filter``.  ``refractory=True`` puts the
    phase ``exp(-i w t_ref)`` on the reset term of the denominator (exact
    white-noise response with refractoriness, Lindner & Schimansky-Geier
    2001); the default (False) is the formula of Schuecker et al. 2015 / NNMT,
    whose limit w -> 0 is ``dnu/dmu / (1 - nu t_ref)`` rather than ``dnu/dmu``.
    """
    mu, sigma, tau_m, tau_s, t_ref, V_th_rel, V_reset_rel = (
        np.atleast_1d(np.asarray(v, float)) for v in (mu, sigma, tau_m, tau_s, t_ref, V_th_rel, V_reset_rel)
    )
    mu, sigma, tau_m, tau_s, t_ref, V_th_rel, V_reset_rel = np.broadcast_arrays(
        mu, sigma, tau_m, tau_s, t_ref, V_th_rel, V_reset_rel
    )
    freqs = np.atleast_1d(np.asarray(freqs, float))
    w = 2e-3 * np.pi * freqs  # rad/ms
    n_f, n_p = w.size, mu.size
    shift = colored_noise_shift(tau_s, tau_m)
    x_t = np.sqrt(2.0) * ((V_th_rel - mu) / sigma + shift)
    x_r = np.sqrt(2.0) * ((V_reset_rel - mu) / sigma + shift)
    nu = _siegert(mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s)  # spikes/s

    H = np.zeros((n_f, n_p), complex)
    zero = np.abs(w) < 1e-15
    if np.any(zero):
        H[zero] = _dsiegert_dmu(mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s)
    reg = ~zero
    if np.any(reg):
        wr = w[reg]
        for tm in np.unique(tau_m):
            pops = np.nonzero(tau_m == tm)[0]
            z = -0.5 + 1j * wr * tm  # (n_w,)
            y_pts = np.concatenate([-x_t[pops], -x_r[pops]])
            u, du, lg = _pcf_U(z, y_pts)
            npp = pops.size
            # Psi  ~ exp(x^2/4 + log) u ;  Psi' ~ exp(x^2/4 + log) (x/2 u - du)
            xt, xr = x_t[pops], x_r[pops]
            A_t = xt**2 / 4 + lg[:, :npp]
            A_r = xr**2 / 4 + lg[:, npp:]
            A_max = np.maximum(A_t, A_r)
            et, er = np.exp(A_t - A_max), np.exp(A_r - A_max)
            ut, dut = u[:, :npp], du[:, :npp]
            ur, dur = u[:, npp:], du[:, npp:]
            num = et * (xt / 2 * ut - dut) - er * (xr / 2 * ur - dur)
            if refractory:
                den = et * ut - er * ur * np.exp(-1j * np.outer(wr, t_ref[pops]))
            else:
                den = et * ut - er * ur
            frac = num / den
            H[np.ix_(reg, pops)] = (
                np.sqrt(2.0) / sigma[pops] * nu[pops] / (1.0 + 1j * np.outer(wr, tau_m[pops])) * frac
            )
    if synaptic_filter:
        H = H / (1.0 + 1j * np.outer(w, tau_s))
    return H


def _delay_kernel(freqs, delay_mean, delay_std, delay_dist="truncated_gaussian", delay_min=0.0):
    """Return D (n_freqs, *delay_mean.shape), complex: E[exp(-i w d)] of the delay distribution.

    freqs in Hz; delay_mean, delay_std, delay_min in ms.  delay_dist:
    'none' (all delays = delay_mean), 'gaussian', 'truncated_gaussian'
    (normal truncated below at delay_min).
    """
    freqs = np.atleast_1d(np.asarray(freqs, float))
    d = np.asarray(delay_mean, float)
    s = np.broadcast_to(np.asarray(delay_std, float), d.shape)
    w = (2e-3 * np.pi * freqs).reshape((-1,) + (1,) * d.ndim)  # rad/ms
    if delay_dist == "none":
        return np.exp(-1j * w * d)
    gauss = np.exp(-0.5 * (w * s) ** 2 - 1j * w * d)
    if delay_dist == "gaussian":
        return gauss
    if delay_dist != "truncated_gaussian":
        raise ValueError(f"unknown delay_dist {delay_dist!r}")
    # E[e^{-iwd}] for N(d, s^2) truncated at a:
    #   [e^{-iwd - w^2 s^2/2} - 1/2 e^{-u^2/2 - iwa} wofz((ws + iu)/sqrt2)] / Phi(u),  u = (d-a)/s
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(s > 0, (d - delay_min) / np.where(s > 0, s, 1.0), np.inf)
        Phi_u = 0.5 * erfc(-u / np.sqrt(2.0))
        tail = 0.5 * np.exp(-0.5 * u**2 - 1j * w * delay_min) * wofz((w * s + 1j * u) / np.sqrt(2.0))
        tail = np.where(np.isfinite(u), tail, 0.0)
        D = (gauss - tail) / Phi_u
    return np.where(s > 0, D, np.exp(-1j * w * d))


def _effective_connectivity(tf, D, J, K, tau_m):
    """Return W (n_freqs, n, n), dimensionless: 1e-3 tau_m_i J_ij K_ij H_i(w) D_ij(w).

    tf: transfer function (n_freqs, n) in spikes/s per mV; D delay kernel
    (n_freqs, n, n); J mV; K in-degrees; tau_m ms (per target).
    """
    tf = np.asarray(tf)
    tau_m = np.broadcast_to(np.asarray(tau_m, float), (tf.shape[1],))
    return 1e-3 * (tau_m[:, None] * np.asarray(J) * np.asarray(K))[None] * tf[:, :, None] * D


def _power_spectra(nu, W, N):
    """Return P (n_freqs, n) in spikes/s: diag[(1-W)^-1 diag(nu/N) (1-W)^-H] per frequency.

    nu spikes/s, W effective connectivity (n_freqs, n, n), N neurons per population.
    """
    n = W.shape[-1]
    Q = np.linalg.inv(np.eye(n)[None] - W)
    return np.abs(np.abs(Q) ** 2 @ (np.asarray(nu, float) / np.asarray(N, float)))


def _working_arrays(params, nu):
    """Return (arrays, nu, mu, sigma) for a derive() dict at rates nu (solved if None)."""
    wp = working_point(params, nu)
    return network_arrays(params), wp["rates"], wp["mu"], wp["sigma"]


def transfer_function(params: dict, freqs, nu=None, synaptic_filter: bool = True, refractory: bool = False):
    """Return H (n_freqs, n_pops), complex, spikes/s per mV, at freqs (Hz).

    params: a ``derive()`` dict; nu: working-point rates (spikes/s), solved
    self-consistently if None.  For delta synapses (tau_s = 0) this is the
    white-noise transfer function.  ``refractory``: see ``_transfer_function_shift``.
    """
    a, nu, mu, sigma = _working_arrays(params, nu)
    return _transfer_function_shift(
        mu, sigma, a["tau_m"], a["tau_s"], a["t_ref"], a["V_th_rel"], a["V_reset_rel"], freqs,
        synaptic_filter, refractory,
    )


def delay_kernel(params: dict, freqs, delay_min: float = 0.0):
    """Return the delay kernel D (n_freqs, n, n), complex, at freqs (Hz); delays in ms.

    Uses the delay distribution of ``params`` (truncated gaussian for the
    microcircuit, fixed for Brunel); truncation point ``delay_min`` (ms).
    """
    a = network_arrays(params)
    return _delay_kernel(freqs, a["delay_mean"], a["delay_std"], a["delay_dist"], delay_min)


def effective_connectivity(params: dict, freqs, nu=None, delay_min: float = 0.0, refractory: bool = False):
    """Return the effective connectivity W (n_freqs, n, n), dimensionless, at freqs (Hz).

    Delay truncation ``delay_min`` in ms; ``refractory``: see ``_transfer_function_shift``.
    """
    a, nu, mu, sigma = _working_arrays(params, nu)
    tf = _transfer_function_shift(
        mu, sigma, a["tau_m"], a["tau_s"], a["t_ref"], a["V_th_rel"], a["V_reset_rel"], freqs, True, refractory
    )
    D = _delay_kernel(freqs, a["delay_mean"], a["delay_std"], a["delay_dist"], delay_min)
    return _effective_connectivity(tf, D, a["J"], a["K"], a["tau_m"])


def power_spectra(params: dict, freqs, nu=None, delay_min: float = 0.0, refractory: bool = False):
    """Return population rate power spectra P (n_freqs, n_pops) in spikes/s at freqs (Hz).

    Delay truncation ``delay_min`` in ms; ``refractory``: see ``_transfer_function_shift``.
    """
    a, nu, mu, sigma = _working_arrays(params, nu)
    tf = _transfer_function_shift(
        mu, sigma, a["tau_m"], a["tau_s"], a["t_ref"], a["V_th_rel"], a["V_reset_rel"], freqs, True, refractory
    )
    D = _delay_kernel(freqs, a["delay_mean"], a["delay_std"], a["delay_dist"], delay_min)
    return _power_spectra(nu, _effective_connectivity(tf, D, a["J"], a["K"], a["tau_m"]), a["N"])
