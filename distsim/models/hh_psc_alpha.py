"""hh_psc_alpha: Hodgkin-Huxley neuron with alpha-shaped synaptic currents (NEST 3.10,
models/hh_psc_alpha.cpp).

C_m dV/dt = -(I_Na + I_K + I_L) + I_stim + I_e + I_syn_ex + I_syn_in, with
I_Na = g_Na m^3 h (V - E_Na), I_K = g_K n^4 (V - E_K), I_L = g_L (V - E_L) and the gating
variables m (Act_m), h (Inact_h), n (Act_n) following dx/dt = alpha_x(V) (1 - x) - beta_x(V) x
with the rate functions of NEST's hh_psc_alpha_dynamics (V in mV, rates in 1/ms). Synaptic
currents are alpha functions: d(dI_x)/dt = -dI_x / tau_syn_x, dI_x/dt = dI_x - I_x / tau_syn_x;
a spike of weight w (pA) adds w e / tau_syn_ex to dI_ex (w > 0) or w e / tau_syn_in to dI_in
(w <= 0, the current stays negative), so the current peaks at w after tau_syn.

Integrated like NEST with adaptive RKF45 under gsl_odeiv_control_y_new(1e-3, 0) (absolute
error 1e-3 on every component, relative 0; distsim.kernels.rkf45), the step size carried
from step to step and starting at dt. Per step, NEST's order: remember V, integrate over
dt, add this step's spike input to dI_ex / dI_in, then refractoriness or spike detection:
while refractory the counter counts down and nothing else happens (V is not clamped, the
dynamics go on: NEST's t_ref only suppresses detection); otherwise a spike is emitted when
V >= 0 mV and V is lower than at the start of the step (the step after the membrane
potential's maximum above 0 mV), and refractoriness starts for t_ref.

Initial state (NEST): V_m = -65 mV (not E_L), the gating variables at their equilibrium at
-65 mV (NEST computes them once, at -65 mV, and does not recompute them when V_m is set;
set Act_m, Inact_h, Act_n to start elsewhere), synaptic currents zero. NEST's rate functions
are 0/0 at V = -55 and -40 mV exactly; as in NEST that gives NaN (not an error).
"""
import math

import numpy as np
from numba import njit

from ..kernels.cond import CTL_IAF_COND, EULER
from ..kernels.driver import params_at
from ..kernels.rkf45 import advance, register_rhs
from .base import NeuronModel, Param, Var

V_INIT = -65.0  # NEST's initial V_m (mV): State_() sets y_[V_M] = -65, not E_L
CTL_HH = CTL_IAF_COND  # NEST's hh_psc_alpha: gsl_odeiv_control_y_new(1e-3, 0.0), as its iaf_cond_* models


def equilibrium_gating(V):
    """(m, h, n) at equilibrium at V (mV), computed as NEST's State_ constructor does."""
    alpha_n = (0.01 * (V + 55.0)) / (1.0 - math.exp(-(V + 55.0) / 10.0))
    beta_n = 0.125 * math.exp(-(V + 65.0) / 80.0)
    alpha_m = (0.1 * (V + 40.0)) / (1.0 - math.exp(-(V + 40.0) / 10.0))
    beta_m = 4.0 * math.exp(-(V + 65.0) / 18.0)
    alpha_h = 0.07 * math.exp(-(V + 65.0) / 20.0)
    beta_h = 1.0 / (1.0 + math.exp(-(V + 35.0) / 10.0))
    return alpha_m / (alpha_m + beta_m), alpha_h / (alpha_h + beta_h), alpha_n / (alpha_n + beta_n)


M_INIT, H_INIT, N_INIT = equilibrium_gating(V_INIT)


# error_model="numpy": at V = -55 or -40 mV exactly a rate is 0/0, NaN as in NEST, not an exception
@njit(error_model="numpy")  # not cached itself: compiled into run_group (see kernels.cond)
def hh_psc_alpha_rhs(y, par):
    """dy/dt of hh_psc_alpha (NEST 3.10), y = (V_m, m, h, n, dI_ex, I_ex, dI_in, I_in), with
    NEST's expressions in NEST's operation order; par = (p, refractory (unused: t_ref does
    not change the dynamics), I_stim pA)."""
    p, _refractory, I_stim = par
    V, m, h, n, dI_ex, I_ex, dI_in, I_in = y
    alpha_n = (0.01 * (V + 55.0)) / (1.0 - math.exp(-(V + 55.0) / 10.0))
    beta_n = 0.125 * math.exp(-(V + 65.0) / 80.0)
    alpha_m = (0.1 * (V + 40.0)) / (1.0 - math.exp(-(V + 40.0) / 10.0))
    beta_m = 4.0 * math.exp(-(V + 65.0) / 18.0)
    alpha_h = 0.07 * math.exp(-(V + 65.0) / 20.0)
    beta_h = 1.0 / (1.0 + math.exp(-(V + 35.0) / 10.0))
    I_Na = p.g_Na * m * m * m * h * (V - p.E_Na)
    I_K = p.g_K * n * n * n * n * (V - p.E_K)
    I_L = p.g_L * (V - p.E_L)
    dV = (-(I_Na + I_K + I_L) + I_stim + p.I_e + I_ex + I_in) / p.C_m
    return (dV,
            alpha_m * (1.0 - m) - beta_m * m,
            alpha_h * (1.0 - h) - beta_h * h,
            alpha_n * (1.0 - n) - beta_n * n,
            -dI_ex / p.tau_syn_ex,
            dI_ex - (I_ex / p.tau_syn_ex),
            -dI_in / p.tau_syn_in,
            dI_in - (I_in / p.tau_syn_in))


