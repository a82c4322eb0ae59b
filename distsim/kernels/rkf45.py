"""Adaptive Runge-Kutta-Fehlberg 4(5) with standard step control (pure numba), the method
NEST integrates its conductance-based and AdEx neurons with (GSL's ``rkf45`` stepper driven
by ``gsl_odeiv_evolve_apply`` under ``gsl_odeiv_control_standard``).

Written from the published method: E. Fehlberg (1969), NASA TR R-315, the 4(5) pair with the
fifth-order solution propagated (as GSL does), and the step control of Hairer, Norsett and
Wanner (Solving ODEs I, II.4) as GSL documents it: per component the allowed error is
``D_i = eps_rel (a_y |y_i| + a_dydt h |y'_i|) + eps_abs``; with ``r = max_i |err_i| / D_i``
(at least DBL_MIN) the step is shrunk to ``h max(0.2, 0.9 r^(-1/5))`` and retried when
``r > 1.1``, grown to ``h min(5, max(1, 0.9 r^(-1/6)))`` for the next call when ``r < 0.5``,
else kept. The order of every floating-point operation follows GSL 1.15 (the library NEST
3.10's wheel links), so with the same right-hand side our step sequence and state agree with
NEST's to the last bit or a few ulp; tests/unit/test_rkf45.py checks this against that library.

One call of :func:`evolve_apply` is one ``gsl_odeiv_evolve_apply``: a single accepted step
from t towards t1 (shortened to end exactly at t1), retried with smaller steps until the error
is within tolerance. NEST calls it in a loop until t reaches dt (:func:`advance`) and keeps the
last suggested step size per neuron across dt steps (``IntegrationStep_``).

Right-hand sides are numba functions ``rhs(y, f, par)`` writing dy/dt of state ``y`` into
``f`` (time-independent: none of NEST's models reads t); ``par`` is whatever tuple the model
needs. Work space ``w`` is a float64 array of shape (NWORK, dim), one per kernel call.
"""
import math

import numpy as np
from numba import njit

# Fehlberg's nodes, stage weights, fifth-order weights and (5th - 4th) error weights
A2, A3, A4, A5, A6 = 1.0 / 4.0, 3.0 / 8.0, 12.0 / 13.0, 1.0, 1.0 / 2.0
B31, B32 = 3.0 / 32.0, 9.0 / 32.0
B41, B42, B43 = 1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0
B51, B52, B53, B54 = 8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0
B61, B62, B63, B64, B65 = (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0,
                           9295.0 / 20520.0, -5643.0 / 20520.0)
C1, C3, C4, C5, C6 = (902880.0 / 7618050.0, 3953664.0 / 7618050.0, 3855735.0 / 7618050.0,
                      -1371249.0 / 7618050.0, 277020.0 / 7618050.0)
E1, E3, E4, E5, E6 = 1.0 / 360.0, -128.0 / 4275.0, -2197.0 / 75240.0, 1.0 / 50.0, 2.0 / 55.0

ORDER = 5  # what the stepper reports to the control (GSL: rkf45_order)
SAFETY, SHRINK_MIN, GROW_MAX = 0.9, 0.2, 5.0
DBL_MIN = 2.2250738585072014e-308

# rows of the work array
K1, K2, K3, K4, K5, K6, YTMP, Y0, YERR, DYDT_OUT = range(10)
NWORK = 10

HADJ_DEC, HADJ_NIL, HADJ_INC = -1, 0, 1


def control_y(eps_abs, eps_rel):
    """Control tuple (eps_abs, eps_rel, a_y, a_dydt) of ``gsl_odeiv_control_y_new``: error
    measured against the state (NEST's iaf_cond_*: eps_abs 1e-3, eps_rel 0)."""
    return (float(eps_abs), float(eps_rel), 1.0, 0.0)


def control_yp(eps_abs, eps_rel):
    """Control tuple of ``gsl_odeiv_control_yp_new``: error measured against h * dy/dt
    (NEST's aeif_*: both gsl_error_tol)."""
    return (float(eps_abs), float(eps_rel), 0.0, 1.0)


def work(dim):
    """Work space (float64, shape (NWORK, dim)) for one kernel call."""
    return np.zeros((NWORK, dim))


