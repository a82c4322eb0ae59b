"""iaf_psc_alpha: leaky integrate-and-fire neuron with alpha-shaped synaptic currents (NEST
3.10 semantics, defaults and parameter names; models/iaf_psc_alpha.cpp and
libnestutil/iaf_propagator.cpp).

C_m dV/dt = -C_m/tau_m (V - E_L) + I_ex + I_in + I_e + I_stim; a spike of weight w (pA)
arriving at t0 adds the current w (t - t0)/tau_syn e^(1 - (t - t0)/tau_syn) (peak w at
tau_syn) to I_ex (w >= 0) or I_in (w < 0). Exact integration on the grid with the
relative potential y3 = V - E_L, per step (NEST's order):

1. not refractory: y3 <- P30 (y0 + I_e) + P31 dI + P32 I (ex and in) + expm1(-h/tau_m) y3 + y3,
   then y3 <- max(y3, V_min - E_L); refractory: the counter counts down, y3 stays;
2. I <- P21 dI + P22 I, dI <- P11 dI, dI += e/tau_syn * (this step's input), ex then in;
3. y3 >= V_th - E_L: spike (stamp s + 1), y3 <- V_reset - E_L, refractory for t_ref;
4. y0 <- this step's current input (acts from the next step).

P31 and P32 follow NEST's IAFPropagatorAlpha, which switches to the limit forms when
tau_syn is (nearly) tau_m. Recordables: V_m (mV), I_syn_ex, I_syn_in (pA).
"""
import math

import numpy as np
from numba import njit

from ..kernels import libm
from .base import NeuronModel, Param, Var

#: NEST's IAFPropagator::NUMERICAL_STABILITY_FACTOR_: the regular P31 needs
#: h > factor * tau_m^2 / |tau_m - tau_syn|
_STABILITY_FACTOR = 1e-7


def propagators_psc_alpha(h, tau_syn, tau_m, C_m):
    """(P31, P32) of iaf_psc_alpha for step h (ms) as NEST's IAFPropagatorAlpha: P32 (mV/pA)
    maps I to V over a step, P31 (mV ms/pA) dI to V; arrays over a group. Where the regular
    formula is not a normal positive number (tau_syn close to tau_m) P32 is the limit
    h/C_m exp(-h/tau_m); P31 is the limit h^2/(2 C_m) exp(-h/tau_m) unless
    h > 1e-7 tau_m^2 / |tau_m - tau_syn|."""
    tau_syn = np.asarray(tau_syn, dtype=np.float64)
    tau_m = np.asarray(tau_m, dtype=np.float64)
    C_m = np.asarray(C_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)  # inf when tau_m == tau_syn
        gamma = beta / C_m
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        h_min_regular = _STABILITY_FACTOR * tau_m * tau_m / np.abs(tau_m - tau_syn)
        exp_h_tau_syn = libm.exp(-h * (1.0 / tau_syn))
        expm1_h_tau = libm.expm1(h * inv_beta)
        exp_h_tau = libm.exp(-h * (1.0 / tau_m))
        P32 = gamma * exp_h_tau_syn * expm1_h_tau
        normal = np.isfinite(P32) & (P32 >= np.finfo(np.float64).tiny)
        P32 = np.where(normal, P32, h * (1.0 / C_m) * exp_h_tau)
        P31 = np.where(h > h_min_regular, gamma * exp_h_tau_syn * (beta * expm1_h_tau - h),
                       0.5 * h * h * (1.0 / C_m) * exp_h_tau)
    return P31, P32


@njit(inline="always", cache=True)
def iaf_psc_alpha_neuron(j, S, p, x):
    """One iaf_psc_alpha neuron, one step (branch-free selects); returns the spike flag."""
    r = S.refr[j]
    y3 = S.y3[j]
    dI_ex = S.dI_ex[j]
    I_ex = S.I_syn_ex[j]
    dI_in = S.dI_in[j]
    I_in = S.I_syn_in[j]
    v = (p.P30 * (S.y0[j] + p.I_e) + p.P31_ex * dI_ex + p.P32_ex * I_ex + p.P31_in * dI_in
         + p.P32_in * I_in + p.expm1_tau_m * y3 + y3)
    v = p.V_min_rel if v < p.V_min_rel else v
    y3 = v if r == 0 else y3
    r = r - 1 if r > 0 else r
    I_ex = p.P21_ex * dI_ex + p.P11_ex * I_ex
    dI_ex = dI_ex * p.P11_ex
    dI_ex += p.EPSC * (x.rex[j] + x.pex[j])
    I_in = p.P21_in * dI_in + p.P11_in * I_in
    dI_in = dI_in * p.P11_in
    dI_in += p.IPSC * (x.rin[j] + x.pin[j])
    spike = y3 >= p.theta
    y3 = p.V_reset_rel if spike else y3
    S.refr[j] = p.ref_steps if spike else r
    S.y3[j] = y3
    S.V[j] = y3 + p.E_L
    S.dI_ex[j] = dI_ex
    S.I_syn_ex[j] = I_ex
    S.dI_in[j] = dI_in
    S.I_syn_in[j] = I_in
    return spike