@njit(inline="always")
def hh_psc_alpha_step(y, r, h, I_stim, iex, iin, p, ref_steps, dt):
    """One step of dt ms of hh_psc_alpha (NEST 3.10's update) from state y (tuple, see
    :func:`hh_psc_alpha_rhs`). r: remaining refractory steps; h: the integrator's step size
    (ms); iex / iin: this step's spike input (pA, iin <= 0). Returns (y, r, h, spikes (0/1))."""
    U_old = y[0]
    y, h = advance((p, False, I_stim), y, dt, h, CTL_HH)
    V, m, hh, n, dI_ex, I_ex, dI_in, I_in = y
    dI_ex += iex * p.PSCurrInit_E
    dI_in += iin * p.PSCurrInit_I
    spikes = 0
    if r > 0:
        r -= 1
    elif V >= 0.0 and U_old > V:  # above 0 mV and past the maximum
        r = ref_steps
        spikes = 1
    return (V, m, hh, n, dI_ex, I_ex, dI_in, I_in), r, h, spikes


@njit  # not cached itself: compiled into run_group, whose cache key covers every kernel and model source
def hh_psc_alpha_block(n, S, P, shared, x, spk):
    """Advance the n hh_psc_alpha neurons of a group by one step; spk[j] = 1 where neuron j
    fired. Spike input (pA): x.rex + x.pex excitatory, x.rin + x.pin inhibitory (negative)."""
    V, m, hg, ng = S.V, S.Act_m, S.Inact_h, S.Act_n
    dI_ex, I_ex, dI_in, I_in = S.dI_ex, S.I_syn_ex, S.dI_in, S.I_syn_in
    refr, h, i0 = S.refr, S.h, S.i0
    rex, rin, pex, pin = x.rex, x.rin, x.pex, x.pin
    for j in range(n):
        p = params_at(P, 0 if shared else j)
        y, r, hj, spikes = hh_psc_alpha_step((V[j], m[j], hg[j], ng[j], dI_ex[j], I_ex[j], dI_in[j], I_in[j]),
                                             refr[j], h[j], i0[j], rex[j] + pex[j], rin[j] + pin[j], p,
                                             p.ref_steps, p.dt)
        V[j], m[j], hg[j], ng[j], dI_ex[j], I_ex[j], dI_in[j], I_in[j] = y
        refr[j] = r
        h[j] = hj
        spk[j] = spikes


class HhPscAlpha(NeuronModel):
    """hh_psc_alpha with NEST 3.10's defaults and parameter names (weights in pA)."""

    name = "hh_psc_alpha"
    weight_unit = "pA"
    V_m_default = V_INIT
    params = {
        "C_m": Param(100.0, "pF", "positive"),
        "g_Na": Param(12000.0, "nS", "nonneg"),
        "g_K": Param(3600.0, "nS", "nonneg"),
        "g_L": Param(30.0, "nS", "nonneg"),
        "E_Na": Param(50.0, "mV"),
        "E_K": Param(-77.0, "mV"),
        "E_L": Param(-54.402, "mV"),
        "t_ref": Param(2.0, "ms", "nonneg"),
        "tau_syn_ex": Param(0.2, "ms", "positive"),
        "tau_syn_in": Param(2.0, "ms", "positive"),
        "I_e": Param(0.0, "pA"),
        # initial values of the gating variables (NEST state; default: equilibrium at -65 mV)
        "Act_m": Param(M_INIT, "", "nonneg"),
        "Inact_h": Param(H_INIT, "", "nonneg"),
        "Act_n": Param(N_INIT, "", "nonneg"),
    }
    # h: the integrator's step size carried between steps (NEST's IntegrationStep_, ms)
    state = {"V": Var("mV", init="V_m"), "Act_m": Var(""), "Inact_h": Var(""), "Act_n": Var(""),
             "dI_ex": Var("pA/ms"), "I_syn_ex": Var("pA"), "dI_in": Var("pA/ms"), "I_syn_in": Var("pA"),
             "refr": Var("steps", np.int64, 0), "h": Var("ms"), "i0": Var("pA")}
    derived = ("PSCurrInit_E", "PSCurrInit_I", "ref_steps", "dt")
    recordables = {"V_m": "mV", "I_syn_ex": "pA", "I_syn_in": "pA", "Act_m": "", "Inact_h": "", "Act_n": ""}
    record_from_state = {"V_m": "V", "I_syn_ex": "I_syn_ex", "I_syn_in": "I_syn_in", "Act_m": "Act_m",
                         "Inact_h": "Inact_h", "Act_n": "Act_n"}
    block = hh_psc_alpha_block
    relations = ()  # NEST's checks are all per parameter

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """None: NEST checks each parameter on its own (C_m > 0, t_ref >= 0, tau_syn > 0,
        conductances and gating variables >= 0)."""

    @staticmethod
    def calibrate(p, dt):
        """NEST's V_: the dI jump of a 1 pA spike (e / tau_syn, 1/ms), refractory steps, and dt
        (ms); arrays shaped like the parameters."""
        return {"PSCurrInit_E": 1.0 * EULER / p["tau_syn_ex"], "PSCurrInit_I": 1.0 * EULER / p["tau_syn_in"],
                "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64), "dt": np.full(p["t_ref"].shape[0], dt)}

    @classmethod
    def init_state(cls, n, V0, p, cal):
        """V_m as given (default -65 mV), the gating variables from Act_m, Inact_h, Act_n,
        currents zero, the integrator's step size h = dt (NEST's IntegrationStep_)."""
        out = NeuronModel.init_state.__func__(cls, n, V0, p, cal)
        for k in ("Act_m", "Inact_h", "Act_n"):
            out[k][:] = p[k]
        out["h"][:] = cal["dt"]
        return out


register_rhs(HhPscAlpha.Params, hh_psc_alpha_rhs)
