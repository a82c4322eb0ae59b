"""iaf_psc_exp: leaky integrate-and-fire neuron with exponential synaptic currents (NEST).

C_m dV/dt = -C_m/tau_m (V - E_L) + I_ex + I_in + I_e + I_stim,  dI_x/dt = -I_x/tau_syn_x;
a spike of weight w (pA) adds w to I_ex (w >= 0) or I_in (w < 0). Exact integration:
V <- E_L + P22 (V - E_L) + P21_ex I_ex + P21_in I_in + P20 (I_e + I_stim); then I_x *= P11_x,
then this step's input is added; then threshold and reset. While refractory V stays at
V_reset and the currents keep evolving.
"""
import numpy as np
from numba import njit

from ..kernels.neurons import propagators_psc_exp
from .base import NeuronModel, Param, Var


@njit(inline="always", cache=True)
def iaf_psc_exp_neuron(j, S, p, x):
    """One iaf_psc_exp neuron, one step (branch-free selects); returns the spike flag."""
    V, refr, I_syn_ex, I_syn_in = S.V, S.refr, S.I_syn_ex, S.I_syn_in
    r = refr[j]
    v = p.E_L + ((V[j] - p.E_L) * p.P22 + I_syn_ex[j] * p.P21_ex + I_syn_in[j] * p.P21_in
                 + (p.I_e + S.i0[j]) * p.P20)
    vm = v if r == 0 else V[j]
    r = r - 1 if r > 0 else r
    ie = I_syn_ex[j] * p.P11_ex
    ie += x.rex[j] + x.pex[j]
    ii = I_syn_in[j] * p.P11_in
    ii += x.rin[j] + x.pin[j]
    I_syn_ex[j] = ie
    I_syn_in[j] = ii
    spike = vm >= p.V_th
    V[j] = p.V_reset if spike else vm
    refr[j] = p.ref_steps if spike else r
    return spike


class IafPscExp(NeuronModel):
    """iaf_psc_exp with NEST's defaults and parameter names."""

    name = "iaf_psc_exp"
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
    }
    state = {"V": Var("mV", init="V_m"), "refr": Var("steps", np.int64, 0),
             "i0": Var("pA"), "I_syn_ex": Var("pA"), "I_syn_in": Var("pA")}
    derived = ("P22", "P11_ex", "P11_in", "P21_ex", "P21_in", "P20", "ref_steps")
    neuron = iaf_psc_exp_neuron

    @staticmethod
    def calibrate(p, dt):
        """Propagators (arrays over the group) from parameter arrays ``p`` for step dt (ms)."""
        P22, P11_ex, P21_ex = propagators_psc_exp(dt, p["tau_m"], p["tau_syn_ex"], p["C_m"])
        _, P11_in, P21_in = propagators_psc_exp(dt, p["tau_m"], p["tau_syn_in"], p["C_m"])
        return {
            "P22": P22, "P11_ex": P11_ex, "P11_in": P11_in, "P21_ex": P21_ex, "P21_in": P21_in,
            "P20": p["tau_m"] / p["C_m"] * (1.0 - P22),
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
        }
