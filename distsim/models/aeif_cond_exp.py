"""aeif_cond_exp: adaptive exponential integrate-and-fire neuron (AdEx, Brette & Gerstner 2005)
with exponential synaptic conductances (NEST 3.10).

C_m dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_th) / Delta_T) - g_ex (V - E_ex)
            - g_in (V - E_in) - w + I_e + I_stim,
tau_w dw/dt = a (V - E_L) - w,  dg_x/dt = -g_x / tau_syn_x; a spike of weight w (nS) adds
w to g_ex (w > 0) or -w to g_in (w < 0). Integrated like NEST with adaptive RKF45 under
gsl_odeiv_control_yp(gsl_error_tol, gsl_error_tol) (distsim.kernels.rkf45). Spikes are
detected after every internal integration step at V_peak (at V_th when Delta_T = 0): V is
reset to V_reset, w grows by b, and V stays at V_reset for t_ref. With t_ref = 0 (NEST's
default) a neuron can fire several times in one step; the engine then records and delivers
each spike (a record with that multiplicity).
"""
import math

import numpy as np
from numba import njit

from ..kernels.cond import UNSTABLE, aeif_cond_exp_rhs, aeif_cond_exp_step
from ..kernels.driver import params_at
from ..kernels.rkf45 import register_rhs
from ..spec.errors import SpecError
from .base import NeuronModel, Param, Var
from .cond_common import init_state_cond

# NEST: (V_peak - V_th) / Delta_T must stay below this (a 1e20 margin below overflow of exp)
MAX_EXP_ARG = math.log(np.finfo(np.float64).max / 1e20)


@njit  # not cached itself: compiled into run_group, whose cache key covers every kernel and model source
def aeif_cond_exp_block(n, S, P, shared, x, spk):
    """Advance the n aeif_cond_exp neurons of a group by one step; spk[j] = neuron j's number
    of spikes. Conductance input (nS): x.rex + x.pex to g_ex, -(x.rin + x.pin) to g_in. A
    neuron that became numerically unstable is marked with refr = -1 (the model's update
    then raises)."""
    V, g_ex, g_in, w, refr, h, i0 = S.V, S.g_ex, S.g_in, S.w, S.refr, S.h, S.i0
    rex, rin, pex, pin = x.rex, x.rin, x.pex, x.pin
    for j in range(n):
        p = params_at(P, 0 if shared else j)
        y, r, hj, spikes = aeif_cond_exp_step((V[j], g_ex[j], g_in[j], w[j]), refr[j], h[j], i0[j],
                                              rex[j] + pex[j], -(rin[j] + pin[j]), p, p.ref_steps, p.dt,
                                              (p.gsl_error_tol, p.gsl_error_tol, 0.0, 1.0))
        V[j], g_ex[j], g_in[j], w[j] = y
        h[j] = hj
        if spikes == UNSTABLE:
            refr[j] = -1
            spk[j] = 0
        else:
            refr[j] = r
            spk[j] = spikes


class AeifCondExp(NeuronModel):
    """aeif_cond_exp with NEST 3.10's defaults and parameter names (weights in nS)."""

    name = "aeif_cond_exp"
    weight_unit = "nS"
    emits_multiplicity = True
    params = {
        "C_m": Param(281.0, "pF", "positive"),
        "g_L": Param(30.0, "nS", "positive"),
        "E_L": Param(-70.6, "mV"),
        "E_ex": Param(0.0, "mV"),
        "E_in": Param(-85.0, "mV"),
        "V_th": Param(-50.4, "mV"),
        "V_reset": Param(-60.0, "mV"),
        "V_peak": Param(0.0, "mV"),
        "Delta_T": Param(2.0, "mV", "nonneg"),
        "a": Param(4.0, "nS"),
        "b": Param(80.5, "pA"),
        "tau_w": Param(144.0, "ms", "positive"),
        "t_ref": Param(0.0, "ms", "nonneg"),
        "tau_syn_ex": Param(0.2, "ms", "positive"),
        "tau_syn_in": Param(2.0, "ms", "positive"),
        "I_e": Param(0.0, "pA"),
        "gsl_error_tol": Param(1e-6, "", "positive"),
    }
    # h: the integrator's step size carried between steps (NEST's IntegrationStep_, ms)
    state = {"V": Var("mV", init="V_m"), "g_ex": Var("nS"), "g_in": Var("nS"), "w": Var("pA"),
             "refr": Var("steps", np.int64, 0), "h": Var("ms"), "i0": Var("pA")}
    derived = ("V_spike", "ref_steps", "dt")
    recordables = {"V_m": "mV", "g_ex": "nS", "g_in": "nS", "w": "pA"}
    record_from_state = {"V_m": "V", "g_ex": "g_ex", "g_in": "g_in", "w": "w"}
    block = aeif_cond_exp_block
    init_state = classmethod(init_state_cond)

    relations = ("V_peak >= V_th", "V_reset < V_peak",
                 f"Delta_T = 0, or (V_peak - V_th) / Delta_T < {MAX_EXP_ARG:.4g}")

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """NEST's aeif_cond_exp checks, over the whole range of each parameter."""
        get = lambda k: rng.get(k, (cls.params[k].default,) * 2)  # noqa: E731
        th, vp, vr, dT = get("V_th"), get("V_peak"), get("V_reset"), get("Delta_T")
        if not vp[0] >= th[1]:
            raise SpecError(f"{field}.V_peak", vp[0], f"must be >= V_th ({th[1]} mV)")
        if not vr[1] < vp[0]:
            raise SpecError(f"{field}.V_reset", vr[1], f"must be < V_peak ({vp[0]} mV)")
        if dT[1] > 0.0 and not (dT[0] > 0.0 and (vp[1] - th[0]) / dT[0] < MAX_EXP_ARG):
            raise SpecError(f"{field}.Delta_T", dT[0],
                            f"must be 0, or large enough that (V_peak - V_th) / Delta_T < {MAX_EXP_ARG:.4g} "
                            f"(V_peak - V_th up to {vp[1] - th[0]} mV): exp() would overflow at the spike")

    @staticmethod
    def calibrate(p, dt):
        """Spike detection level V_spike (V_peak, or V_th when Delta_T = 0; mV), refractory
        steps and dt (ms), arrays shaped like the parameters."""
        return {"V_spike": np.where(p["Delta_T"] > 0.0, p["V_peak"], p["V_th"]),
                "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
                "dt": np.full(p["t_ref"].shape[0], dt)}

    # NEST's NumericalInstability: the kernel marks such a neuron with refr = -1
    unstable_flag = "refr"
    instability_text = "V_m < -1000 mV or |w| > 1e6 pA"
    instability_hint = "reduce the input or gsl_error_tol"


register_rhs(AeifCondExp.Params, aeif_cond_exp_rhs)
