"""Lazy, chunked reading and streaming reduction of distsim spike files.

File layout (SONATA spikes, written by distsim; :mod:`analysis.synthetic` writes the same)::

    /spikes/<pop>/node_ids     uint64, global neuron id (gid), 1-D, chunked
    /spikes/<pop>/timestamps   float64, attr units="ms"
    /spikes/<pop>              attrs sorting ("none"|"by_time"), size, gid_start, gid_stop
    /meta                      attrs dt_ms, t_sim_ms, t_presim_ms, seed, n_ranks, model,
                               spec_json, reference_rates_json (optional), ...
    /report/<pop>/{data,node_ids,times}   membrane potential (not used here)

Spikes are only *roughly* time ordered (blocks from several ranks per flush),
so nothing here relies on order.  Each population's two datasets are wrapped
with ``dask.array.from_array`` (chunks = a multiple of the HDF5 chunk) and
reduced block by block: every block yields a small partial result (per-neuron
counts via ``np.bincount(..., minlength=size)``, a histogram over the block's
own time span, and the spikes of a fixed neuron sample), and partials are
folded into accumulators as the blocks are computed, a few at a time, by
dask's threaded scheduler.  Peak memory is therefore a few blocks plus
O(size + n_time_bins + spikes of the sampled neurons), independent of the
number of spikes in the file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import h5py
import numpy as np

from analysis import stats

__all__ = [
    "AnalysisResult",
    "PopulationInfo",
    "PopulationResult",
    "SpikeFile",
    "analyze_file",
    "DEFAULT_BLOCK_SPIKES",
]

#: Spikes per dask block (rounded up to a multiple of the HDF5 chunk length).
#: 2**18 spikes = 4 MiB of (node_ids, timestamps) per block; with its temporaries a
#: block needs ~13 MiB while it is reduced.
DEFAULT_BLOCK_SPIKES = 1 << 18
#: Bin width (ms) of the population activity trace and its spectrum.
DEFAULT_ACTIVITY_BIN_MS = 1.0
#: Raster figure defaults: about this many neurons in total (spread over the
#: populations in proportion to their size, at least 50 each) ...
DEFAULT_RASTER_NEURONS = 2000
#: ... over this much time (ms) from the start of the analysis window.
DEFAULT_RASTER_MS = 500.0


def _attr(obj: h5py.HLObject, name: str, default: Any = None) -> Any:
    """Return attribute ``name`` of an h5py object as a plain Python value (or ``default``)."""
    if name not in obj.attrs:
        return default
    v = obj.attrs[name]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass(frozen=True)
class PopulationInfo:
    """Static description of one population in a spike file (gids are global ids)."""

    name: str
    gid_start: int
    gid_stop: int
    size: int
    sorting: str
    n_spikes: int


class SpikeFile:
    """A distsim spike file opened read-only with h5py; datasets exposed as lazy dask arrays.

    Use as a context manager.  Nothing is read until a dask array is computed.
    """

    def __init__(self, path: str, block_spikes: int = DEFAULT_BLOCK_SPIKES):
        self.path = str(path)
        self.block_spikes = int(block_spikes)
        self._f = h5py.File(self.path, "r")
        if "spikes" not in self._f:
            self._f.close()
            raise ValueError(f"{self.path}: no /spikes group (not a distsim spike file?)")
        pops = []
        for name, g in self._f["spikes"].items():
            if not isinstance(g, h5py.Group) or "node_ids" not in g or "timestamps" not in g:
                continue
            n_ids, n_ts = g["node_ids"].shape[0], g["timestamps"].shape[0]
            if n_ids != n_ts:
                raise ValueError(f"{self.path}: /spikes/{name} has {n_ids} node_ids "
                                 f"but {n_ts} timestamps")
            units = _attr(g["timestamps"], "units", "ms")
            if units != "ms":
                raise ValueError(f"{self.path}: /spikes/{name}/timestamps units {units!r}, "
                                 "expected 'ms'")
            if "gid_start" not in g.attrs:
                raise ValueError(f"{self.path}: /spikes/{name} lacks the gid_start attribute")
            gid_start = int(_attr(g, "gid_start"))
            gid_stop = int(_attr(g, "gid_stop", gid_start + int(_attr(g, "size", 0))))
            size = int(_attr(g, "size", gid_stop - gid_start))
            if size != gid_stop - gid_start:
                raise ValueError(f"{self.path}: /spikes/{name}: size {size} != "
                                 f"gid_stop - gid_start = {gid_stop - gid_start}")
            pops.append(PopulationInfo(name, gid_start, gid_stop, size,
                                       str(_attr(g, "sorting", "none")), n_ids))
        if not pops:
            self._f.close()
            raise ValueError(f"{self.path}: /spikes holds no population")
        #: Populations in gid order (the file's own group order is alphabetical).
        self.populations: list[PopulationInfo] = sorted(pops, key=lambda p: p.gid_start)
        self.meta: dict[str, Any] = {}
        if "meta" in self._f:
            self.meta = {k: _attr(self._f["meta"], k) for k in self._f["meta"].attrs}

    # -- context manager -------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying HDF5 file (returns None)."""
        self._f.close()

    def __enter__(self) -> "SpikeFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- accessors ---------------------------------------------------------------------------
    def population(self, name: str) -> PopulationInfo:
        """Return the :class:`PopulationInfo` of population ``name``."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r} in {self.path}")

    def _dask(self, name: str, field_: str) -> da.Array:
        dset = self._f["spikes"][name][field_]
        h5chunk = dset.chunks[0] if dset.chunks else 1
        block = max(h5chunk, -(-self.block_spikes // h5chunk) * h5chunk)
        block = max(1, min(block, dset.shape[0]))
        return da.from_array(dset, chunks=(block,), lock=True, name=f"{field_}-{name}-{id(dset)}")

    def node_ids(self, name: str) -> da.Array:
        """Return the lazy dask array of global neuron ids (uint64) of population ``name``."""
        return self._dask(name, "node_ids")

    def timestamps(self, name: str) -> da.Array:
        """Return the lazy dask array of spike times (float64, ms) of population ``name``."""
        return self._dask(name, "timestamps")

    @property
    def reference_rates(self) -> dict[str, float] | None:
        """Return reference rates (spikes/s) per population from ``/meta`` or None if absent."""
        raw = self.meta.get("reference_rates_json")
        if not raw:
            return None
        try:
            d = json.loads(raw)
        except (TypeError, ValueError):
            return None
        if not isinstance(d, dict):
            return None
        out = {}
        for k, v in d.items():
            try:
                out[str(k)] = float(v)
            except (TypeError, ValueError):
                continue                     # not a number: no reference for that population
        return out or None

    def default_window(self) -> tuple[float, float]:
        """Return the default analysis window ``(t_start, t_stop)`` in ms.

        ``t_start`` is ``/meta@t_presim_ms`` (the warm-up is discarded) or 0;
        ``t_stop`` is ``/meta@t_sim_ms`` or, if absent, just past the last spike.
        """
        t_start = float(self.meta.get("t_presim_ms") or 0.0)
        t_stop = self.meta.get("t_sim_ms")
        if t_stop is None:
            maxima = [self.timestamps(p.name).max() for p in self.populations if p.n_spikes]
            last = max(dask.compute(*maxima)) if maxima else t_start
            t_stop = float(np.nextafter(last, np.inf))
        return t_start, float(t_stop)


@dataclass
class PopulationResult:
    """Everything computed for one population.

    Units: ``rate`` and ``rates`` spikes/s, ``activity`` spikes/s per neuron
    (one value per ``activity_bin_ms`` bin), ``freqs`` Hz, ``psd``
    (spikes/s)**2/Hz, raster times ms; ``cv`` and ``cc`` are dimensionless.
    """

    name: str
    size: int
    gid_start: int
    n_spikes_total: int
    n_spikes: int
    rate: float
    rates: np.ndarray
    cv: np.ndarray
    cc: np.ndarray
    n_sampled: int
    activity: np.ndarray
    freqs: np.ndarray
    psd: np.ndarray
    raster_ids: np.ndarray
    raster_times: np.ndarray
    n_raster: int
    reference_rate: float | None = None

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of scalar summaries (rates spikes/s, peak frequency Hz)."""
        def f(x):
            x = float(x)
            return None if not np.isfinite(x) else x

        def dist(a):
            a = np.asarray(a, dtype=float)
            a = a[np.isfinite(a)]
            if a.size == 0:
                return {"n": 0, "mean": None, "std": None, "median": None, "p5": None,
                        "p95": None}
            return {"n": int(a.size), "mean": f(a.mean()), "std": f(a.std()),
                    "median": f(np.median(a)), "p5": f(np.percentile(a, 5)),
                    "p95": f(np.percentile(a, 95))}

        peak = None
        if self.freqs.size > 1:
            k = 1 + int(np.argmax(self.psd[1:]))  # skip the 0 Hz bin
            peak = f(self.freqs[k])
        return {
            "size": self.size,
            "gid_start": self.gid_start,
            "n_spikes_total": self.n_spikes_total,
            "n_spikes_window": self.n_spikes,
            "rate": f(self.rate),
            "reference_rate": None if self.reference_rate is None else f(self.reference_rate),
            "rate_dist": dist(self.rates),
            "silent_fraction": f(np.mean(self.rates == 0)) if self.rates.size else None,
            "n_sampled": self.n_sampled,
            "cv": dist(self.cv),
            "cc": dist(self.cc),
            "spectrum_peak_hz": peak,
        }


