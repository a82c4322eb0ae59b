r"""Mean-field prediction of a Network next to a simulated run of it.

Builds a built-in model exactly as ``distsim run MODEL --set KEY=VALUE`` does, checks that an
output file holds that network (``/meta@spec_json``), and compares the mean-field rates and
spectra (:mod:`.spectra`: binned like the analysis) with an ``analysis.AnalysisResult`` of
the run. Used by ``scripts/meanfield_vs_simulation.py`` and its tests.

Units: ms, spikes/s, Hz, (spikes/s)^2/Hz.
"""
from __future__ import annotations

import json

import numpy as np

from . import working_point
from .network import delay_truncation, params_from_network
from .spectra import binned_power_spectra

#: frequency range (Hz) of the spectra comparison and the spectral summaries
F_MIN, F_MAX = 1.0, 400.0
#: bands (Hz) for the summary of sim / mean-field spectra
BANDS = ((2.0, 20.0), (20.0, 100.0), (100.0, 400.0))


def build(model: str, kwargs: dict):
    """The validated Network of built-in ``model`` with builder keyword arguments ``kwargs``.

    Goes through :func:`distsim.networks.build_builtin` with the values as strings, i.e.
    exactly the path ``distsim run MODEL --set KEY=VALUE`` takes.
    """
    from ..networks import build_builtin
    from ..spec import validate

    return validate(build_builtin(model, {k: str(v) for k, v in kwargs.items()}))


def spec_json(net) -> str:
    """The network description as ``distsim run`` stores it in ``/meta@spec_json``."""
    return json.dumps(net.to_dict(), default=str, sort_keys=True)


def network_from_file(path: str):
    """The validated Network stored in a distsim output file (``/meta@spec_json``)."""
    import h5py

    with h5py.File(path, "r") as f:
        raw = f["meta"].attrs["spec_json"]
    if isinstance(raw, bytes):
        raw = raw.decode()
    from ..spec import network_from_dict, validate

    return validate(network_from_dict(json.loads(raw, parse_constant=float)))


def same_spec(net, path: str) -> bool:
    """True when the output file ``path`` was simulated from exactly ``net``."""
    import h5py

    with h5py.File(path, "r") as f:
        raw = f["meta"].attrs.get("spec_json")
    if isinstance(raw, bytes):
        raw = raw.decode()
    return raw == spec_json(net)


def meanfield(net) -> dict:
    """Mean-field prediction for ``net``: params, populations, rates (spikes/s), mu, sigma (mV).

    ``rates`` has every population of the network (silent ones, without stationary input,
    at 0); ``active`` the populations of the mean-field system in its order.
    """
    params = params_from_network(net)
    wp = working_point(params)
    active = list(params["populations"])
    r = dict(zip(active, (float(x) for x in wp["rates"])))
    return {"params": params, "active": active, "nu": np.asarray(wp["rates"], float),
            "rates": {p.name: r.get(p.name, 0.0) for p in net.populations},
            "mu_mV": dict(zip(active, (float(x) for x in wp["mu"]))),
            "sigma_mV": dict(zip(active, (float(x) for x in wp["sigma"]))),
            "N": dict(zip(active, (int(x) for x in params["num_neurons"])))}


def rate_table(pred_rates: dict, sim_rates: dict, reference: dict | None = None) -> list[dict]:
    """Rows {population, meanfield, simulated, rel_diff[, reference]} (rates spikes/s).

    rel_diff = (simulated - meanfield) / meanfield (None when the mean-field rate is 0).
    """
    rows = []
    for pop, m in pred_rates.items():
        s = float(sim_rates[pop])
        row = {"population": pop, "meanfield": float(m), "simulated": s,
               "rel_diff": (s - m) / m if m > 0 else None}
        if reference:
            row["reference"] = reference.get(pop)
        rows.append(row)
    return rows


def compare(net, pred: dict, res, spectra: bool = True) -> dict:
    """Rate table and (for populations of the mean-field system) the spectra of one run.

    ``pred`` from :func:`meanfield`, ``res`` an ``analysis.AnalysisResult`` of a run of
    ``net``. Spectra on the analysis frequencies in [F_MIN, F_MAX] Hz, both one-sided, in
    (spikes/s)^2/Hz, mean-field binned like the analysis (:func:`.spectra.binned_power_spectra`);
    ``spectra=False`` leaves them out (empty ``freqs`` and ``spectra``).
    """
    sim_rates = {p.name: res[p.name].rate for p in net.populations if p.name in pred["rates"]
                 and any(q.name == p.name for q in res.populations)}
    ref = dict(net.reference_rates or {}) or None
    table = rate_table({k: v for k, v in pred["rates"].items() if k in sim_rates}, sim_rates, ref)
    bin_ms = float(res.params["activity_bin_ms"])
    f_sim = res[pred["active"][0]].freqs
    sel = (f_sim >= F_MIN) & (f_sim <= F_MAX) & spectra
    freqs = f_sim[sel]
    dmin = delay_truncation(net)
    P_bin = binned_power_spectra(pred["params"], freqs, pred["nu"], bin_ms, dmin) if spectra else None
    spec = {}
    for i, pop in enumerate(pred["active"] if spectra else []):
        psd = res[pop].psd[sel]
        spec[pop] = {"sim": psd, "mf": P_bin[:, i], "N": pred["N"][pop],
                        "nu_mf": float(pred["nu"][i]), "nu_sim": sim_rates.get(pop)}
    return {"model": net.name, "table": table, "freqs": freqs, "spectra": spec,
            "bin_ms": bin_ms, "delay_min_ms": dmin, "window_ms": [res.t_start, res.t_stop],
            "n_segments_welch": _n_segments(res, pred["active"][0]),
            "mu_mV": pred["mu_mV"], "sigma_mV": pred["sigma_mV"], "pred": pred}


def _n_segments(res, pop):
    """Number of Welch segments behind the spectrum of ``pop`` in ``res``."""
    n = res[pop].activity.size
    L = min(int(res.params["nperseg"]), n)
    return (n - L) // (L - L // 2) + 1 if n >= L else 0


def spectra_summary(cmp: dict) -> dict:
    """Per population: median of sim/mean-field in BANDS, and the peak frequencies (Hz)."""
    f = cmp["freqs"]
    out = {}
    for pop, s in cmp["spectra"].items():
        ratio = s["sim"] / s["mf"]
        d = {}
        for lo, hi in BANDS:
            m = (f >= lo) & (f < hi)
            d[f"median_ratio_{int(lo)}_{int(hi)}Hz"] = float(np.median(ratio[m])) if m.any() else None
        hi = f >= 20.0  # gamma-range peak, away from the low-frequency rise
        d["peak_hz_mf"] = float(f[hi][np.argmax(s["mf"][hi])]) if hi.any() else None
        d["peak_hz_sim"] = float(f[hi][np.argmax(s["sim"][hi])]) if hi.any() else None
        out[pop] = d
    return out
