"""Stationary firing rate of a LIF neuron driven by Gaussian white noise (Siegert).

All potentials are relative to the resting potential E_L (mV), times in ms,
rates in spikes/s.  With ``y_th = (V_th - mu)/sigma`` and
``y_r = (V_reset - mu)/sigma``::

    1/nu = t_ref + tau_m sqrt(pi) Int_{y_r}^{y_th} exp(u^2) (1 + erf(u)) du
         = t_ref + tau_m sqrt(pi) Int_{y_r}^{y_th} erfcx(-u) du

Numerics (no exp(u^2) is ever formed unscaled):

* the part of the integral over u < 0 is ``Int erfcx(s) ds`` over s = -u > 0,
  a bounded, smooth integrand, integrated by composite Gauss-Legendre after
  the substitution ``s = exp(v) - 1`` (handles the ~1/(s sqrt(pi)) tail of
  strongly supra-threshold input, where the integral grows like a logarithm);
* over u > 0, ``erfcx(-u) = 2 exp(u^2) - erfcx(u)``, and
  ``Int_0^y exp(u^2) du = exp(y^2) dawsn(y)``; the whole expression is
  multiplied by ``exp(-y_th^2)`` so that strongly sub-threshold input gives a
  rate that underflows gracefully to 0 instead of inf/inf.

Colored noise from exponential synaptic currents (Fourcaud & Brunel 2002,
'shift' method of NNMT / Schuecker et al. 2015): both bounds are shifted by
``sqrt(tau_s/tau_m) * |zeta(1/2)| / sqrt(2)`` (in units of sigma).
"""

from __future__ import annotations

import numpy as np
from scipy.special import dawsn, erfcx, roots_legendre, zetac

#: sqrt(2)|zeta(1/2)| (zetac(x) = zeta(x) - 1; zeta itself is nan below 1 in scipy)
ALPHA = float(np.sqrt(2.0) * abs(zetac(0.5) + 1.0))

_GL_ORDER = 16
_GL_X, _GL_W = roots_legendre(_GL_ORDER)
_PANEL_WIDTH = 0.5  # width of one Gauss-Legendre panel in v = log(1 + s)
_SIGMA_FLOOR = 1e-12  # mV; sigma below this is treated as this (deterministic limit)


def colored_noise_shift(tau_s, tau_m):
    """Return the bound shift ``sqrt(tau_s/tau_m)*|zeta(1/2)|/sqrt(2)`` (units of sigma).

    tau_s, tau_m in ms (any common unit); 0 for delta synapses.
    """
    return ALPHA / 2.0 * np.sqrt(np.asarray(tau_s, float) / np.asarray(tau_m, float))


def _erfcx_integral(s0, s1):
    """Return ``Int_{s0}^{s1} erfcx(s) ds`` for arrays 0 <= s0 <= s1 (dimensionless).

    Composite Gauss-Legendre in ``v = log(1+s)``: the integrand
    ``erfcx(e^v - 1) e^v`` is smooth and tends to 1/sqrt(pi).
    """
    s0 = np.asarray(s0, float)
    s1 = np.asarray(s1, float)
    v0 = np.log1p(s0)
    v1 = np.log1p(s1)
    length = v1 - v0
    if length.size == 0:
        return np.zeros_like(length)
    n_panels = max(1, int(np.ceil(np.max(length) / _PANEL_WIDTH)))
    h = length / n_panels  # per element panel width
    # nodes: (..., panel, node)
    k = np.arange(n_panels)[:, None]
    centers = v0[..., None, None] + (k + 0.5) * h[..., None, None]
    v = centers + 0.5 * h[..., None, None] * _GL_X
    ev = np.exp(v)
    integrand = erfcx(ev - 1.0) * ev
    return 0.5 * h * np.sum(integrand * _GL_W, axis=(-2, -1))


