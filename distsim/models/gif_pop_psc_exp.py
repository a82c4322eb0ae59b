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

from ..kernels.gif import POP_RECORDABLES, adaptation_kernel, history_length, update_gif_pop_psc_exp
from ..kernels.neurons import propagators_psc_exp
from ..spec.errors import SpecError
from .base import ListParam, NeuronModel, Param


class GifPopPscExp(NeuronModel):
    """gif_pop_psc_exp with NEST's defaults and parameter names."""

    name = "gif_pop_psc_exp"
    weight_unit = "pA"
    needs_keys = True
    emits_multiplicity = True
    collapse_shared = False
    recordables = {k: v[0] for k, v in POP_RECORDABLES.items()}
    recordable_codes = {k: v[1] for k, v in POP_RECORDABLES.items()}
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
            theta_tld[j, :L[j]] = p["Delta_V"][j] * (1.0 - np.exp(-th / p["Delta_V"][j])) / p["N"][j]
        Q30 = np.exp(-dt / p["tau_sfa"])
        # the paper's J_k = q_sfa_k tau_sfa_k, decayed over the history
        Q30K = p["q_sfa"] * p["tau_sfa"] * np.exp(-dt * L[:, None] / p["tau_sfa"])
        return {
            "L": L, "k_ref": np.rint(p["t_ref"] / dt).astype(np.int64),
            "P22": P22, "P20": p["tau_m"] / p["C_m"] * (1.0 - P22),
            "P11_ex": P11_ex, "P11_in": P11_in, "P21_ex": P21_ex, "P21_in": P21_in,
            "theta": theta, "theta_tld": theta_tld, "Q30": Q30, "Q30K": Q30K,
        }

    @staticmethod
    def init_state(n, V0, p, cal):
        """The paper's InitPopulations: all N neurons fired one step before the start (the
        newest history bin holds N), free pool empty; V_m = V0 (mV), currents zero."""
        Lmax = cal["theta"].shape[1]
        nh = np.zeros((n, Lmax))
        mh = np.zeros((n, Lmax))
        for j in range(n):
            nh[j, cal["L"][j] - 1] = p["N"][j]
            mh[j, cal["L"][j] - 1] = p["N"][j]
        return {"V": V0.astype(np.float64).copy(), "I_syn_ex": np.zeros(n), "I_syn_in": np.zeros(n),
                "i0": np.zeros(n), "scal": np.zeros((n, 5)), "kint": np.zeros((n, 2), np.int64),
                "n_hist": nh, "m_hist": mh, "v_hist": np.zeros((n, Lmax)),
                "u_hist": np.zeros((n, Lmax)), "lam_hist": np.zeros((n, Lmax)),
                "g_sfa": np.zeros((n, p["q_sfa"].shape[1]))}

    @staticmethod
    def update(g, t0, nsteps, R, rings, pg, out, n_out, rec):
        """Run the kernel over a slice; returns (output record count, next voltmeter row)."""
        s, p, c = g.state, g.p, g.cal
        rec_idx, rec_buf, rec_interval, rec_row = rec
        return update_gif_pop_psc_exp(
            t0, nsteps, g.lo, g.hi, R, s["V"], s["I_syn_ex"], s["I_syn_in"], s["i0"], s["scal"],
            s["kint"], s["n_hist"], s["m_hist"], s["v_hist"], s["u_hist"], s["lam_hist"],
            s["g_sfa"], g.keys, g.dt, p["N"], c["L"], c["k_ref"], c["P22"], c["P20"],
            c["P11_ex"], c["P11_in"], c["P21_ex"], c["P21_in"], p["tau_m"], p["tau_syn_ex"],
            p["tau_syn_in"], p["C_m"], p["E_L"], p["I_e"], p["V_reset"], p["V_T_star"],
            p["Delta_V"], p["lambda_0"], c["theta"], c["theta_tld"], c["Q30"], c["Q30K"],
            p["BinoRand"], rings[0], rings[1], rings[2], *pg, out[0], out[1], out[2], n_out,
            rec_idx, g.rec_codes, rec_buf, rec_interval, rec_row)
