"""Conductance-based and adaptive neurons of NEST 3.10 as pure numba kernels over one neuron
and one simulation step: iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp.

Each model has a right-hand side ``*_rhs(y, par) -> dy/dt`` with ``par = (p, refractory,
I_stim)`` (p: a named tuple with the model's NEST parameter names as fields; refractory:
bool; I_stim: pA), written with NEST's expressions in NEST's operation order, and a step
function that does what NEST's ``update`` does for one step (models/<name>.cpp): integrate
over dt with the adaptive RKF45 of :mod:`distsim.kernels.rkf45` (carrying the step size
``h`` from step to step), then the model's refractoriness / threshold / reset and the
conductance jumps of this step's spikes in the model's order. The caller then stores the
current input read at the end of the step as the I_stim of the next step (NEST:
``B_.I_stim_ = currents_.get_value(lag)``). The state is a tuple of floats; every named-tuple
class used as ``p`` must be registered with :func:`distsim.kernels.rkf45.register_rhs`.

Nothing here is cached by itself: these functions are compiled into the driver's
``run_group``, whose cache is keyed by every kernel and model source. A cached function here
would be linked in from its own cache, keyed by this file alone, and stay stale after an
edit to rkf45.py or a model file (seen: wrong spike times, exit 0); its index would also
name the models' parameter classes.

Units: V (mV), g (nS), dg (nS/ms), w and currents (pA), C_m (pF), times (ms). Spike input:
``gex`` is the sum of the positive weights (nS) arriving this step, ``gin`` the sum of the
magnitudes of the negative ones (NEST adds ``-weight`` to its inhibitory buffer).

State vectors (NEST's component order):
  iaf_cond_exp   y = [V_m, g_ex, g_in]
  iaf_cond_alpha y = [V_m, dg_ex, g_ex, dg_in, g_in]
  aeif_cond_exp  y = [V_m, g_ex, g_in, w]
"""
import math
from collections import namedtuple

from numba import njit

from .rkf45 import advance, evolve_apply, register_rhs

# iaf_cond_exp and iaf_cond_alpha have the same parameters; one named-tuple class per model
# tells the integrator which right-hand side to use
_IAF_COND_FIELDS = "C_m g_L E_L E_ex E_in V_th V_reset tau_syn_ex tau_syn_in I_e"
IafCondExpParams = namedtuple("IafCondExpParams", _IAF_COND_FIELDS)
IafCondAlphaParams = namedtuple("IafCondAlphaParams", _IAF_COND_FIELDS)
# V_spike: the spike detection level, V_peak if Delta_T > 0 else V_th (NEST: V_.V_peak)
AeifCondExpParams = namedtuple("AeifCondExpParams", "C_m g_L E_L E_ex E_in V_th V_reset tau_syn_ex tau_syn_in "
                                                    "I_e a b Delta_T tau_w V_peak V_spike")

COND_EXP_DIM, COND_ALPHA_DIM, AEIF_DIM = 3, 5, 4
# aeif_cond_exp: NEST's NumericalInstability (V_m < -1e3 mV or |w| > 1e6 pA after an
# internal step) is reported as this spike count
UNSTABLE = -1

EULER = 2.718281828459045  # numerics::e (M_E)


@njit
def iaf_cond_exp_rhs(y, par):
    """dy/dt of iaf_cond_exp (NEST 3.10), y = (V_m, g_ex, g_in): V is clamped to V_reset while
    refractory (dV/dt = 0) and bounded above by V_th in the currents."""
    p, refractory, I_stim = par
    V = p.V_reset if refractory else min(y[0], p.V_th)
    I_syn_exc = y[1] * (V - p.E_ex)
    I_syn_inh = y[2] * (V - p.E_in)
    I_L = p.g_L * (V - p.E_L)
    dV = 0.0 if refractory else (-I_L + I_stim + p.I_e - I_syn_exc - I_syn_inh) / p.C_m
    return (dV, -y[1] / p.tau_syn_ex, -y[2] / p.tau_syn_in)


@njit
def iaf_cond_alpha_rhs(y, par):
    """dy/dt of iaf_cond_alpha (NEST 3.10), y = (V_m, dg_ex, g_ex, dg_in, g_in)."""
    p, refractory, I_stim = par
    V = p.V_reset if refractory else min(y[0], p.V_th)
    I_syn_exc = y[2] * (V - p.E_ex)
    I_syn_inh = y[4] * (V - p.E_in)
    I_leak = p.g_L * (V - p.E_L)
    dV = 0.0 if refractory else (-I_leak - I_syn_exc - I_syn_inh + I_stim + p.I_e) / p.C_m
    return (dV, -y[1] / p.tau_syn_ex, y[1] - (y[2] / p.tau_syn_ex),
            -y[3] / p.tau_syn_in, y[3] - (y[4] / p.tau_syn_in))


