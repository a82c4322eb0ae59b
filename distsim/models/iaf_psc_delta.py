"""iaf_psc_delta: leaky integrate-and-fire neuron with delta-shaped synaptic input (NEST).

tau_m dV/dt = -(V - E_L) + tau_m/C_m * (I_e + I_stim); a spike of weight w (mV) makes V
jump by w in its arrival step; refractory for t_ref after a spike (V clamped at V_reset,
input arriving meanwhile is discarded). Exact integration on the grid:
V <- E_L + P33 (V - E_L) + P30 (I_e + I_stim) + input,  P33 = exp(-h/tau_m), P30 = tau_m/C_m (1 - P33).
"""
import numpy as np
from numba import njit

from ..kernels import libm
from .base import NeuronModel, Param, Var


@njit(inline="always", cache=True)
def iaf_psc_delta_neuron(j, S, p, x):
    """One iaf_psc_delta neuron, one step (branch-free selects); returns the spike flag."""
    V, refr = S.V, S.refr
    r = refr[j]
    inp = x.rex[j] + x.rin[j]
    inp += x.pex[j] + x.pin[j]
    v = p.P30 * (S.y0[j] + p.I_e) + p.P33 * (V[j] - p.E_L) + inp
    v = max(v, p.V_min - p.E_L)
    vm = p.E_L + v if r == 0 else V[j]
    r = r - 1 if r > 0 else r
    spike = vm >= p.V_th
    V[j] = p.V_reset if spike else vm
    refr[j] = p.ref_steps if spike else r
    return spike


class IafPscDelta(NeuronModel):
    """iaf_psc_delta with NEST's defaults and parameter names."""

    name = "iaf_psc_delta"
    weight_unit = "mV"
    params = {
        "C_m": Param(250.0, "pF", "positive"),
        "tau_m": Param(10.0, "ms", "positive"),
        "t_ref": Param(2.0, "ms", "nonneg"),
        "E_L": Param(-70.0, "mV"),
        "V_th": Param(-55.0, "mV"),
        "V_reset": Param(-70.0, "mV"),
        "I_e": Param(0.0, "pA"),
        "V_min": Param(-np.inf, "mV", "lower"),
    }
    state = {"V": Var("mV", init="V_m"), "refr": Var("steps", np.int64, 0),
             "y0": Var("pA")}  # y0: current input of the previous step
    current_input = "y0"
    derived = ("P33", "P30", "ref_steps")
    neuron = iaf_psc_delta_neuron

    @staticmethod
    def calibrate(p, dt):
        """Propagators (arrays over the group) from parameter arrays ``p`` for step dt (ms)."""
        P33 = libm.exp(-dt / p["tau_m"])
        return {
            "P33": P33,
            "P30": p["tau_m"] / p["C_m"] * (1.0 - P33),
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
        }