class IafPscAlpha(NeuronModel):
    """iaf_psc_alpha with NEST's defaults and parameter names."""

    name = "iaf_psc_alpha"
    weight_unit = "pA"
    params = {
        "C_m": Param(250.0, "pF", "positive"),
        "tau_m": Param(10.0, "ms", "positive"),
        "tau_syn_ex": Param(2.0, "ms", "positive"),
        "tau_syn_in": Param(2.0, "ms", "positive"),
        "t_ref": Param(2.0, "ms", "nonneg"),
        "E_L": Param(-70.0, "mV"),
        "V_th": Param(-55.0, "mV"),
        "V_reset": Param(-70.0, "mV"),
        "I_e": Param(0.0, "pA"),
        "V_min": Param(-np.inf, "mV", "lower"),
    }
    # V: V_m (absolute, what is recorded); y3 = V_m - E_L, what NEST integrates; y0: the
    # current input of the previous step; dI_*: the derivatives of the alpha currents (pA/ms)
    state = {"V": Var("mV", init="V_m"), "y3": Var("mV"), "refr": Var("steps", np.int64, 0),
             "y0": Var("pA"), "dI_ex": Var("pA/ms"), "I_syn_ex": Var("pA"),
             "dI_in": Var("pA/ms"), "I_syn_in": Var("pA")}
    recordables = {"V_m": "mV", "I_syn_ex": "pA", "I_syn_in": "pA"}
    record_from_state = {"V_m": "V", "I_syn_ex": "I_syn_ex", "I_syn_in": "I_syn_in"}
    current_input = "y0"
    derived = ("P30", "expm1_tau_m", "P11_ex", "P21_ex", "P31_ex", "P32_ex", "P11_in", "P21_in",
               "P31_in", "P32_in", "EPSC", "IPSC", "theta", "V_reset_rel", "V_min_rel", "ref_steps")
    neuron = iaf_psc_alpha_neuron

    @classmethod
    def init_state(cls, n, V0, p, cal):
        """State for n neurons: V_m = V0 (mV), y3 = V0 - E_L, currents zero."""
        out = super().init_state(n, V0, p, cal)
        out["y3"] = out["V"] - p["E_L"]
        return out

    @staticmethod
    def calibrate(p, dt):
        """Propagators (arrays over the group) for step dt (ms), as NEST's pre_run_hook."""
        h = dt
        P11_ex = libm.exp(-h / p["tau_syn_ex"])
        P11_in = libm.exp(-h / p["tau_syn_in"])
        P31_ex, P32_ex = propagators_psc_alpha(h, p["tau_syn_ex"], p["tau_m"], p["C_m"])
        P31_in, P32_in = propagators_psc_alpha(h, p["tau_syn_in"], p["tau_m"], p["C_m"])
        return {
            "P30": -p["tau_m"] / p["C_m"] * libm.expm1(-h / p["tau_m"]),
            "expm1_tau_m": libm.expm1(-h / p["tau_m"]),
            "P11_ex": P11_ex, "P21_ex": h * P11_ex, "P31_ex": P31_ex, "P32_ex": P32_ex,
            "P11_in": P11_in, "P21_in": h * P11_in, "P31_in": P31_in, "P32_in": P32_in,
            "EPSC": 1.0 * math.e / p["tau_syn_ex"], "IPSC": 1.0 * math.e / p["tau_syn_in"],
            "theta": p["V_th"] - p["E_L"], "V_reset_rel": p["V_reset"] - p["E_L"],
            "V_min_rel": p["V_min"] - p["E_L"],
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
        }
