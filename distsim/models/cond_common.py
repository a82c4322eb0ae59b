"""What NEST's conductance-based models share here: iaf_cond_exp's and iaf_cond_alpha's
parameters (NEST 3.10 defaults), the derived constants and the initial state of the
integrator's step size."""
import numpy as np

from .base import NeuronModel, Param

IAF_COND_PARAMS = {
    "C_m": Param(250.0, "pF", "positive"),
    "g_L": Param(16.6667, "nS", "positive"),
    "E_L": Param(-70.0, "mV"),
    "E_ex": Param(0.0, "mV"),
    "E_in": Param(-85.0, "mV"),
    "V_th": Param(-55.0, "mV"),
    "V_reset": Param(-60.0, "mV"),
    "t_ref": Param(2.0, "ms", "nonneg"),
    "tau_syn_ex": Param(0.2, "ms", "positive"),
    "tau_syn_in": Param(2.0, "ms", "positive"),
    "I_e": Param(0.0, "pA"),
}


def calibrate_cond(p, dt):
    """Refractory steps (int64) and the step dt (ms), arrays shaped like the parameters."""
    return {"ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64), "dt": np.full(p["t_ref"].shape[0], dt)}


def init_state_cond(cls, n, V0, p, cal):
    """The declared initial state, with the integrator's step size h = dt (NEST starts
    IntegrationStep_ at the resolution)."""
    out = NeuronModel.init_state.__func__(cls, n, V0, p, cal)
    out["h"][:] = cal["dt"]
    return out
