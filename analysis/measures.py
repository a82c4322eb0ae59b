"""Measures of network activity on in-memory spike data: population activity, mean rate,
Golomb's synchrony chi, the dominant oscillation frequency, trial-averaged window statistics.

Times in ms, rates in spikes/s, frequencies in Hz. Windows and bins follow the ONE
convention of :mod:`analysis.stats` (spike stamps are step ends; a window ``(t_start,
t_stop]`` of stamps holds the spikes of the steps in ``[t_start, t_stop)``; bin k holds the
stamps in ``(t_start + k bin, t_start + (k+1) bin]``; only full bins). ``dt_ms`` is the
simulation step (None if unknown, see :func:`analysis.stats.emission_times`).
"""

from __future__ import annotations

import numpy as np

from analysis.stats import bin_index, emission_times, in_window, isi_cv, n_full_bins, power_spectrum

__all__ = [
    "activity_spectrum",
    "dominant_frequency",
    "golomb_chi",
    "mean_cv_isi",
    "mean_rate",
    "population_activity",
    "regime_measures",
    "spike_count_chi",
    "trial_window_stats",
]


def population_activity(times: np.ndarray, n_neurons: int, t_start: float, t_stop: float,
                        bin_ms: float, dt_ms: float | None = None) -> np.ndarray:
    """Return the population rate (spikes/s per neuron) in consecutive ``bin_ms``-ms bins.

    ``times``: spike stamps (ms) of a population of ``n_neurons``; bin k covers the stamps in
    ``(t_start + k*bin_ms, t_start + (k+1)*bin_ms]`` ms; ``n_full_bins`` bins (float64).
    """
    nb = n_full_bins(t_start, t_stop, bin_ms)
    b = bin_index(emission_times(times, dt_ms), t_start, bin_ms)
    b = b[(b >= 0) & (b < nb)]
    return np.bincount(b, minlength=nb) / (n_neurons * bin_ms * 1e-3)


def mean_rate(ids: np.ndarray, times: np.ndarray, n_neurons: int, t_start: float,
              t_stop: float, dt_ms: float | None = None) -> float:
    """Return the mean firing rate (spikes/s) of ``n_neurons`` neurons over (t_start, t_stop] ms."""
    n = np.count_nonzero(in_window(times, t_start, t_stop, dt_ms))
    return float(n / (n_neurons * (t_stop - t_start) * 1e-3))


def mean_cv_isi(ids: np.ndarray, times: np.ndarray, n_neurons: int, min_spikes: int = 4) -> float:
    """Return the mean ISI CV (dimensionless) over neurons with >= ``min_spikes`` spikes (NaN if none)."""
    cv = isi_cv(ids, times, n_neurons, min_spikes=min_spikes)
    return float(np.nanmean(cv)) if np.isfinite(cv).any() else float("nan")


def golomb_chi(v_m: np.ndarray) -> float:
    """Return Golomb's synchrony chi (dimensionless, 0..1) of traces ``v_m`` [time, neuron].

    chi**2 = Var_t[mean_i v_i(t)] / mean_i Var_t[v_i(t)] (Golomb 2007, Scholarpedia 2:1347);
    1 for identical traces, about 1/sqrt(n_neurons) for independent ones. NaN if every
    trace is constant.
    """
    v = np.asarray(v_m, dtype=np.float64)
    denom = v.var(axis=0).mean()
    return float(np.sqrt(v.mean(axis=1).var() / denom)) if denom > 0 else float("nan")