def _siegert(mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s=0.0):
    """Return the stationary LIF rate in spikes/s (array, broadcast over inputs).

    mu, sigma: mean and std of the free membrane potential (mV, relative to
    E_L); V_th_rel, V_reset_rel: threshold and reset relative to E_L (mV);
    tau_m, t_ref, tau_s: ms.  ``tau_s > 0`` applies the colored-noise shift.
    Finite and non-negative for any finite input; sigma <= 0 is treated as
    the deterministic limit.
    """
    mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s))
    )
    if np.any(V_th_rel < V_reset_rel):
        raise ValueError("V_th must not be below V_reset")
    sig = np.maximum(sigma, _SIGMA_FLOOR)
    shift = colored_noise_shift(tau_s, tau_m)
    b = (V_th_rel - mu) / sig + shift  # y_th
    a = (V_reset_rel - mu) / sig + shift  # y_r
    return _siegert_y(a, b, tau_m, t_ref)


def _siegert_y(a, b, tau_m, t_ref):
    """Return the Siegert rate (spikes/s) for reduced bounds a = y_r <= b = y_th."""
    a, b, tau_m, t_ref = np.broadcast_arrays(*(np.asarray(x, float) for x in (a, b, tau_m, t_ref)))
    shape = a.shape
    a, b, tau_m, t_ref = (x.ravel() for x in (a, b, tau_m, t_ref))

    # u < 0 part: Int_{max(-b,0)}^{max(-a,0)} erfcx(s) ds
    neg = _erfcx_integral(np.maximum(-b, 0.0), np.maximum(-a, 0.0))
    # u > 0 part: 2[e^{b+^2} D(b+) - e^{a+^2} D(a+)] - Int_{a+}^{b+} erfcx(u) du
    ap = np.maximum(a, 0.0)
    bp = np.maximum(b, 0.0)
    g = _erfcx_integral(ap, bp)
    E = np.exp(-bp * bp)  # scaling factor exp(-m^2), m = max(b, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled_int = E * (neg - g) + 2.0 * dawsn(bp) - 2.0 * np.exp(ap * ap - bp * bp) * dawsn(ap)
        denom = E * t_ref + tau_m * np.sqrt(np.pi) * scaled_int
        nu = np.where(denom > 0, E / denom, 0.0)  # 1/ms
    return (1e3 * nu).reshape(shape)


def _dsiegert_dmu(mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s=0.0):
    """Return d nu / d mu in spikes/s per mV, with the colored-noise shift held fixed.

    ``dnu/dmu = sqrt(pi) tau_m nu^2 / sigma * (erfcx(-y_th) - erfcx(-y_r))``
    (NNMT's zero-frequency transfer function for the 'shift' method).
    """
    mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (mu, sigma, V_th_rel, V_reset_rel, tau_m, t_ref, tau_s))
    )
    sig = np.maximum(sigma, _SIGMA_FLOOR)
    shift = colored_noise_shift(tau_s, tau_m)
    b = (V_th_rel - mu) / sig + shift
    a = (V_reset_rel - mu) / sig + shift
    nu = _siegert_y(a, b, tau_m, t_ref) * 1e-3  # 1/ms
    val = np.sqrt(np.pi) * tau_m * nu / sig * (_times_erfcx_neg(nu, b) - _times_erfcx_neg(nu, a))
    return 1e3 * val  # (1/ms)/mV -> spikes/s per mV


def _times_erfcx_neg(x, y):
    """Return ``x * erfcx(-y)`` for x >= 0 without overflow (x small where y is large).

    Uses ``erfcx(-y) = 2 exp(y^2) - erfcx(y)`` for y > 0, with the exponential formed as
    ``exp(log(x) + y^2)``; same shape as the broadcast of x and y.
    """
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        big = 2.0 * np.exp(np.log(x) + y * y) - x * erfcx(y)
        return np.where(y > 0, big, x * erfcx(-y))


def siegert(mu, sigma, neuron_params: dict, tau_s: float | None = None):
    """Return the stationary firing rate (spikes/s) of a LIF neuron for input (mu, sigma).

    mu, sigma: mean and std of the free membrane potential in mV, mu measured
    from E_L.  ``neuron_params`` uses NEST names (V_th, V_reset, E_L in mV,
    tau_m, t_ref in ms).  The colored-noise shift uses ``tau_s`` (ms) or, if
    None, ``neuron_params["tau_syn_ex"]`` when present (0 = delta synapses).
    """
    p = neuron_params
    if tau_s is None:
        tau_s = p.get("tau_syn_ex", 0.0)
    return _siegert(
        mu, sigma, p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"], p["tau_m"], p["t_ref"], tau_s
    )
