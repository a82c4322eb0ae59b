"""Adaptive Runge-Kutta-Fehlberg 4(5) with standard step control (pure numba), the method
NEST integrates its conductance-based and AdEx neurons with (GSL's ``rkf45`` stepper driven
by ``gsl_odeiv_evolve_apply`` under ``gsl_odeiv_control_standard``).

Written from the published method: E. Fehlberg (1969), NASA TR R-315, the 4(5) pair with the
fifth-order solution propagated (as GSL does), and the step control of Hairer, Norsett and
Wanner (Solving ODEs I, II.4) as GSL documents it: per component the allowed error is
``D_i = eps_rel (a_y |y_i| + a_dydt h |y'_i|) + eps_abs``; with ``r = max_i |err_i| / D_i``
(at least DBL_MIN) the step is shrunk to ``h max(0.2, 0.9 r^(-1/5))`` and retried when
``r > 1.1``, grown to ``h min(5, max(1, 0.9 r^(-1/6)))`` for the next call when ``r < 0.5``,
else kept. Every floating-point operation is done in GSL 1.15's order (the library NEST
3.10's wheel links), so with the same right-hand side the step sequence and the state are
the same to the last bit; tests/unit/test_rkf45.py checks this against that library.

One call of :func:`evolve_apply` is one ``gsl_odeiv_evolve_apply``: a single accepted step
from t towards t1 (shortened to end exactly at t1), retried with smaller steps while the
error is too large. NEST calls it in a loop until t reaches dt (:func:`advance`) and keeps
the last suggested step size per neuron across simulation steps (``IntegrationStep_``).

The state is a tuple of floats (NEST's component order), so one neuron's whole integration
stays in registers: no work arrays, nothing allocated. A model's right-hand side is a numba
function ``rhs(y, par) -> dy/dt`` (a tuple like y; time-independent, as in every NEST model
here) where ``par[0]`` is the model's parameter named tuple: :func:`register_rhs` ties that
class to the rhs and the integrator picks the rhs from the type of ``par`` at compile time.
(Passing the rhs as an argument would make numba embed the dispatcher's address in the
machine code, and such kernels cannot be cached.) The functions taking ``par`` are not cached
themselves, so their cache index never names a caller's types (an index naming a class from
a test module breaks every later process that cannot import it); they are compiled into the
driver's ``run_group``, whose cache is keyed by every kernel and model source. The tuple helpers below are numba-inlined overloads
(``inline="always"``): without that LLVM keeps them as calls and a step costs 1.5-2.5x more.
They are pure (tuples in, tuples out, no stores), so the driver's warning about stores
dropped by inlined overloads does not apply; tests/validation/test_nest_cond_models.py
would see any lost effect as a trace differing from NEST's.
"""
import math

from numba import njit
from numba.extending import overload

# Fehlberg's nodes (unused: no right-hand side here depends on t), stage weights,
# fifth-order weights and (5th - 4th order) error weights
A2 = 1.0 / 4.0
B3 = (3.0 / 32.0, 9.0 / 32.0)
B4 = (1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0)
B5 = (8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0)
B6 = (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0, 9295.0 / 20520.0, -5643.0 / 20520.0)
C = (902880.0 / 7618050.0, 3953664.0 / 7618050.0, 3855735.0 / 7618050.0, -1371249.0 / 7618050.0,
     277020.0 / 7618050.0)  # weights of k1, k3, k4, k5, k6
E = (1.0 / 360.0, -128.0 / 4275.0, -2197.0 / 75240.0, 1.0 / 50.0, 2.0 / 55.0)  # same stages

ORDER = 5  # what the stepper reports to the control (GSL: rkf45_order)
SAFETY, SHRINK_MIN, GROW_MAX = 0.9, 0.2, 5.0
DBL_MIN = 2.2250738585072014e-308
HADJ_DEC, HADJ_NIL, HADJ_INC = -1, 0, 1

_RHS = {}  # parameter named-tuple class -> njit rhs(y, par) -> dy/dt


def register_rhs(params_class, rhs):
    """Integrate with ``rhs(y, par)`` whenever ``par[0]`` is a ``params_class`` (a named-tuple
    class of one model only). Returns rhs."""
    _RHS[params_class] = rhs
    return rhs


def call_rhs(y, par):
    """dy/dt (tuple) of the model whose parameters are ``par[0]``. Callable from numba only."""
    raise NotImplementedError("call_rhs is compiled by numba")


@overload(call_rhs, inline="always")
def _call_rhs(y, par):
    cls = getattr(par[0], "instance_class", None)
    if cls not in _RHS:
        raise TypeError(f"no right-hand side registered for parameters {par[0]}")
    rhs = _RHS[cls]

    def impl(y, par):
        return rhs(y, par)
    return impl


def _generated(name, src, **ns):
    exec(src, ns)  # numba has no tuple comprehension: one constructor per tuple length
    return ns[name]