def spike_count_chi(ids: np.ndarray, times: np.ndarray, n_neurons: int, t_start: float,
                    t_stop: float, bin_ms: float = 1.0, dt_ms: float | None = None) -> float:
    """Return Golomb's chi (dimensionless) on spike counts in ``bin_ms``-ms bins.

    chi**2 = Var_t[mean_i n_i(t)] / mean_i Var_t[n_i(t)], n_i(t) the count of neuron i
    (ids in [0, n_neurons)) in bin t of (t_start, t_stop] ms; about 1/sqrt(n_neurons) for
    independent neurons; depends on ``bin_ms``. NaN without spikes.
    """
    ids = np.asarray(ids, np.int64)
    nb = n_full_bins(t_start, t_stop, bin_ms)
    b = bin_index(emission_times(times, dt_ms), t_start, bin_ms)
    ok = (b >= 0) & (b < nb)
    ids, b = ids[ok], b[ok]
    if nb < 2 or ids.size == 0:
        return float("nan")
    pop = np.bincount(b, minlength=nb) / n_neurons
    key, cnt = np.unique(ids * nb + b, return_counts=True)
    sum_sq = np.bincount(key // nb, weights=cnt.astype(np.float64) ** 2, minlength=n_neurons)
    mean_i = np.bincount(ids, minlength=n_neurons) / nb
    var_i = sum_sq / nb - mean_i ** 2
    denom = var_i.mean()
    return float(np.sqrt(pop.var() / denom)) if denom > 0 else float("nan")


def activity_spectrum(activity: np.ndarray, bin_ms: float,
                      nperseg_ms: float = 256.0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(freqs_hz, psd)`` of a population rate sampled every ``bin_ms`` ms.

    Welch estimate of :func:`analysis.stats.power_spectrum` with segments of ``nperseg_ms``
    ms; psd one-sided in (spikes/s)**2/Hz.
    """
    return power_spectrum(activity, bin_ms, nperseg=int(round(nperseg_ms / bin_ms)))


def dominant_frequency(freqs: np.ndarray, psd: np.ndarray, f_min: float = 5.0,
                       f_max: float = 1000.0, half_width: float = 10.0) -> tuple[float, float]:
    """Return ``(f_peak_hz, osc_power_frac)``: the frequency (Hz) of the largest PSD value in
    [``f_min``, ``f_max``] Hz and the fraction (0..1) of the power in that band lying within
    +-``half_width`` Hz of it. (NaN, NaN) for an empty or all-zero spectrum."""
    m = (freqs >= f_min) & (freqs <= f_max)
    f, p = freqs[m], psd[m]
    if f.size == 0 or not np.any(p > 0):
        return float("nan"), float("nan")
    k = int(np.argmax(p))
    band = np.abs(f - f[k]) <= half_width
    return float(f[k]), float(p[band].sum() / p.sum())


def trial_window_stats(trials: list[dict], windows: dict, t_start: float, bin_ms: float) -> dict:
    """Per population and window: trial-averaged activity statistics.

    trials: list (one per trial) of dicts population -> activity (spikes/s) in ``bin_ms``
    bins starting at ``t_start`` ms (:func:`population_activity`); windows: name ->
    (a, b) ms, the bins lying in [a, b). Returns {"<pop>/<window>": {"mean": trial mean of
    the window mean (spikes/s), "sem": its standard error over trials (NaN for one trial),
    "var": trial mean of the variance of the binned activity ((spikes/s)^2)}}.
    """
    out = {}
    for p in trials[0]:
        t = t_start + bin_ms * np.arange(np.asarray(trials[0][p]).size)
        for w, (a, b) in windows.items():
            m = (t >= a) & (t < b)
            means = np.array([x[p][m].mean() for x in trials])
            var = np.array([x[p][m].var() for x in trials])
            sem = float(means.std(ddof=1) / np.sqrt(means.size)) if means.size > 1 else float("nan")
            out[f"{p}/{w}"] = {"mean": float(means.mean()), "sem": sem, "var": float(var.mean())}
    return out


def regime_measures(ids: np.ndarray, times: np.ndarray, n_E: int, n_I: int, t_start: float,
                    t_stop: float, dt_ms: float | None = None, v_m: np.ndarray | None = None,
                    spectrum_bin_ms: float = 0.1, nperseg_ms: float = 256.0, f_min: float = 5.0,
                    f_max: float = 1000.0, half_width: float = 10.0) -> dict:
    """Return the dynamical-regime measures of an E-I network as a dict of floats.

    ids: global neuron index (E first: 0..n_E-1, then I), times: stamps (ms), window
    (t_start, t_stop] ms; v_m [sample, neuron] (mV) or None. Keys: ``rate_hz``,
    ``rate_E_hz``, ``rate_I_hz`` (spikes/s), ``cv_isi`` (mean ISI CV), ``chi`` (Golomb chi
    on v_m; NaN without), ``chi_spikes_1ms`` (chi on 1 ms spike counts), ``f_peak_hz`` and
    ``osc_power_frac`` (:func:`dominant_frequency` of the Welch spectrum of the activity of
    all neurons in ``spectrum_bin_ms`` bins, ``nperseg_ms`` segments).
    """
    ids, times = np.asarray(ids, np.int64), np.asarray(times, np.float64)
    n = n_E + n_I
    e = ids < n_E
    act = population_activity(times, n, t_start, t_stop, spectrum_bin_ms, dt_ms)
    f_peak, frac = dominant_frequency(*activity_spectrum(act, spectrum_bin_ms, nperseg_ms), f_min=f_min,
                                      f_max=f_max, half_width=half_width)
    return {
        "rate_hz": mean_rate(ids, times, n, t_start, t_stop, dt_ms),
        "rate_E_hz": mean_rate(ids[e], times[e], n_E, t_start, t_stop, dt_ms),
        "rate_I_hz": mean_rate(ids[~e], times[~e], n_I, t_start, t_stop, dt_ms),
        "cv_isi": mean_cv_isi(ids, times, n),
        "chi": golomb_chi(v_m) if v_m is not None else float("nan"),
        "chi_spikes_1ms": spike_count_chi(ids, times, n, t_start, t_stop, 1.0, dt_ms),
        "f_peak_hz": f_peak,
        "osc_power_frac": frac,
    }
