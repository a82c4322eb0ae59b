"""Statistics on (small) in-memory spike data: ISI CV, spike-count correlations, spectra.

These functions work on the *sampled* spike trains that :mod:`analysis.spikes`
collects during its streaming pass (a fixed number of neurons per population,
default 200), so their memory use does not grow with network size.  They are
pure numpy/scipy and do not depend on the file layout.

Conventions (used everywhere in :mod:`analysis`):

- times are in ms, rates in spikes/s, frequencies in Hz;
- a time window is half-open, ``[t_start, t_stop)``;
- a spike at time ``t`` falls in bin ``floor((t - t_start) / bin_ms)``; only
  *full* bins are used, i.e. ``n_full_bins(t_start, t_stop, bin_ms)`` of them.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = [
    "DEFAULT_CC_BIN_MS",
    "DEFAULT_CV_MIN_SPIKES",
    "DEFAULT_N_SAMPLE",
    "DEFAULT_NPERSEG",
    "bin_index",
    "count_correlations",
    "isi_cv",
    "n_full_bins",
    "power_spectrum",
    "sample_neurons",
]

#: Neurons sampled per population for ISI CV and count correlations.
DEFAULT_N_SAMPLE = 200
#: A neuron enters the CV distribution only with at least this many spikes in
#: the window (i.e. >= 3 ISIs); CVs from 1-2 intervals are dominated by noise.
DEFAULT_CV_MIN_SPIKES = 4
#: Bin width (ms) of the spike-count vectors whose correlation coefficients are computed.
DEFAULT_CC_BIN_MS = 5.0
#: Welch segment length in bins (1024 bins of 1 ms -> ~0.98 Hz frequency resolution).
DEFAULT_NPERSEG = 1024


def n_full_bins(t_start: float, t_stop: float, bin_ms: float) -> int:
    """Return the number (int) of complete bins of ``bin_ms`` ms in ``[t_start, t_stop)`` ms."""
    if bin_ms <= 0:
        raise ValueError(f"bin width must be > 0 ms, got {bin_ms}")
    return max(0, int(np.floor((t_stop - t_start) / bin_ms + 1e-9)))


def bin_index(times: np.ndarray, t_start: float, bin_ms: float) -> np.ndarray:
    """Return int64 bin indices ``floor((times - t_start) / bin_ms)`` for times in ms."""
    return np.floor((np.asarray(times, dtype=np.float64) - t_start) / bin_ms).astype(np.int64)


def sample_neurons(size: int, n_sample: int | None, seed: int, key: str = "") -> np.ndarray:
    """Return sorted local neuron indices (int64, in ``[0, size)``) drawn without replacement.

    ``n_sample=None`` or ``n_sample >= size`` returns all neurons.  The draw is
    reproducible: it depends only on ``seed``, ``key`` (use the population name)
    and ``size``.
    """
    if n_sample is None or n_sample >= size:
        return np.arange(size, dtype=np.int64)
    if n_sample < 0:
        raise ValueError(f"n_sample must be >= 0, got {n_sample}")
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
    return np.sort(rng.choice(size, size=n_sample, replace=False)).astype(np.int64)


def isi_cv(ids: np.ndarray, times: np.ndarray, n_neurons: int,
           min_spikes: int = DEFAULT_CV_MIN_SPIKES) -> np.ndarray:
    """Return per-neuron coefficient of variation of inter-spike intervals (dimensionless).

    ``ids`` are indices in ``[0, n_neurons)``, ``times`` in ms, in any order.
    CV = std(ISI) / mean(ISI), with the population standard deviation (ddof=0).
    The result has length ``n_neurons``; neurons with fewer than ``min_spikes``
    spikes (or a zero mean ISI) are NaN.
    """
    ids = np.asarray(ids, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    cv = np.full(n_neurons, np.nan)
    if ids.size < 2:
        return cv
    order = np.lexsort((times, ids))
    ids_s, t_s = ids[order], times[order]
    same = ids_s[1:] == ids_s[:-1]
    isi = np.diff(t_s)[same]
    owner = ids_s[1:][same]
    n_isi = np.bincount(owner, minlength=n_neurons)
    s1 = np.bincount(owner, weights=isi, minlength=n_neurons)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n_isi
        dev = isi - mean[owner]
        var = np.bincount(owner, weights=dev * dev, minlength=n_neurons) / n_isi
        ok = (n_isi >= max(1, min_spikes - 1)) & (mean > 0)
        cv[ok] = np.sqrt(var[ok]) / mean[ok]
    return cv


def count_correlations(ids: np.ndarray, times: np.ndarray, n_neurons: int,
                       t_start: float, t_stop: float,
                       bin_ms: float = DEFAULT_CC_BIN_MS,
                       segment_bins: int = 2048) -> np.ndarray:
    """Return Pearson correlation coefficients (dimensionless) of binned spike counts.

    Spikes (``ids`` in ``[0, n_neurons)``, ``times`` in ms) are counted in
    ``bin_ms``-ms bins over the full bins of ``[t_start, t_stop)``.  The result
    holds one value per unordered pair ``i < j`` of neurons whose count
    variance is non-zero (silent neurons are left out), in row-major
    upper-triangle order.  The count matrix is never built in full: the time
    axis is processed in segments of ``segment_bins`` bins, accumulating sums
    and the cross-product matrix, so memory is O(n_neurons**2 + n_neurons *
    segment_bins).
    """
    ids = np.asarray(ids, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    nb = n_full_bins(t_start, t_stop, bin_ms)
    if nb < 2 or n_neurons < 2:
        return np.empty(0)
    b = bin_index(times, t_start, bin_ms)
    keep = (b >= 0) & (b < nb)
    b, ids = b[keep], ids[keep]
    order = np.argsort(b, kind="stable")
    b, ids = b[order], ids[order]
    s = np.zeros(n_neurons)
    q = np.zeros((n_neurons, n_neurons))
    for k0 in range(0, nb, segment_bins):
        k1 = min(nb, k0 + segment_bins)
        i0, i1 = np.searchsorted(b, [k0, k1])
        if i0 == i1:
            continue
        width = k1 - k0
        flat = ids[i0:i1] * width + (b[i0:i1] - k0)
        x = np.bincount(flat, minlength=n_neurons * width).astype(np.float64)
        x = x.reshape(n_neurons, width)
        s += x.sum(axis=1)
        q += x @ x.T
    mean = s / nb
    cov = q / nb - np.outer(mean, mean)
    var = np.diag(cov).copy()
    # zero variance (silent or perfectly regular counts) up to rounding of q/nb - mean**2
    good = np.flatnonzero((var > 0) & (var > 1e-10 * mean * mean))
    if good.size < 2:
        return np.empty(0)
    sd = np.sqrt(var[good])
    corr = cov[np.ix_(good, good)] / np.outer(sd, sd)
    iu = np.triu_indices(good.size, k=1)
    return np.clip(corr[iu], -1.0, 1.0)


def power_spectrum(activity: np.ndarray, bin_ms: float,
                   nperseg: int = DEFAULT_NPERSEG) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(freqs_hz, psd)`` of an activity trace by Welch's method.

    ``activity`` is a population rate sampled every ``bin_ms`` ms (spikes/s);
    the PSD is one-sided, in (spikes/s)**2/Hz.  Segments are ``nperseg`` bins
    long (shortened to the trace length if needed), overlap by half, have
    their mean removed and a periodic Hann window applied; a trailing partial
    segment is dropped.  This is the same estimate as ``scipy.signal.welch``
    with its defaults (checked in the tests), written in numpy to avoid
    importing scipy.signal (~50 MB) in the analysis process.  Empty arrays if
    the trace has fewer than 8 bins.
    """
    x = np.asarray(activity, dtype=np.float64)
    if x.size < 8:
        return np.empty(0), np.empty(0)
    fs = 1000.0 / bin_ms
    n = min(int(nperseg), x.size)
    step = n - n // 2
    n_seg = (x.size - n) // step + 1
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    acc = np.zeros(n // 2 + 1)
    segs = np.lib.stride_tricks.sliding_window_view(x, n)[::step][:n_seg]
    for i in range(0, n_seg, 256):             # bounded temporaries on long traces
        seg = segs[i:i + 256]
        spec = np.fft.rfft((seg - seg.mean(axis=1, keepdims=True)) * win, axis=1)
        acc += (spec.real ** 2 + spec.imag ** 2).sum(axis=0)
    psd = acc / (n_seg * fs * np.sum(win * win))
    psd[1:-1 if n % 2 == 0 else None] *= 2.0   # one-sided: double all but DC (and Nyquist)
    return np.fft.rfftfreq(n, d=1.0 / fs), psd