@njit
def aeif_cond_exp_rhs(y, par):
    """dy/dt of aeif_cond_exp (NEST 3.10), y = (V_m, g_ex, g_in, w): V clamped to V_reset while
    refractory, bounded above by V_peak (not V_spike) in the currents; no exponential term
    when Delta_T == 0."""
    p, refractory, I_stim = par
    V = p.V_reset if refractory else min(y[0], p.V_peak)
    g_ex = y[1]
    g_in = y[2]
    w = y[3]
    I_syn_exc = g_ex * (V - p.E_ex)
    I_syn_inh = g_in * (V - p.E_in)
    I_spike = 0.0 if p.Delta_T == 0.0 else (p.g_L * p.Delta_T * math.exp((V - p.V_th) / p.Delta_T))
    dV = 0.0 if refractory else (
        (-p.g_L * (V - p.E_L) + I_spike - I_syn_exc - I_syn_inh - w + p.I_e + I_stim) / p.C_m)
    return (dV, -g_ex / p.tau_syn_ex, -g_in / p.tau_syn_in, (p.a * (V - p.E_L) - w) / p.tau_w)


register_rhs(IafCondExpParams, iaf_cond_exp_rhs)
register_rhs(IafCondAlphaParams, iaf_cond_alpha_rhs)
register_rhs(AeifCondExpParams, aeif_cond_exp_rhs)

CTL_IAF_COND = (1e-3, 0.0, 1.0, 0.0)  # NEST's iaf_cond_*: gsl_odeiv_control_y_new(1e-3, 0)


def aeif_control(gsl_error_tol):
    """NEST's aeif_*: gsl_odeiv_control_yp_new(gsl_error_tol, gsl_error_tol)."""
    return (gsl_error_tol, gsl_error_tol, 0.0, 1.0)


@njit(inline="always")
def _refractory_or_threshold(V, r, p, ref_steps):
    """NEST's step end of the iaf_cond models: while refractory (r > 0) count down and hold V
    at V_reset; else at V >= V_th reset V and start ref_steps of refractoriness. Returns
    (V mV, r steps, spikes emitted (0 or 1))."""
    if r > 0:
        return p.V_reset, r - 1, 0
    if V >= p.V_th:
        return p.V_reset, ref_steps, 1
    return V, r, 0


@njit(inline="always")
def iaf_cond_exp_step(y, r, h, I_stim, gex, gin, p, ref_steps, dt, ctl):
    """One step of dt ms of iaf_cond_exp from state y (tuple). r: remaining refractory steps;
    h: the integrator's step size (ms). NEST's order: integrate, add this step's conductance
    jumps, then refractoriness (V held at V_reset) or threshold (V >= V_th: reset,
    r = ref_steps). Returns (y, r, h, spikes emitted (0 or 1))."""
    y, h = advance((p, r > 0, I_stim), y, dt, h, ctl)
    V, g_ex, g_in = y
    g_ex += gex
    g_in += gin
    V, r, spikes = _refractory_or_threshold(V, r, p, ref_steps)
    return (V, g_ex, g_in), r, h, spikes


@njit(inline="always")
def iaf_cond_alpha_step(y, r, h, I_stim, gex, gin, p, ref_steps, dt, ctl):
    """One step of iaf_cond_alpha (see :func:`iaf_cond_exp_step`). NEST's order differs:
    integrate, refractoriness or threshold, then this step's spikes add weight * e / tau_syn
    to dg (an alpha conductance of peak ``weight`` nS at tau_syn)."""
    y, h = advance((p, r > 0, I_stim), y, dt, h, ctl)
    V, dg_ex, g_ex, dg_in, g_in = y
    V, r, spikes = _refractory_or_threshold(V, r, p, ref_steps)
    dg_ex += gex * (EULER / p.tau_syn_ex)
    dg_in += gin * (EULER / p.tau_syn_in)
    return (V, dg_ex, g_ex, dg_in, g_in), r, h, spikes


@njit(inline="always")
def aeif_cond_exp_step(y, r, h, I_stim, gex, gin, p, ref_steps, dt, ctl):
    """One step of aeif_cond_exp (NEST 3.10) from state y (tuple). Spikes are handled after
    every internal RKF45 step, so with t_ref = 0 a neuron may fire more than once per step:
    on V >= V_spike, V = V_reset, w += b and r = ref_steps + 1 (0 when ref_steps is 0); while
    r > 0 V is clamped to V_reset after each internal step. After the step r counts down once
    and this step's conductance jumps are added. Returns (y, r, h, spikes emitted this step);
    spikes = UNSTABLE when V_m < -1e3 mV or |w| > 1e6 pA (NEST throws NumericalInstability)."""
    t = 0.0
    spikes = 0
    while t < dt:
        y, t, h = evolve_apply((p, r > 0, I_stim), y, t, dt, h, ctl)
        V, g_ex, g_in, w = y
        if V < -1e3 or w < -1e6 or w > 1e6:
            return y, r, h, UNSTABLE
        if r > 0:
            V = p.V_reset
        elif V >= p.V_spike:
            V = p.V_reset
            w += p.b
            r = ref_steps + 1 if ref_steps > 0 else 0
            spikes += 1
        y = (V, g_ex, g_in, w)
    if r > 0:
        r -= 1
    V, g_ex, g_in, w = y
    return (V, g_ex + gex, g_in + gin, w), r, h, spikes


def aeif_params(**kw):
    """AeifCondExpParams from NEST parameter values (floats), V_spike derived from Delta_T."""
    kw = {k: float(v) for k, v in kw.items()}
    return AeifCondExpParams(V_spike=kw["V_peak"] if kw["Delta_T"] > 0.0 else kw["V_th"], **kw)
