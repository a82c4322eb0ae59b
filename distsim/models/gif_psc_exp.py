"""gif_psc_exp: generalized integrate-and-fire neuron with escape noise (NEST 3.10 semantics).

C_m dV/dt = -g_L (V - E_L) - I_stc + I_syn_ex + I_syn_in + I_e + I_stim;
hazard lambda = lambda_0 exp((V - E_sfa) / Delta_V), firing probability 1 - exp(-lambda h)
per step; E_sfa = V_T_star + sum_k theta_k (each spike adds q_sfa_k, decay tau_sfa_k);
I_stc = sum_k eta_k (each spike adds q_stc_k, decay tau_stc_k); exponential synaptic
currents; after a spike V is held at V_reset for t_ref. Order within a step as NEST's
(see kernels.gif.update_gif_psc_exp). Weights in pA. Random draws keyed by gid and step.
"""
import numpy as np

from ..kernels.gif import update_gif_psc_exp
from ..kernels.neurons import propagators_psc_exp
from .base import ListParam, NeuronModel, Param


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
            "P33": P33, "P30": -np.expm1(-dt / tau_m) * tau_m / p["C_m"], "P31": -np.expm1(-dt / tau_m),
            "P11_ex": P11_ex, "P11_in": P11_in, "P21_ex": P21_ex, "P21_in": P21_in,
            "lambda_0_per_ms": p["lambda_0"] * 1e-3,
            "ref_steps": np.rint(p["t_ref"] / dt).astype(np.int64),
            "P_sfa": np.exp(-dt / p["tau_sfa"]), "P_stc": np.exp(-dt / p["tau_stc"]),
        }

    @staticmethod
    def init_state(n, V0, p, cal):
        """State for n neurons: V_m = V0 (mV), no adaptation, currents zero (pA)."""
        return {"V": V0.astype(np.float64).copy(), "refr": np.zeros(n, np.int64), "i0": np.zeros(n),
                "I_syn_ex": np.zeros(n), "I_syn_in": np.zeros(n),
                "sfa_el": np.zeros((n, p["q_sfa"].shape[1])), "stc_el": np.zeros((n, p["q_stc"].shape[1]))}

    @staticmethod
    def update(g, t0, nsteps, R, rings, pg, out, n_out, rec):
        """Run the kernel over a slice; returns (spike count, next voltmeter row)."""
        s, p, c = g.state, g.p, g.cal
        return update_gif_psc_exp(
            t0, nsteps, g.lo, g.hi, R, s["V"], s["refr"], s["i0"], s["I_syn_ex"], s["I_syn_in"],
            s["sfa_el"], s["stc_el"], g.keys, g.dt, c["P33"], c["P30"], c["P31"], c["P11_ex"],
            c["P11_in"], c["P21_ex"], c["P21_in"], p["E_L"], p["I_e"], p["V_reset"], p["V_T_star"],
            p["Delta_V"], c["lambda_0_per_ms"], c["ref_steps"], p["q_sfa"], c["P_sfa"], p["q_stc"],
            c["P_stc"], rings[0], rings[1], rings[2], *pg, out[0], out[1], n_out, *rec)
