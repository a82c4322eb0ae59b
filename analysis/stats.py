"""Statistics on in-memory spike data (ISI CV, spike-count correlations, spectra) and the
one time-window and binning convention of :mod:`analysis` and the scripts.

The functions work on the spike trains that :mod:`analysis.spikes` collects during its
streaming pass (a neuron sample for correlations, groups of neurons for the CV), so their
memory use does not grow with network size.  Pure numpy; no file layout.

Conventions (used everywhere in :mod:`analysis` and by ``scripts/*.py`` that bin spikes):

- times are in ms, rates in spikes/s, frequencies in Hz;
- a spike's timestamp is the END of the simulation step that emitted it: the spikes of
  step ``[k dt, (k+1) dt)`` are stamped ``(k+1) dt`` (distsim and NEST alike), so a run of
  ``t_sim`` ms has stamps in ``(0, t_sim]``;
- a time window ``(t_start, t_stop]`` in stamps holds exactly the spikes of the steps in
  ``[t_start, t_stop)``; ``t_start = t_presim`` therefore drops the warm-up's last step and
  keeps the run's last step;
- this is computed on *emission times* ``u = t - dt/2`` (the middle of the emitting step,
  :func:`emission_times`) with the half-open window ``[t_start, t_stop)``, which is exact for
  window and bin edges on the dt grid and immune to the rounding of ``t = k * dt``;
  without a known dt, ``u = t - 1e-6 ms``;
- a spike falls in bin ``floor((u - t_start) / bin_ms)``, i.e. bin k holds the stamps in
  ``(t_start + k bin_ms, t_start + (k+1) bin_ms]``; only *full* bins are used,
  ``n_full_bins(t_start, t_stop, bin_ms)`` of them.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = [
    "NO_DT_SHIFT_MS",
    "emission_shift_ms",
    "emission_times",
    "in_window",
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

#: Neurons sampled per population for count correlations (the ISI CV uses every neuron).
DEFAULT_N_SAMPLE = 200
#: Shift (ms) from a timestamp to its emission time when the step length is unknown.
NO_DT_SHIFT_MS = 1e-6
#: A neuron enters the CV distribution only with at least this many spikes in
#: the window (i.e. >= 3 ISIs); CVs from 1-2 intervals are dominated by noise.
DEFAULT_CV_MIN_SPIKES = 4
#: Bin width (ms) of the spike-count vectors whose correlation coefficients are computed.
DEFAULT_CC_BIN_MS = 5.0
#: Welch segment length in bins (1024 bins of 1 ms -> ~0.98 Hz frequency resolution).
DEFAULT_NPERSEG = 1024


def emission_shift_ms(dt_ms: float | None) -> float:
    """Return the shift (ms) from a spike's timestamp to its emission time: ``dt_ms / 2``,
    or :data:`NO_DT_SHIFT_MS` when ``dt_ms`` is None or not > 0."""
    if dt_ms is None or not np.isfinite(dt_ms) or dt_ms <= 0:
        return NO_DT_SHIFT_MS
    return 0.5 * float(dt_ms)


def emission_times(times: np.ndarray, dt_ms: float | None) -> np.ndarray:
    """Return emission times ``u = times - emission_shift_ms(dt_ms)`` (float64, ms) of spikes
    stamped ``times`` (ms) at the end of their step; windows and bins apply to ``u``."""
    return np.asarray(times, dtype=np.float64) - emission_shift_ms(dt_ms)


def in_window(times: np.ndarray, t_start: float, t_stop: float,
              dt_ms: float | None) -> np.ndarray:
    """Return the bool mask of spikes stamped ``times`` (ms) in the window ``(t_start, t_stop]``
    ms, i.e. emitted by the steps in ``[t_start, t_stop)`` (see the module conventions)."""
    u = emission_times(times, dt_ms)
    return (u >= t_start) & (u < t_stop)


def n_full_bins(t_start: float, t_stop: float, bin_ms: float) -> int:
    """Return the number (int) of complete bins of ``bin_ms`` ms in ``[t_start, t_stop)`` ms."""
    if bin_ms <= 0:
        raise ValueError(f"bin width must be > 0 ms, got {bin_ms}")
    return max(0, int(np.floor((t_stop - t_start) / bin_ms + 1e-9)))


def bin_index(times: np.ndarray, t_start: float, bin_ms: float) -> np.ndarray:
    """Return int64 bin indices ``floor((times - t_start) / bin_ms)`` for *emission* times in
    ms (:func:`emission_times`; bin k then holds stamps in (t_start + k bin, t_start + (k+1) bin])."""
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

    Spikes (``ids`` in ``[0, n_neurons)``, *emission* ``times`` in ms) are counted in
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
