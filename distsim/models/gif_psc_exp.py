"""gif_psc_exp: generalized integrate-and-fire neuron with escape noise (NEST 3.10 semantics).

C_m dV/dt = -g_L (V - E_L) - I_stc + I_syn_ex + I_syn_in + I_e + I_stim;
hazard lambda = lambda_0 exp((V - E_sfa) / Delta_V), firing probability 1 - exp(-lambda h)
per step; E_sfa = V_T_star + sum_k theta_k (each spike adds q_sfa_k, decay tau_sfa_k);
I_stc = sum_k eta_k (each spike adds q_stc_k, decay tau_stc_k); exponential synaptic
currents; after a spike V is held at V_reset for t_ref. Order within a step as NEST's
(see kernels.gif.gif_psc_exp_block). Weights in pA. Random draws keyed by gid and step.
"""
import numpy as np

from ..kernels import libm
from ..kernels.gif import gif_psc_exp_block
from ..kernels.neurons import propagators_psc_exp
from .base import ListParam, NeuronModel, Param, Var


class GifPscExp(NeuronModel):
    """gif_psc_exp with NEST's defaults and parameter names (lambda_0 in 1/s)."""

    name = "gif_psc_exp"
    weight_unit = "pA"
    needs_keys = True
    params = {
        "C_m": Param(80.0, "pF", "positive"),
        "g_L": Param(4.0, "nS", "positive"),
        "E_L": Param(-70.0, "mV"),
        "V_reset": Param(-55.0, "mV"),
        "Delta_V": Param(0.5, "mV", "positive"),
        "V_T_star": Param(-35.0, "mV"),
        "lambda_0": Param(1.0, "1/s", "nonneg"),
        "t_ref": Param(4.0, "ms", "nonneg"),
        "tau_syn_ex": Param(2.0, "ms", "positive"),
        "tau_syn_in": Param(2.0, "ms", "positive"),
        "I_e": Param(0.0, "pA"),
    }
    list_params = {
        "q_sfa": ListParam((), "mV"),
        "tau_sfa": ListParam((), "ms", "positive"),
        "q_stc": ListParam((), "pA"),
        "tau_stc": ListParam((), "ms", "positive"),
    }
    list_pairs = (("tau_sfa", "q_sfa"), ("tau_stc", "q_stc"))
    # sfa_el / stc_el: the adaptation elements [neuron, component] (mV, pA)
    state = {"V": Var("mV", init="V_m"), "refr": Var("steps", np.int64, 0), "i0": Var("pA"),
             "I_syn_ex": Var("pA"), "I_syn_in": Var("pA"), "sfa_el": Var("mV", width="q_sfa"),
             "stc_el": Var("pA", width="q_stc")}
    derived = ("h", "P33", "P30", "P31", "P11_ex", "P11_in", "P21_ex", "P21_in",
               "lambda_0_per_ms", "ref_steps", "P_sfa", "P_stc")
    block = gif_psc_exp_block

    relations = ()  # what check_relations enforces

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """No cross-parameter constraint beyond the single ranges (escape noise needs none)."""

    @staticmethod
    def calibrate(p, dt):
        """Propagators (arrays over the group) for step dt (ms)."""
        tau_m = p["C_m"] / p["g_L"]
        P33, P11_ex, P21_ex = propagators_psc_exp(dt, tau_m, p["tau_syn_ex"], p["C_m"])
        _, P11_in, P21_in = propagators_psc_exp(dt, tau_m, p["tau_syn_in"], p["C_m"])
        return {
            "h": np.full(tau_m.shape[0], dt), "P33": P33, "P30": -libm.expm1(-dt / tau_m) * tau_m / p["C_m"], "P31": -libm.expm1(-dt / tau_m),
            "P11_ex": P11_ex, "P11_in": P11_in, "P21_ex": P21_ex, "P21_in": P21_in,
            "lambda_0_per_ms": p["lambda_0"] * 1e-3,
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
            "P_sfa": libm.exp(-dt / p["tau_sfa"]), "P_stc": libm.exp(-dt / p["tau_stc"]),
        }
