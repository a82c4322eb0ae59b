"""Mean and standard deviation of the membrane input (diffusion approximation).

For a neuron of population i receiving K_ij inputs from population j (rate
nu_j, spikes/s), K_ext_i external Poisson inputs (rate nu_ext, spikes/s) and a
DC current I_e (pA)::

    mu_i      = 1e-3 tau_m (sum_j K_ij J_ij nu_j + K_ext_i J_ext_i nu_ext) + tau_m I_e,i / C_m
    sigma_i^2 = 1e-3 tau_m (sum_j K_ij J_ij^2 nu_j + K_ext_i J_ext_i^2 nu_ext)

with tau_m in ms, C_m in pF, mu and sigma in mV (1e-3 converts ms*spikes/s).
J (mV) is the PSP jump for delta synapses; for exponential current synapses
it is the integrated charge of the PSC divided by C_m,
``J = w * tau_s / C_m`` (w in pA, tau_s in ms), exactly as NNMT converts
weights (Fourcaud & Brunel 2002).

Also converts the parameter dicts of ``distsim.networks.*_params.derive()``
into the plain arrays used by the array-level functions.
"""

from __future__ import annotations

import numpy as np


def psc_to_mV(w, tau_s, C_m):
    """Return the charge-equivalent weight ``w * tau_s / C_m`` in mV (w pA, tau_s ms, C_m pF)."""
    return np.asarray(w, float) * np.asarray(tau_s, float) / np.asarray(C_m, float)


def _external_drive(K_ext, J_ext, nu_ext, power):
    """Return sum over external inputs of K_ext * J_ext**power * nu_ext (per target)."""
    K_ext = np.asarray(K_ext, float)
    J_ext = np.asarray(J_ext, float)
    nu_ext = np.asarray(nu_ext, float)
    prod = K_ext * J_ext**power
    if prod.ndim == 2:  # (targets, external sources)
        return prod @ np.broadcast_to(nu_ext, (prod.shape[1],))
    return prod * nu_ext


def _mean_input(nu, K, J, tau_m, K_ext=0.0, J_ext=0.0, nu_ext=0.0, I_e=0.0, C_m=1.0):
    """Return mu (mV, relative to E_L) per population.

    nu (spikes/s, sources), K (targets x sources), J (mV), tau_m (ms),
    K_ext / J_ext (mV) / nu_ext (spikes/s) external Poisson input,
    I_e (pA) and C_m (pF) for DC input.
    """
    nu = np.asarray(nu, float)
    K = np.asarray(K, float)
    J = np.asarray(J, float)
    tau_m = np.asarray(tau_m, float)
    rec = (K * J) @ nu
    ext = _external_drive(K_ext, J_ext, nu_ext, 1)
    return 1e-3 * tau_m * (rec + ext) + tau_m * np.asarray(I_e, float) / np.asarray(C_m, float)


def _std_input(nu, K, J, tau_m, K_ext=0.0, J_ext=0.0, nu_ext=0.0):
    """Return sigma (mV) per population; arguments as for ``_mean_input``."""
    nu = np.asarray(nu, float)
    K = np.asarray(K, float)
    J = np.asarray(J, float)
    var = 1e-3 * np.asarray(tau_m, float) * ((K * J**2) @ nu + _external_drive(K_ext, J_ext, nu_ext, 2))
    return np.sqrt(np.maximum(var, 0.0))


def network_arrays(params: dict) -> dict:
    """Return the mean-field arrays of a network parameter dict.

    Accepts the output of ``microcircuit_params.derive()`` (exponential
    current synapses) or ``brunel_params.derive()`` (delta synapses).
    Keys: populations, N (neurons), K (in-degrees, targets x sources),
    J (mV), tau_m, t_ref, tau_s (ms; tau_s = 0 for delta synapses),
    V_th_rel, V_reset_rel (mV, relative to E_L), K_ext, J_ext (mV),
    nu_ext (spikes/s), I_e (pA), C_m (pF), delay_mean, delay_std (ms),
    delay_dist ('none' or 'truncated_gaussian').
    """
    if "weight_matrix_mean" in params:  # microcircuit-style, iaf_psc_exp
        npar = params["neuron_params"]
        n = params["num_pops"]
        tau_ex, tau_in = float(npar["tau_syn_ex"]), float(npar["tau_syn_in"])
        C_m = float(npar["C_m"])
        W = np.asarray(params["weight_matrix_mean"], float)
        J = np.where(W >= 0, W * tau_ex, W * tau_in) / C_m
        poisson = params.get("poisson_input", True)
        K_ext = np.asarray(params["K_ext"], float) if poisson else np.zeros(n)
        return {
            "populations": list(params["populations"]),
            "N": np.asarray(params["num_neurons"], float),
            "K": np.asarray(params["indegrees"], float),
            "J": J,
            "tau_m": np.full(n, float(npar["tau_m"])),
            "t_ref": np.full(n, float(npar["t_ref"])),
            "tau_s": np.full(n, tau_ex),
            "V_th_rel": np.full(n, npar["V_th"] - npar["E_L"]),
            "V_reset_rel": np.full(n, npar["V_reset"] - npar["E_L"]),
            "K_ext": K_ext,
            "J_ext": np.full(n, params["weight_ext"] * tau_ex / C_m),
            "nu_ext": float(params["bg_rate"]),
            "I_e": np.asarray(params["DC_amp"], float),
            "C_m": np.full(n, C_m),
            "delay_mean": np.asarray(params["delay_matrix_mean"], float),
            "delay_std": np.asarray(params["delay_matrix_std"], float),
            "delay_dist": "truncated_gaussian",
        }
    if "CE" in params and "J" in params:  # Brunel, iaf_psc_delta
        npar = params["neuron_params"]
        n = len(params["populations"])
        return {
            "populations": list(params["populations"]),
            "N": np.asarray(params["num_neurons"], float),
            "K": np.asarray(params["K"], float),
            "J": np.asarray(params["J"], float),
            "tau_m": np.full(n, float(npar["tau_m"])),
            "t_ref": np.full(n, float(npar["t_ref"])),
            "tau_s": np.zeros(n),
            "V_th_rel": np.full(n, npar["V_th"] - npar["E_L"]),
            "V_reset_rel": np.full(n, npar["V_reset"] - npar["E_L"]),
            "K_ext": np.asarray(params["K_ext"], float),
            "J_ext": np.full(n, float(params["J_ext"])),
            "nu_ext": float(params["nu_ext"]),
            "I_e": np.full(n, float(npar.get("I_e", 0.0))),
            "C_m": np.full(n, float(npar["C_m"])),
            "delay_mean": np.asarray(params["delay_matrix"], float),
            "delay_std": np.zeros((n, n)),
            "delay_dist": "none",
        }
    raise ValueError("unrecognised parameter dict (expected microcircuit or brunel derive() output)")


def input_statistics(params: dict, nu) -> tuple[np.ndarray, np.ndarray]:
    """Return (mu, sigma) in mV per population for rates ``nu`` (spikes/s).

    ``params``: a ``derive()`` dict or the output of ``network_arrays``.
    mu is relative to E_L.
    """
    a = params if "V_th_rel" in params else network_arrays(params)
    mu = _mean_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"], a["I_e"], a["C_m"])
    sigma = _std_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"])
    return mu, sigma