@dataclass
class AnalysisResult:
    """Result of :func:`analyze_file`: window in ms plus one :class:`PopulationResult` each."""

    path: str
    t_start: float
    t_stop: float
    params: dict[str, Any]
    meta: dict[str, Any]
    populations: list[PopulationResult] = field(default_factory=list)

    @property
    def rates(self) -> dict[str, float]:
        """Return population name -> mean rate in spikes/s over the window."""
        return {p.name: p.rate for p in self.populations}

    @property
    def reference_rates(self) -> dict[str, float] | None:
        """Return population name -> reference rate in spikes/s, or None if the file has none."""
        ref = {p.name: p.reference_rate for p in self.populations
               if p.reference_rate is not None}
        return ref or None

    def __getitem__(self, name: str) -> PopulationResult:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary: ``rates`` (spikes/s) and per-population stats."""
        n = sum(p.size for p in self.populations)
        tot = sum(p.n_spikes for p in self.populations)
        dur_s = (self.t_stop - self.t_start) / 1000.0
        meta_keys = ("model", "dt_ms", "t_sim_ms", "t_presim_ms", "seed", "n_ranks",
                     "n_synapses", "build_time_s", "sim_time_s", "rtf", "peak_rss_bytes")
        meta = {k: _jsonable(self.meta[k]) for k in meta_keys if k in self.meta}
        return {
            "file": self.path,
            "t_start_ms": self.t_start,
            "t_stop_ms": self.t_stop,
            "rates": {p.name: _finite(p.rate) for p in self.populations},
            "reference_rates": self.reference_rates,
            "mean_rate": _finite(tot / (n * dur_s)) if n and dur_s > 0 else None,
            "n_neurons": n,
            "populations": {p.name: p.summary() for p in self.populations},
            "params": self.params,
            "meta": meta,
        }


def _jsonable(v: Any) -> Any:
    """Return ``v`` as plain JSON data: arrays -> lists, numpy scalars -> Python, NaN/inf -> None."""
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    return v


def _finite(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# the per-block kernel and the streaming pass
# ---------------------------------------------------------------------------------------------
@dataclass
class _ScanSpec:
    name: str
    gid_start: int
    size: int
    t_start: float
    t_stop: float
    bin_ms: float
    n_bins: int
    sample_pos: np.ndarray  # local id -> position in sample, or -1
    raster_pos: np.ndarray  # local id -> row in raster sample, or -1
    raster_stop: float


def _block_partial(ids: np.ndarray, ts: np.ndarray, spec: _ScanSpec) -> dict[str, Any]:
    """Reduce one block of spikes to small partials (pure numpy, runs in a dask task).

    Written to keep temporaries few (about 6 arrays of the block's length).
    """
    ids = np.asarray(ids)
    gid_stop = spec.gid_start + spec.size
    if ids.size and (int(ids.min()) < spec.gid_start or int(ids.max()) >= gid_stop):
        bad = ids[(ids < spec.gid_start) | (ids >= gid_stop)][0]
        raise ValueError(f"population {spec.name}: node id {bad} outside its gid range "
                         f"[{spec.gid_start}, {gid_stop})")
    ts = np.asarray(ts, dtype=np.float64)
    win = (ts >= spec.t_start) & (ts < spec.t_stop)
    if win.all():
        tw = ts
        local = ids.astype(np.int64)
    else:
        tw = ts[win]
        local = ids[win].astype(np.int64, copy=False)
    del win
    local -= spec.gid_start
    out: dict[str, Any] = {"counts": np.bincount(local, minlength=spec.size)}
    # activity histogram over the block's own span of bins (same rule as stats.bin_index)
    b = tw - spec.t_start
    b /= spec.bin_ms
    np.floor(b, out=b)
    b = b.astype(np.int64)
    b = b[b < spec.n_bins]
    if b.size:
        lo = int(b.min())
        b -= lo
        out["hist"] = (lo, np.bincount(b))
    del b
    # spikes of sampled neurons (CV, CC) and of raster neurons
    pos = spec.sample_pos[local]
    m = pos >= 0
    out["sample"] = (pos[m], tw[m])
    pos = spec.raster_pos[local]
    m = pos >= 0
    m &= tw < spec.raster_stop
    out["raster"] = (pos[m], tw[m])
    return out


def _scan_population(sf: SpikeFile, info: PopulationInfo, spec: _ScanSpec,
                     n_workers: int) -> dict[str, Any]:
    """Stream all blocks of one population through :func:`_block_partial` and fold them."""
    counts = np.zeros(info.size, dtype=np.int64)
    hist = np.zeros(spec.n_bins, dtype=np.int64)
    samp_ids, samp_t, r_ids, r_t = [], [], [], []
    if info.n_spikes:
        d_ids = sf.node_ids(info.name).to_delayed().ravel()
        d_ts = sf.timestamps(info.name).to_delayed().ravel()
        part = dask.delayed(functools.partial(_block_partial, spec=spec), pure=False)
        batch = max(1, 2 * n_workers)
        for i0 in range(0, len(d_ids), batch):
            tasks = [part(a, b) for a, b in zip(d_ids[i0:i0 + batch], d_ts[i0:i0 + batch])]
            for r in dask.compute(*tasks, scheduler="threads", num_workers=n_workers):
                counts += r["counts"]
                if "hist" in r:
                    lo, h = r["hist"]
                    hist[lo:lo + h.size] += h
                samp_ids.append(r["sample"][0])
                samp_t.append(r["sample"][1])
                r_ids.append(r["raster"][0])
                r_t.append(r["raster"][1])
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.empty(0, dtype=dt))
    return {"counts": counts, "hist": hist,
            "sample_ids": cat(samp_ids, np.int32), "sample_times": cat(samp_t, np.float64),
            "raster_ids": cat(r_ids, np.int32), "raster_times": cat(r_t, np.float64)}


def raster_sample_sizes(sizes: list[int], total: int = DEFAULT_RASTER_NEURONS) -> list[int]:
    """Return the number of raster neurons per population: ~``total`` overall, proportional
    to population size, but at least ``min(50, size)`` each so small populations stay visible."""
    n = sum(sizes)
    if n == 0:
        return [0 for _ in sizes]
    return [min(s, max(min(50, s), int(round(total * s / n)))) for s in sizes]


def analyze_file(path: str, t_start: float | None = None, t_stop: float | None = None, *,
                 n_sample: int | None = stats.DEFAULT_N_SAMPLE,
                 cv_min_spikes: int = stats.DEFAULT_CV_MIN_SPIKES,
                 cc_bin_ms: float = stats.DEFAULT_CC_BIN_MS,
                 activity_bin_ms: float = DEFAULT_ACTIVITY_BIN_MS,
                 nperseg: int = stats.DEFAULT_NPERSEG,
                 raster_neurons: int = DEFAULT_RASTER_NEURONS,
                 raster_ms: float = DEFAULT_RASTER_MS,
                 seed: int = 12345,
                 block_spikes: int = DEFAULT_BLOCK_SPIKES,
                 n_workers: int = 2,
                 populations: list[str] | None = None) -> AnalysisResult:
    """Analyse a spike file in one memory-bounded pass per population; return an AnalysisResult.

    Window ``[t_start, t_stop)`` in ms; defaults from :meth:`SpikeFile.default_window`
    (warm-up ``t_presim_ms`` discarded).  Computed per population:

    - mean rate (spikes/s) = spikes in window / (size * window length), silent neurons included;
    - per-neuron rates (spikes/s), all neurons;
    - ISI CV of ``n_sample`` randomly chosen neurons (seeded by ``seed`` and the
      population name; ``None`` = all neurons), keeping those with at least
      ``cv_min_spikes`` spikes in the window;
    - spike-count correlation coefficients of all pairs of the same sample, counts
      in ``cc_bin_ms``-ms bins, silent neurons left out;
    - activity: spikes per ``activity_bin_ms`` bin / (size * bin length), i.e. spikes/s
      per neuron, and its Welch power spectrum (Hz, (spikes/s)**2/Hz);
    - raster spikes of ~``raster_neurons`` neurons over ``raster_ms`` ms from ``t_start``.
    """
    with SpikeFile(path, block_spikes=block_spikes) as sf:
        d_start, d_stop = (None, None)
        if t_start is None or t_stop is None:
            d_start, d_stop = sf.default_window()
        t0 = float(d_start if t_start is None else t_start)
        t1 = float(d_stop if t_stop is None else t_stop)
        if not t1 > t0:
            raise ValueError(f"empty analysis window [{t0}, {t1}) ms")
        dur_s = (t1 - t0) / 1000.0
        infos = sf.populations
        if populations is not None:
            infos = [sf.population(n) for n in populations]
        ref = sf.reference_rates or {}
        n_bins = stats.n_full_bins(t0, t1, activity_bin_ms)
        r_sizes = raster_sample_sizes([p.size for p in sf.populations], raster_neurons)
        r_size = {p.name: r for p, r in zip(sf.populations, r_sizes)}
        params = {"n_sample": n_sample, "cv_min_spikes": cv_min_spikes, "cc_bin_ms": cc_bin_ms,
                  "activity_bin_ms": activity_bin_ms, "nperseg": nperseg, "seed": seed,
                  "raster_neurons": raster_neurons, "raster_ms": raster_ms,
                  "block_spikes": block_spikes}
        result = AnalysisResult(sf.path, t0, t1, params, dict(sf.meta))
        for info in infos:
            sample = stats.sample_neurons(info.size, n_sample, seed, info.name)
            sample_pos = np.full(info.size, -1, dtype=np.int32)
            sample_pos[sample] = np.arange(sample.size)
            rsample = stats.sample_neurons(info.size, r_size[info.name], seed + 1, info.name)
            raster_pos = np.full(info.size, -1, dtype=np.int32)
            raster_pos[rsample] = np.arange(rsample.size)
            spec = _ScanSpec(info.name, info.gid_start, info.size, t0, t1, activity_bin_ms,
                             n_bins, sample_pos, raster_pos, min(t1, t0 + raster_ms))
            acc = _scan_population(sf, info, spec, n_workers)
            counts = acc["counts"]
            n_win = int(counts.sum())
            rates = counts / dur_s
            cv = stats.isi_cv(acc["sample_ids"], acc["sample_times"], sample.size, cv_min_spikes)
            cc = stats.count_correlations(acc["sample_ids"], acc["sample_times"], sample.size,
                                          t0, t1, cc_bin_ms)
            activity = acc["hist"] / (info.size * activity_bin_ms / 1000.0) if info.size \
                else np.zeros(n_bins)
            freqs, psd = stats.power_spectrum(activity, activity_bin_ms, nperseg)
            result.populations.append(PopulationResult(
                name=info.name, size=info.size, gid_start=info.gid_start,
                n_spikes_total=info.n_spikes, n_spikes=n_win,
                rate=n_win / (info.size * dur_s) if info.size else float("nan"),
                rates=rates, cv=cv[np.isfinite(cv)], cc=cc, n_sampled=int(sample.size),
                activity=activity, freqs=freqs, psd=psd,
                raster_ids=acc["raster_ids"], raster_times=acc["raster_times"],
                n_raster=int(rsample.size), reference_rate=ref.get(info.name)))
        return result
