"""gif_pop_psc_exp: a finite population of N GIF neurons simulated at the mesoscopic level
(Schwalger, Deger & Gerstner 2017, PLoS Comput Biol 13:e1005507), with NEST 3.10's
parameters and input semantics.

One node of this model stands for N neurons (escape rate lambda_0 exp((V - theta)/Delta_V)
in 1/s, threshold theta = V_T_star + adaptation kernel sum_k q_sfa_k exp(-t/tau_sfa_k),
absolute refractoriness t_ref, reset V_reset, exponential synaptic currents). Per step it
emits the number of its neurons that fire as one output record with that multiplicity;
a target receives weight x multiplicity. Input: spikes of neurons or of other nodes (weights
in pA), current generators, Poisson generators. Recordables: V_m (mV, the free membrane
potential), n_events (spikes emitted in the step), mean (expected number of spikes in the
step), E_sfa (mV, the free threshold), I_syn_ex, I_syn_in (pA). Algorithm: kernels.gif.
"""
import numpy as np

from ..kernels import libm
from ..kernels.gif import adaptation_kernel, gif_pop_psc_exp_node, history_length
from ..kernels.neurons import propagators_psc_exp
from ..spec.errors import SpecError
from .base import ListParam, NeuronModel, Param, Var


class GifPopPscExp(NeuronModel):
    """gif_pop_psc_exp with NEST's defaults and parameter names."""

    name = "gif_pop_psc_exp"
    weight_unit = "pA"
    needs_keys = True
    emits_multiplicity = True
    collapse_shared = False
    recordables = {"V_m": "mV", "n_events": "1", "mean": "1", "E_sfa": "mV", "I_syn_ex": "pA",
                   "I_syn_in": "pA"}
    record_from_state = {"V_m": "V", "n_events": "n_events", "mean": "mean", "E_sfa": "E_sfa",
                         "I_syn_ex": "I_syn_ex", "I_syn_in": "I_syn_in"}
    # free pool: hazard lam_free (1/s), expected number x_free, variance z_free; mean: the
    # step's expected spike number; E_sfa (mV): free threshold; k0: rotating history index;
    # history bins [node, L_max] (see kernels.gif.gif_pop_psc_exp_node); g_sfa [node, kernel]
    state = {"V": Var("mV", init="V_m"), "I_syn_ex": Var("pA"), "I_syn_in": Var("pA"),
             "i0": Var("pA"), "lam_free": Var("1/s"), "x_free": Var("1"), "z_free": Var("1"),
             "mean": Var("1"), "E_sfa": Var("mV"), "k0": Var("bin", np.int64, 0),
             "n_events": Var("1"), "n_hist": Var("1"), "m_hist": Var("1"), "v_hist": Var("1"),
             "u_hist": Var("mV"), "lam_hist": Var("1/s"), "g_sfa": Var("1/ms", width="q_sfa")}
    derived = ("h", "L", "k_ref", "P22", "P20", "P11_ex", "P11_in", "P21_ex", "P21_in",
               "theta", "theta_tld", "Q30", "Q30K")
    neuron = gif_pop_psc_exp_node
    params = {
        "N": Param(100, "neurons", "count"),
        "tau_m": Param(20.0, "ms", "positive"),
        "C_m": Param(250.0, "pF", "positive"),
        "t_ref": Param(4.0, "ms", "nonneg"),
        "lambda_0": Param(10.0, "1/s", "nonneg"),
        "Delta_V": Param(2.0, "mV", "positive"),
        "len_kernel": Param(-1, "steps", "kernel"),
        "I_e": Param(0.0, "pA"),
        "V_reset": Param(0.0, "mV"),
        "V_T_star": Param(15.0, "mV"),
        "E_L": Param(0.0, "mV"),
        "tau_syn_ex": Param(3.0, "ms", "positive"),
        "tau_syn_in": Param(6.0, "ms", "positive"),
    }
    list_params = {
        "tau_sfa": ListParam((300.0,), "ms", "positive"),
        "q_sfa": ListParam((0.5,), "mV"),
    }
    list_pairs = (("tau_sfa", "q_sfa"),)
    bool_params = {"BinoRand": True}

    relations = ("len_kernel * dt_ms > t_ref, or len_kernel = -1",)  # what check_relations enforces

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """The history must be longer than the refractory period."""
        L = rng.get("len_kernel", (-1, -1))[0]
        t_ref = rng.get("t_ref", (cls.params["t_ref"].default,) * 2)[1]
        if L >= 1 and L * dt_ms <= t_ref:
            raise SpecError(f"{field}.len_kernel", int(L),
                            f"must be > t_ref / dt_ms = {t_ref / dt_ms:g} steps, or -1 (automatic)")

    @staticmethod
    def calibrate(p, dt):
        """Per-node constants for step dt (ms): propagators, history length L (steps),
        refractory bins, threshold kernel of each history bin and its finite-size part."""
        n = p["N"].shape[0]
        P22, P11_ex, P21_ex = propagators_psc_exp(dt, p["tau_m"], p["tau_syn_ex"], p["C_m"])
        _, P11_in, P21_in = propagators_psc_exp(dt, p["tau_m"], p["tau_syn_in"], p["C_m"])
        L = np.empty(n, np.int64)
        for j in range(n):
            q, tau = p["q_sfa"][j], p["tau_sfa"][j]
            L[j] = int(p["len_kernel"][j]) if p["len_kernel"][j] >= 1 else history_length(
                dt, p["tau_m"][j], p["t_ref"][j], p["Delta_V"][j], q, tau)
        Lmax = int(L.max()) if n else 1
        theta = np.zeros((n, Lmax))
        theta_tld = np.zeros((n, Lmax))
        for j in range(n):
            lag = L[j] - np.arange(L[j])  # bin km of the history is L - km steps old
            th = adaptation_kernel(lag, dt, p["q_sfa"][j], p["tau_sfa"][j])
            theta[j, :L[j]] = th
            theta_tld[j, :L[j]] = p["Delta_V"][j] * (1.0 - libm.exp(-th / p["Delta_V"][j])) / p["N"][j]
        Q30 = libm.exp(-dt / p["tau_sfa"])
        # the paper's J_k = q_sfa_k tau_sfa_k, decayed over the history
        Q30K = p["q_sfa"] * p["tau_sfa"] * libm.exp(-dt * L[:, None] / p["tau_sfa"])
        return {
            "h": np.full(n, dt), "L": L, "k_ref": np.rint(p["t_ref"] / dt).astype(np.int64),
            "P22": P22, "P20": p["tau_m"] / p["C_m"] * (1.0 - P22),
            "P11_ex": P11_ex, "P11_in": P11_in, "P21_ex": P21_ex, "P21_in": P21_in,
            "theta": theta, "theta_tld": theta_tld, "Q30": Q30, "Q30K": Q30K,
        }

    @classmethod
    def init_state(cls, n, V0, p, cal):
        """The paper's InitPopulations: all N neurons fired one step before the start (the
        newest history bin holds N), free pool empty; V_m = V0 (mV), currents zero."""
        Lmax = cal["theta"].shape[1]
        out = super().init_state(n, V0, p, cal)
        for k in ("n_hist", "m_hist", "v_hist", "u_hist", "lam_hist"):
            out[k] = np.zeros((n, Lmax))
        for j in range(n):
            out["n_hist"][j, cal["L"][j] - 1] = p["N"][j]
            out["m_hist"][j, cal["L"][j] - 1] = p["N"][j]
        return out
