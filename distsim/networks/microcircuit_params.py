"""Potjans & Diesmann (2014) microcircuit: base parameters and derived quantities.

The base parameters live in ``microcircuit.toml`` (same directory).  ``derive``
turns them into everything a simulator or a mean-field calculation needs,
following the PyNEST microcircuit example (``network.py`` / ``helpers.py``):

* total synapse numbers from connection probabilities, computed with the FULL
  population sizes (fixed_total_number, multapses allowed)::

      N_syn[i, j] = log(1 - p[i, j]) / log(1 - 1 / (N_full[i] * N_full[j]))

  then scaled by ``N_scaling * K_scaling`` and rounded;
* PSC amplitudes (pA) from PSP amplitudes (mV) via the peak of the
  exponential-current PSP (``postsynaptic_potential_to_current``);
* DC input replacing the Poisson background if ``poisson_input=False``::

      I_DC = bg_rate * K_ext * PSC_ext * tau_syn * 1e-3      (pA)

* for ``K_scaling < 1``: weights divided by ``sqrt(K_scaling)`` and a DC that
  restores the mean input of the full network (using ``full_mean_rates``)::

      I_DC += 1e-3 * tau_syn * (1 - sqrt(K_scaling))
              * (sum_j w_ij K_ij nu_j  [+ PSC_ext K_ext bg_rate if Poisson])

Units: ms, mV, pA, pF, spikes/s.  Matrices are indexed [target, source].
Pure numpy; no simulator imports.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np

TOML_PATH = Path(__file__).with_name("microcircuit.toml")


def load_base_params(path: str | Path | None = None) -> dict:
    """Return the raw parameters of ``microcircuit.toml`` as nested dicts.

    Sections: ``network``, ``neuron``, ``thalamus``, ``dc_stimulus``,
    ``simulation``; units as documented in the TOML file (ms, mV, pA, pF,
    spikes/s).
    """
    with open(path or TOML_PATH, "rb") as f:
        return tomllib.load(f)


def num_synapses_from_conn_probs(conn_probs, popsize_post, popsize_pre) -> np.ndarray:
    """Return the expected total number of synapses (float, targets x sources).

    ``K = log(1 - p) / log(1 - 1/(N_post * N_pre))``: the number of synapses
    that, drawn with replacement among all ``N_post*N_pre`` pairs
    (fixed_total_number with multapses), connects a given pair with
    probability ``p``.  Dimensionless counts.
    """
    from ..kernels import libm  # the C library's log on every CPU (see kernels/libm.py)

    conn_probs = np.asarray(conn_probs, dtype=float)
    prod = np.outer(popsize_post, popsize_pre).astype(float)
    # NEST's exact floating-point expression (log((prod-1)/prod) rather than the
    # more accurate log1p(-1/prod), ~2e-8 relative apart) so that the rounded
    # integer synapse numbers are identical to the PyNEST example.
    return libm.log(1.0 - conn_probs) / libm.log((prod - 1.0) / prod)


def postsynaptic_potential_to_current(C_m: float, tau_m: float, tau_syn: float) -> float:
    """Return PSC_over_PSP (pA per mV): the current amplitude whose PSP peaks at 1 mV.

    PSP kernel of an exponential current ``J exp(-t/tau_syn)`` into a leaky
    membrane (C_m in pF, tau_m and tau_syn in ms)::

        v(t) = J tau_m tau_syn / (C_m (tau_m - tau_syn)) (e^{-t/tau_m} - e^{-t/tau_syn})

    evaluated at its maximum ``t* = tau_m tau_syn log(tau_m/tau_syn)/(tau_m - tau_syn)``.
    For ``tau_syn == tau_m`` the limit ``v_max = J tau_m / (e C_m)`` is used.
    """
    if np.isclose(tau_syn, tau_m, rtol=1e-12, atol=0.0):
        return float(np.e * C_m / tau_m)
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return float(1.0 / (pre * (frac**tau_m - frac**tau_syn)))


def dc_input_compensating_poisson(bg_rate, K_ext, tau_syn, PSC_ext) -> np.ndarray:
    """Return the DC (pA) with the same mean as the Poisson background.

    ``bg_rate`` spikes/s per input, ``K_ext`` inputs, ``tau_syn`` ms, ``PSC_ext`` pA.
    """
    return bg_rate * np.asarray(K_ext, dtype=float) * PSC_ext * tau_syn * 1e-3


def adjust_weights_and_input_to_synapse_scaling(
    full_num_neurons,
    full_num_synapses,
    K_scaling,
    mean_PSC_matrix,
    PSC_ext,
    tau_syn,
    full_mean_rates,
    DC_amp,
    poisson_input,
    bg_rate,
    K_ext,
):
    """Return (PSC_matrix pA, PSC_ext pA, DC_amp pA) compensated for ``K_scaling``.

    Weights are divided by ``sqrt(K_scaling)`` (keeps the input variance) and
    a DC is added that restores the mean input of the full network given the
    ``full_mean_rates`` (spikes/s).
    """
    sq = np.sqrt(K_scaling)
    PSC_matrix_new = mean_PSC_matrix / sq
    PSC_ext_new = PSC_ext / sq
    indegree_matrix = full_num_synapses / np.asarray(full_num_neurons, float)[:, np.newaxis]
    input_rec = np.sum(mean_PSC_matrix * indegree_matrix * full_mean_rates, axis=1)
    DC_amp_new = DC_amp + 1e-3 * tau_syn * (1.0 - sq) * input_rec
    if poisson_input:
        input_ext = PSC_ext * np.asarray(K_ext, float) * bg_rate
        DC_amp_new = DC_amp_new + 1e-3 * tau_syn * (1.0 - sq) * input_ext
    return PSC_matrix_new, PSC_ext_new, DC_amp_new


def scaled_indegrees(num_synapses, num_neurons) -> np.ndarray:
    """Return the mean in-degree (targets x sources, float) of a network with these synapse
    totals and population sizes: ``num_synapses / num_neurons[:, None]``.

    This is the in-degree of the network that is simulated (``fixed_total_number`` with the
    rounded totals onto the rounded populations), and what ``params_from_network`` derives
    from it, so ``derive()`` and ``distsim meanfield microcircuit`` are one computation. It
    differs from ``full_indegrees * K_scaling`` by the rounding: at N_scaling = 0.1, L5I has
    round(106.5) = 106 neurons, 0.47 % more synapses each, which moves the mean-field L5E
    rate by 3.7 %. NaN for a population of 0 neurons (``microcircuit()`` refuses those).
    """
    n = np.asarray(num_neurons, float)[:, np.newaxis]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.asarray(num_synapses, float) / np.where(n > 0, n, 1.0), np.nan)


def _exc_inh_matrix(val_exc, val_inh, num_pops):
    """Return a (num_pops x num_pops) matrix: even source columns val_exc, odd val_inh."""
    m = np.zeros((num_pops, num_pops))
    m[:, 0::2] = val_exc
    m[:, 1::2] = val_inh
    return m


def _apply_overrides(base: dict, overrides: dict | None) -> dict:
    """Return a copy of ``base`` with ``overrides`` applied.

    Keys are either ``"section.key"`` (e.g. ``"neuron.t_ref"``) or a bare key
    that must exist in exactly one section (e.g. ``"bg_rate"``).
    """
    p = copy.deepcopy(base)
    for key, val in (overrides or {}).items():
        if "." in key:
            section, _, sub = key.partition(".")
            if section not in p or sub not in p[section]:
                raise KeyError(f"unknown microcircuit parameter {key!r}")
            p[section][sub] = val
            continue
        hits = [s for s in p if isinstance(p[s], dict) and key in p[s]]
        if len(hits) != 1:
            raise KeyError(
                f"unknown or ambiguous microcircuit parameter {key!r} "
                f"(found in sections {hits}); use 'section.key'"
            )
        p[hits[0]][key] = val
    return p


def derive(
    N_scaling: float = 1.0,
    K_scaling: float = 1.0,
    poisson_input: bool = True,
    V0_type: str = "optimized",
    overrides: dict | None = None,
) -> dict:
    """Return the derived microcircuit parameters as a dict of numpy arrays.

    Parameters
    ----------
    N_scaling, K_scaling
        Scale factors for neuron numbers and in-degrees.
    poisson_input
        True: Poisson background; False: equivalent DC (``DC_amp``).
    V0_type
        ``"optimized"`` or ``"original"`` initial membrane potentials.
    overrides
        Base parameters to replace before deriving, ``{"bg_rate": 9.0}`` or
        ``{"neuron.t_ref": 1.0}`` (see ``_apply_overrides``).

    Returns (units in brackets; matrices [target, source])
    -------
    populations (list of str), num_pops,
    full_num_neurons, num_neurons (int), conn_probs,
    full_num_synapses (float expected totals at full scale),
    num_synapses (int, rounded ``full * N_scaling * K_scaling``),
    full_indegrees (float, full_num_synapses / full_num_neurons[:, None]),
    indegrees (float, ``num_synapses / num_neurons[:, None]``: the mean in-degree of the
    network ``microcircuit()`` builds, the one the mean-field uses; see ``scaled_indegrees``),
    PSP_matrix_mean [mV], PSC_over_PSP [pA/mV],
    weight_matrix_mean [pA] (after K-scaling compensation),
    weight_matrix_std [pA] (``|mean| * weight_rel_std``),
    weight_ext [pA], delay_matrix_mean [ms], delay_matrix_std [ms],
    delay_poisson [ms], K_ext_full, K_ext (int, rounded ``K_ext * K_scaling``),
    bg_rate [spikes/s], poisson_rates [spikes/s per neuron's generator],
    DC_amp [pA] (I_e per population), V0_mean [mV], V0_std [mV] (per population),
    neuron_params (NEST names; C_m pF, tau_m/t_ref/tau_syn_ex/tau_syn_in ms,
    E_L/V_th/V_reset mV), full_mean_rates [spikes/s], thalamus (dict),
    dc_stimulus (dict), simulation (dict), and the scalars used.
    """
    base = _apply_overrides(load_base_params(), overrides)
    net, neu = base["network"], base["neuron"]
    th, dcs = base["thalamus"], base["dc_stimulus"]

    populations = list(net["populations"])
    num_pops = len(populations)
    full_num_neurons = np.asarray(net["full_num_neurons"], dtype=int)
    conn_probs = np.asarray(net["conn_probs"], dtype=float)
    K_ext_full = np.asarray(net["K_ext"], dtype=float)
    full_mean_rates = np.asarray(net["full_mean_rates"], dtype=float)
    if conn_probs.shape != (num_pops, num_pops):
        raise ValueError("conn_probs must be num_pops x num_pops")

    # synapse numbers from FULL sizes, then scaled and rounded (NEST example)
    full_num_synapses = num_synapses_from_conn_probs(conn_probs, full_num_neurons, full_num_neurons)
    num_neurons = np.round(full_num_neurons * N_scaling).astype(int)
    num_synapses = np.round(full_num_synapses * N_scaling * K_scaling).astype(int)
    K_ext = np.round(K_ext_full * K_scaling).astype(int)
    full_indegrees = full_num_synapses / full_num_neurons[:, np.newaxis]

    # weights
    tau_syn = float(neu["tau_syn"])
    PSC_over_PSP = postsynaptic_potential_to_current(neu["C_m"], neu["tau_m"], tau_syn)
    PSP_matrix_mean = _exc_inh_matrix(net["PSP_exc_mean"], net["PSP_exc_mean"] * net["g"], num_pops)
    PSP_matrix_mean[0, 2] = net["PSP_L4E_to_L23E_factor"] * net["PSP_exc_mean"]
    PSC_matrix_mean = PSP_matrix_mean * PSC_over_PSP
    PSC_ext = net["PSP_exc_mean"] * PSC_over_PSP

    if poisson_input:
        DC_amp = np.zeros(num_pops)
    else:
        DC_amp = dc_input_compensating_poisson(net["bg_rate"], K_ext_full, tau_syn, PSC_ext)

    if K_scaling != 1:
        PSC_matrix_mean, PSC_ext, DC_amp = adjust_weights_and_input_to_synapse_scaling(
            full_num_neurons,
            full_num_synapses,
            K_scaling,
            PSC_matrix_mean,
            PSC_ext,
            tau_syn,
            full_mean_rates,
            DC_amp,
            poisson_input,
            net["bg_rate"],
            K_ext_full,
        )

    # delays
    delay_matrix_mean = _exc_inh_matrix(net["delay_exc_mean"], net["delay_inh_mean"], num_pops)
    delay_matrix_std = delay_matrix_mean * net["delay_rel_std"]

    # initial membrane potentials
    if V0_type not in ("optimized", "original"):
        raise ValueError('V0_type must be "optimized" or "original"')
    V0 = neu["V0"][V0_type]
    V0_mean = np.broadcast_to(np.asarray(V0["mean"], float), (num_pops,)).copy()
    V0_std = np.broadcast_to(np.asarray(V0["std"], float), (num_pops,)).copy()

    neuron_params = {
        "C_m": float(neu["C_m"]),
        "tau_m": float(neu["tau_m"]),
        "t_ref": float(neu["t_ref"]),
        "E_L": float(neu["E_L"]),
        "V_th": float(neu["V_th"]),
        "V_reset": float(neu["V_reset"]),
        "tau_syn_ex": tau_syn,
        "tau_syn_in": tau_syn,
    }

    # thalamic input: synapse numbers from full target sizes, not N-scaled (NEST)
    conn_probs_th = np.asarray(th["conn_probs_th"], float)
    num_th_synapses = num_synapses_from_conn_probs(
        conn_probs_th[np.newaxis, :], [th["num_th_neurons"]], full_num_neurons
    )[0]
    weight_th = th["PSP_th"] * PSC_over_PSP
    if K_scaling != 1:
        num_th_synapses = num_th_synapses * K_scaling
        weight_th = weight_th / np.sqrt(K_scaling)
    thalamus = {
        "thalamic_input": bool(th["thalamic_input"]),
        "num_th_neurons": int(th["num_th_neurons"]),
        "th_rate": float(th["th_rate"]),
        "th_start": float(th["th_start"]),
        "th_duration": float(th["th_duration"]),
        "conn_probs_th": conn_probs_th,
        "num_th_synapses": np.round(num_th_synapses).astype(int),
        "PSP_th": float(th["PSP_th"]),
        "weight_th": float(weight_th),
        "weight_th_std": float(weight_th * net["weight_rel_std"]),
        "delay_th_mean": float(th["delay_th_mean"]),
        "delay_th_std": float(th["delay_th_mean"] * th["delay_th_rel_std"]),
    }
    dc_stimulus = {
        "dc_input": bool(dcs["dc_input"]),
        "dc_start": float(dcs["dc_start"]),
        "dc_dur": float(dcs["dc_dur"]),
        "dc_amp": float(dcs["dc_amp"]) * K_ext_full,
    }

    return {
        "neuron_model": net["neuron_model"],
        "populations": populations,
        "num_pops": num_pops,
        "N_scaling": float(N_scaling),
        "K_scaling": float(K_scaling),
        "poisson_input": bool(poisson_input),
        "V0_type": V0_type,
        "full_num_neurons": full_num_neurons,
        "num_neurons": num_neurons,
        "conn_probs": conn_probs,
        "full_num_synapses": full_num_synapses,
        "num_synapses": num_synapses,
        "full_indegrees": full_indegrees,
        "indegrees": scaled_indegrees(num_synapses, num_neurons),
        "PSP_exc_mean": float(net["PSP_exc_mean"]),
        "g": float(net["g"]),
        "PSP_matrix_mean": PSP_matrix_mean,
        "PSC_over_PSP": PSC_over_PSP,
        "weight_rel_std": float(net["weight_rel_std"]),
        "weight_matrix_mean": PSC_matrix_mean,
        "weight_matrix_std": np.abs(PSC_matrix_mean * net["weight_rel_std"]),
        "weight_ext": float(PSC_ext),
        "delay_rel_std": float(net["delay_rel_std"]),
        "delay_matrix_mean": delay_matrix_mean,
        "delay_matrix_std": delay_matrix_std,
        "delay_poisson": float(net["delay_poisson"]),
        "K_ext_full": K_ext_full.astype(int),
        "K_ext": K_ext,
        "bg_rate": float(net["bg_rate"]),
        "poisson_rates": float(net["bg_rate"]) * K_ext,
        "DC_amp": np.asarray(DC_amp, dtype=float),
        "V0_mean": V0_mean,
        "V0_std": V0_std,
        "neuron_params": neuron_params,
        "full_mean_rates": full_mean_rates,
        "thalamus": thalamus,
        "dc_stimulus": dc_stimulus,
        "simulation": dict(base["simulation"]),
    }