@njit(cache=True)
def rkf45_step(rhs, par, y, h, w):
    """One Fehlberg step of size h (ms) from y, in place, with K1 = dy/dt at y already in w.
    Writes the error estimate to w[YERR] and dy/dt at the new y to w[DYDT_OUT]; the old
    y stays in w[Y0]."""
    dim = y.shape[0]
    k1, k2, k3, k4, k5, k6 = w[K1], w[K2], w[K3], w[K4], w[K5], w[K6]
    yt = w[YTMP]
    for i in range(dim):
        w[Y0, i] = y[i]
    for i in range(dim):
        yt[i] = y[i] + A2 * h * k1[i]
    rhs(yt, k2, par)
    for i in range(dim):
        yt[i] = y[i] + h * (B31 * k1[i] + B32 * k2[i])
    rhs(yt, k3, par)
    for i in range(dim):
        yt[i] = y[i] + h * (B41 * k1[i] + B42 * k2[i] + B43 * k3[i])
    rhs(yt, k4, par)
    for i in range(dim):
        yt[i] = y[i] + h * (B51 * k1[i] + B52 * k2[i] + B53 * k3[i] + B54 * k4[i])
    rhs(yt, k5, par)
    for i in range(dim):
        yt[i] = y[i] + h * (B61 * k1[i] + B62 * k2[i] + B63 * k3[i] + B64 * k4[i] + B65 * k5[i])
    rhs(yt, k6, par)
    for i in range(dim):
        d = C1 * k1[i] + C3 * k3[i] + C4 * k4[i] + C5 * k5[i] + C6 * k6[i]
        y[i] += h * d
    rhs(y, w[DYDT_OUT], par)
    for i in range(dim):
        w[YERR, i] = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i])


@njit(cache=True)
def hadjust(ctl, y, yerr, yp, h):
    """Standard step control: (HADJ_DEC / HADJ_NIL / HADJ_INC, suggested step in ms) after a
    step of size h (> 0) that gave state y, error estimate yerr and derivative yp."""
    eps_abs, eps_rel, a_y, a_dydt = ctl
    rmax = DBL_MIN
    for i in range(y.shape[0]):
        d0 = eps_rel * (a_y * abs(y[i]) + a_dydt * abs(h * yp[i])) + eps_abs
        r = abs(yerr[i]) / abs(d0)
        rmax = r if r > rmax else rmax
    if rmax > 1.1:
        f = SAFETY / math.pow(rmax, 1.0 / ORDER)
        if f < SHRINK_MIN:
            f = SHRINK_MIN
        return HADJ_DEC, f * h
    if rmax < 0.5:
        f = SAFETY / math.pow(rmax, 1.0 / (ORDER + 1.0))
        if f > GROW_MAX:
            f = GROW_MAX
        if f < 1.0:
            f = 1.0
        return HADJ_INC, f * h
    return HADJ_NIL, h


@njit(cache=True)
def evolve_apply(rhs, par, y, t, t1, h, ctl, w):
    """One accepted adaptive step from t towards t1 (ms, t < t1, h > 0), y in place.

    Tries h (or t1 - t when h exceeds it, ending exactly at t1); while the control asks
    for a smaller step that still moves t, undoes the step and retries with it.
    Returns (new t, suggested next step size h in ms)."""
    dim = y.shape[0]
    rhs(y, w[K1], par)  # dy/dt at the start, reused by every retry
    dt = t1 - t
    h0 = h
    while True:
        final = h0 > dt
        if final:
            h0 = dt
        rkf45_step(rhs, par, y, h0, w)
        t_new = t1 if final else t + h0
        status, h_new = hadjust(ctl, y, w[YERR], w[DYDT_OUT], h0)
        if status == HADJ_DEC:
            if abs(h_new) < abs(h0) and t_new + h_new != t_new:
                for i in range(dim):
                    y[i] = w[Y0, i]
                h0 = h_new
                continue
            h_new = h0  # the decrease would not move t: keep the step
        return t_new, h_new


@njit(cache=True)
def advance(rhs, par, y, dt, h, ctl, w):
    """Integrate y in place over one simulation step of dt ms as NEST's update loop does
    (``while t < dt: evolve_apply``), starting with step size h; returns the step size to
    start the next simulation step with (NEST's ``IntegrationStep_``)."""
    t = 0.0
    while t < dt:
        t, h = evolve_apply(rhs, par, y, t, dt, h, ctl, w)
    return h
