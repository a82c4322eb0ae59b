"""Plain-numpy reference implementations (load everything into memory) for tests.

Each function reads a whole population with ``dset[()]`` and computes one
quantity directly, in the most obvious way, so that the streaming reductions
of :mod:`analysis.spikes` can be checked against it on small files.  Only the
neuron sample (:func:`analysis.stats.sample_neurons`) and the window and bin convention
(:func:`analysis.stats.emission_times`: window ``(t_start, t_stop]`` in timestamps, bins
``floor((u - t_start) / bin_ms)`` of emission times u, full bins only) are shared with the
streaming code, because they are definitions rather than computations.
Do not use on full-scale files.
"""

from __future__ import annotations

import h5py
import numpy as np

from analysis import stats

__all__ = [
    "load_population",
    "ref_activity",
    "ref_cc",
    "ref_counts",
    "ref_cv",
    "ref_rates",
    "ref_spectrum",
]


def load_population(path: str, pop: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Return ``(local_ids int64, timestamps ms float64, size, gid_start)`` of a whole
    population (SONATA node ids are population-local)."""
    with h5py.File(path, "r") as f:
        g = f["spikes"][pop]
        gid_start = int(g.attrs["gid_start"])
        size = int(g.attrs["size"])
        ids = g["node_ids"][()].astype(np.int64)
        ts = g["timestamps"][()].astype(np.float64)
    return ids, ts, size, gid_start


def load_dt(path: str) -> float | None:
    """Return ``/meta@dt_ms`` (ms) of a file, or None without it."""
    with h5py.File(path, "r") as f:
        if "meta" in f and "dt_ms" in f["meta"].attrs:
            return float(f["meta"].attrs["dt_ms"])
    return None


def _emission(path: str, pop: str):
    ids, ts, size, _ = load_population(path, pop)
    return ids, stats.emission_times(ts, load_dt(path)), size


def ref_counts(path: str, pop: str, t_start: float, t_stop: float) -> np.ndarray:
    """Return spike counts per neuron (int64, length = population size) of the spikes stamped
    in ``(t_start, t_stop]`` ms."""
    ids, u, size = _emission(path, pop)
    counts = np.zeros(size, dtype=np.int64)
    sel = ids[(u >= t_start) & (u < t_stop)]
    uniq, n = np.unique(sel, return_counts=True)
    counts[uniq] = n
    return counts


def ref_rates(path: str, pop: str, t_start: float, t_stop: float) -> tuple[float, np.ndarray]:
    """Return ``(mean rate, per-neuron rates)`` in spikes/s over ``(t_start, t_stop]`` ms."""
    counts = ref_counts(path, pop, t_start, t_stop)
    dur_s = (t_stop - t_start) / 1000.0
    return counts.sum() / (counts.size * dur_s), counts / dur_s


def ref_activity(path: str, pop: str, t_start: float, t_stop: float,
                 bin_ms: float = 1.0) -> np.ndarray:
    """Return the population activity in spikes/s per neuron, one value per full ``bin_ms`` bin."""
    _, u, size = _emission(path, pop)
    nb = stats.n_full_bins(t_start, t_stop, bin_ms)
    b = np.floor((u - t_start) / bin_ms).astype(np.int64)
    b = b[(u >= t_start) & (u < t_stop) & (b < nb)]
    hist = np.zeros(nb, dtype=np.int64)
    np.add.at(hist, b, 1)
    return hist / (size * bin_ms / 1000.0)


def _sampled(path: str, pop: str, t_start: float, t_stop: float, n_sample, seed: int):
    ids, u, size = _emission(path, pop)
    sample = stats.sample_neurons(size, n_sample, seed, pop)
    w = (u >= t_start) & (u < t_stop)
    return ids[w], u[w], sample


def ref_cv(path: str, pop: str, t_start: float, t_stop: float, n_sample=None, seed: int = 12345,
           min_spikes: int = stats.DEFAULT_CV_MIN_SPIKES) -> np.ndarray:
    """Return ISI CVs (dimensionless, std/mean with ddof=0) of the neurons (all by default,
    else ``n_sample`` sampled ones) having at least ``min_spikes`` spikes in the window, in
    neuron order."""
    ids, ts, sample = _sampled(path, pop, t_start, t_stop, n_sample, seed)
    out = []
    for nid in sample:
        t = np.sort(ts[ids == nid])
        if t.size < min_spikes:
            continue
        isi = np.diff(t)
        if isi.mean() > 0:
            out.append(isi.std() / isi.mean())
    return np.array(out)


def ref_cc(path: str, pop: str, t_start: float, t_stop: float, n_sample=200, seed: int = 12345,
           bin_ms: float = stats.DEFAULT_CC_BIN_MS) -> np.ndarray:
    """Return count correlation coefficients (dimensionless) of all pairs of sampled,
    non-silent neurons, upper triangle in row-major order, via ``np.corrcoef``."""
    ids, ts, sample = _sampled(path, pop, t_start, t_stop, n_sample, seed)
    nb = stats.n_full_bins(t_start, t_stop, bin_ms)
    x = np.zeros((sample.size, nb))
    for k, nid in enumerate(sample):
        t = ts[ids == nid]
        b = np.floor((t - t_start) / bin_ms).astype(np.int64)
        b = b[b < nb]
        x[k] = np.bincount(b, minlength=nb)[:nb]
    x = x[x.var(axis=1) > 0]
    if x.shape[0] < 2:
        return np.empty(0)
    c = np.corrcoef(x)
    return c[np.triu_indices(x.shape[0], k=1)]


def ref_spectrum(path: str, pop: str, t_start: float, t_stop: float, bin_ms: float = 1.0,
                 nperseg: int = stats.DEFAULT_NPERSEG) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(freqs Hz, psd (spikes/s)**2/Hz)`` of the reference activity by Welch's method."""
    from scipy.signal import welch

    a = ref_activity(path, pop, t_start, t_stop, bin_ms)
    return welch(a, fs=1000.0 / bin_ms, nperseg=min(nperseg, a.size), detrend="constant")