def comb(y, h, cs, ks):
    """The tuple ``y_i + h * (cs[0] ks[0]_i + cs[1] ks[1]_i + ...)``, summed left to right.
    Callable from numba only."""
    raise NotImplementedError("comb is compiled by numba")


@overload(comb, inline="always")
def _comb(y, h, cs, ks):
    terms = lambda i: " + ".join(f"cs[{m}] * ks[{m}][{i}]" for m in range(len(cs)))  # noqa: E731
    items = "".join(f"y[{i}] + h * ({terms(i)}), " for i in range(len(y)))
    return _generated("impl", f"def impl(y, h, cs, ks):\n    return ({items})\n")


def err_est(h, cs, ks):
    """The tuple ``h * (cs[0] ks[0]_i + ...)`` (the error estimate). Numba only."""
    raise NotImplementedError("err_est is compiled by numba")


@overload(err_est, inline="always")
def _err_est(h, cs, ks):
    n = len(ks[0])
    terms = lambda i: " + ".join(f"cs[{m}] * ks[{m}][{i}]" for m in range(len(cs)))  # noqa: E731
    items = "".join(f"h * ({terms(i)}), " for i in range(n))
    return _generated("impl", f"def impl(h, cs, ks):\n    return ({items})\n")


def first_stage(y, a, h, k):
    """The tuple ``y_i + a * h * k_i`` (GSL's first stage, in that operation order). Numba only."""
    raise NotImplementedError("first_stage is compiled by numba")


@overload(first_stage, inline="always")
def _first_stage(y, a, h, k):
    items = "".join(f"y[{i}] + a * h * k[{i}], " for i in range(len(y)))
    return _generated("impl", f"def impl(y, a, h, k):\n    return ({items})\n")


def control_y(eps_abs, eps_rel):
    """Control tuple (eps_abs, eps_rel, a_y, a_dydt) of ``gsl_odeiv_control_y_new``: error
    measured against the state (NEST's iaf_cond_*: eps_abs 1e-3, eps_rel 0)."""
    return (float(eps_abs), float(eps_rel), 1.0, 0.0)


def control_yp(eps_abs, eps_rel):
    """Control tuple of ``gsl_odeiv_control_yp_new``: error measured against h * dy/dt
    (NEST's aeif_*: both gsl_error_tol)."""
    return (float(eps_abs), float(eps_rel), 0.0, 1.0)


@njit(inline="always")
def rkf45_step(par, y, k1, h):
    """One Fehlberg step of size h (ms) from state y (tuple) whose dy/dt is k1. Returns
    (new y, error estimate, dy/dt at the new y)."""
    k2 = call_rhs(first_stage(y, A2, h, k1), par)
    k3 = call_rhs(comb(y, h, B3, (k1, k2)), par)
    k4 = call_rhs(comb(y, h, B4, (k1, k2, k3)), par)
    k5 = call_rhs(comb(y, h, B5, (k1, k2, k3, k4)), par)
    k6 = call_rhs(comb(y, h, B6, (k1, k2, k3, k4, k5)), par)
    y1 = comb(y, h, C, (k1, k3, k4, k5, k6))
    return y1, err_est(h, E, (k1, k3, k4, k5, k6)), call_rhs(y1, par)


@njit(cache=True)
def hadjust(ctl, y, yerr, yp, h):
    """Standard step control: (HADJ_DEC / HADJ_NIL / HADJ_INC, suggested step in ms) after a
    step of size h (> 0) that gave state y, error estimate yerr and derivative yp (tuples)."""
    eps_abs, eps_rel, a_y, a_dydt = ctl
    rmax = DBL_MIN
    for i in range(len(y)):
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


@njit
def evolve_apply(par, y, t, t1, h, ctl):
    """One accepted adaptive step of state y (tuple) from t towards t1 (ms, t < t1, h > 0).

    Tries h (or t1 - t when h exceeds it, ending exactly at t1); while the control asks
    for a smaller step that still moves t, retries from y with it.
    Returns (new y, new t, suggested next step size h in ms)."""
    k1 = call_rhs(y, par)  # dy/dt at the start, reused by every retry
    dt = t1 - t
    h0 = h
    while True:
        final = h0 > dt
        if final:
            h0 = dt
        y1, yerr, dydt = rkf45_step(par, y, k1, h0)
        t_new = t1 if final else t + h0
        status, h_new = hadjust(ctl, y1, yerr, dydt, h0)
        if status == HADJ_DEC:
            if abs(h_new) < abs(h0) and t_new + h_new != t_new:
                h0 = h_new
                continue
            h_new = h0  # the decrease would not move t: keep the step
        return y1, t_new, h_new


@njit
def advance(par, y, dt, h, ctl):
    """Integrate state y (tuple) over one simulation step of dt ms as NEST's update loop does
    (``while t < dt: evolve_apply``), starting with step size h. Returns (y, the step size to
    start the next simulation step with: NEST's ``IntegrationStep_``)."""
    t = 0.0
    while t < dt:
        y, t, h = evolve_apply(par, y, t, dt, h, ctl)
    return y, h
