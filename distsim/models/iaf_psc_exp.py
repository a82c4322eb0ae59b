"""iaf_psc_exp: leaky integrate-and-fire neuron with exponential synaptic currents (NEST).

C_m dV/dt = -C_m/tau_m (V - E_L) + I_ex + I_in + I_e + I_stim,  dI_x/dt = -I_x/tau_syn_x;
a spike of weight w (pA) adds w to I_ex (w >= 0) or I_in (w < 0). Exact integration:
V <- E_L + P22 (V - E_L) + P21_ex I_ex + P21_in I_in + P20 (I_e + I_stim); then I_x *= P11_x,
then this step's input is added; then threshold and reset. While refractory V stays at
V_reset and the currents keep evolving.
"""
import numpy as np

from ..kernels.neurons import propagators_psc_exp, update_iaf_psc_exp
from .base import NeuronModel, Param


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
    state_names = ("V", "refr", "i0", "I_syn_ex", "I_syn_in")

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

    @staticmethod
    def init_state(n, V0, p=None, cal=None):
        """State arrays for n neurons with initial V_m = V0 (mV), currents zero (pA)."""
        return {"V": V0.astype(np.float64).copy(), "refr": np.zeros(n, np.int64),
                "i0": np.zeros(n), "I_syn_ex": np.zeros(n), "I_syn_in": np.zeros(n)}

    @staticmethod
    def update(g, t0, nsteps, R, rings, pg, out, n_out, rec):
        """Run the kernel over a slice; returns (spike count, next voltmeter row)."""
        s, p, c = g.state, g.p, g.cal
        return update_iaf_psc_exp(
            t0, nsteps, g.lo, g.hi, R, s["V"], s["refr"], s["i0"], s["I_syn_ex"], s["I_syn_in"],
            c["P22"], c["P11_ex"], c["P11_in"], c["P21_ex"], c["P21_in"], c["P20"],
            p["E_L"], p["I_e"], p["V_th"], p["V_reset"], c["ref_steps"],
            rings[0], rings[1], rings[2], *pg, out[0], out[1], n_out, *rec)
