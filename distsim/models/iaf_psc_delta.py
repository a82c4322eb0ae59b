"""iaf_psc_delta: leaky integrate-and-fire neuron with delta-shaped synaptic input (NEST).

tau_m dV/dt = -(V - E_L) + tau_m/C_m * (I_e + I_stim); a spike of weight w (mV) makes V
jump by w in its arrival step; refractory for t_ref after a spike (V clamped at V_reset,
input arriving meanwhile is discarded). Exact integration on the grid:
V <- E_L + P33 (V - E_L) + P30 (I_e + I_stim) + input,  P33 = exp(-h/tau_m), P30 = tau_m/C_m (1 - P33).
"""
import numpy as np

from ..kernels.neurons import update_iaf_psc_delta
from .base import NeuronModel, Param


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
    state_names = ("V", "refr", "y0")

    @staticmethod
    def calibrate(p, dt):
        """Propagators (arrays over the group) from parameter arrays ``p`` for step dt (ms)."""
        P33 = np.exp(-dt / p["tau_m"])
        return {
            "P33": P33,
            "P30": p["tau_m"] / p["C_m"] * (1.0 - P33),
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
        }

    @staticmethod
    def init_state(n, V0, p=None, cal=None):
        """State arrays for n neurons with initial V_m = V0 (mV)."""
        return {"V": V0.astype(np.float64).copy(), "refr": np.zeros(n, np.int64),
                "y0": np.zeros(n)}

    @staticmethod
    def update(g, t0, nsteps, R, rings, pg, out, n_out, rec):
        """Run the kernel over a slice; returns (spike count, next voltmeter row)."""
        s, p, c = g.state, g.p, g.cal
        return update_iaf_psc_delta(
            t0, nsteps, g.lo, g.hi, R, s["V"], s["refr"], s["y0"],
            c["P33"], c["P30"], p["E_L"], p["I_e"], p["V_th"], p["V_reset"], p["V_min"],
            c["ref_steps"], rings[0], rings[1], rings[2], *pg, out[0], out[1], n_out, *rec)
