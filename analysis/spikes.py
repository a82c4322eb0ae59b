"""Lazy, chunked reading and streaming reduction of distsim spike files.

File layout (SONATA spikes, written by distsim; :mod:`analysis.synthetic` writes the same)::

    /spikes/<pop>/node_ids     uint64, population-local node id (0..size-1), 1-D, chunked
    /spikes/<pop>/timestamps   float64 ms (end of the emitting step), attr units="ms"
    /spikes/<pop>              attrs sorting (SONATA enum none/by_id/by_time, or a string),
                               size, gid_start (global id = gid_start + node_id), gid_stop
    /meta                      attrs dt_ms, t_sim_ms, t_presim_ms, seed, n_ranks, model,
                               spec_json, reference_rates_json (optional), ...
    /report/<pop>/...          membrane potential (not used here)

Window and bins follow the one convention of :mod:`analysis.stats`: the window
``(t_start, t_stop]`` in timestamps, i.e. the spikes of the steps in ``[t_start, t_stop)``.

Spikes are only *roughly* time ordered (blocks from several ranks per flush),
so nothing here relies on a global order.  Each population's two datasets are wrapped
with ``dask.array.from_array`` (chunks = a multiple of the HDF5 chunk) and
reduced block by block: every block yields a small partial result (per-neuron
counts via ``np.bincount(..., minlength=size)``, a histogram over the block's
own time span, the spikes of a fixed neuron sample for count correlations, and per-neuron
ISI moments), and partials are folded into accumulators in file order as the blocks are
computed, a few at a time, by dask's threaded scheduler.

The ISI CV covers *every* neuron.  In files written by distsim each neuron's spikes are in
time order (a neuron lives on one rank, which appends its spikes chronologically), so the
per-neuron ISI count, mean and squared deviations are merged block by block (Chan et al.'s
parallel update), with the ISI across a block boundary taken from the neuron's last spike.
If any neuron's spikes are found out of time order, the CV is instead computed exactly in
extra passes over groups of neurons holding at most ``cv_group_spikes`` in-window spikes each.
Peak memory is therefore a few blocks plus O(size + n_time_bins + spikes of the sampled
neurons) (plus one neuron group in the fallback), independent of the number of spikes.
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

#: Most in-window spikes held at once by the exact CV fallback for unordered files.
DEFAULT_CV_GROUP_SPIKES = 1 << 22
#: SONATA ``sorting`` enum values (the attribute may also be a plain string).
SORTING_NAMES = {0: "none", 1: "by_id", 2: "by_time"}
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


#: /meta ``layout_version`` this reader understands: 2 = population-local node_ids. distsim's
#: writer (``distsim.recording.hdf5.LAYOUT_VERSION``) must match; a test checks it.
LAYOUT_VERSION = 2


def check_layout(f: h5py.File, path: str) -> None:
    """Raise ValueError if the open file ``f`` is a distsim output written before node ids
    became population-local (its /meta has no ``layout_version`` >= 2); returns None.
    Files without /meta (SONATA files of other simulators) pass."""
    if "meta" in f and int(f["meta"].attrs.get("layout_version", 1)) < LAYOUT_VERSION:
        raise ValueError(f"{path}: written by an older distsim whose node_ids are global gids "
                         f"(no /meta layout_version >= {LAYOUT_VERSION}); re-run it, or read "
                         "its node_ids as gids with h5py")


def _sorting(g: h5py.Group) -> str:
    """Return the SONATA ``sorting`` of a spike population as a name ("none" if absent)."""
    if "sorting" not in g.attrs:
        return "none"
    v = _attr(g, "sorting")
    if isinstance(v, (int, np.integer)):
        return SORTING_NAMES.get(int(v), f"unknown({int(v)})")
    return str(v)


@dataclass(frozen=True)
class PopulationInfo:
    """Static description of one population in a spike file: node ids are local
    (0..size-1), ``gid_start``..``gid_stop`` the global ids."""

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
        try:
            check_layout(self._f, self.path)
        except ValueError:
            self._f.close()
            raise
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
            pops.append(PopulationInfo(name, gid_start, gid_stop, size, _sorting(g), n_ids))
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
        """Return the lazy dask array of population-local node ids (uint64) of ``name``."""
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

    @property
    def dt_ms(self) -> float | None:
        """Return the simulation step (ms) from ``/meta@dt_ms``, or None if absent."""
        dt = self.meta.get("dt_ms")
        try:
            return float(dt) if dt is not None else None
        except (TypeError, ValueError):
            return None

    def default_window(self) -> tuple[float, float]:
        """Return the default analysis window ``(t_start, t_stop)`` in ms (the spikes stamped
        in ``(t_start, t_stop]``, see :mod:`analysis.stats`).

        ``t_start`` is ``/meta@t_presim_ms`` (the warm-up is discarded) or 0;
        ``t_stop`` is ``/meta@t_sim_ms`` or, if absent, the last spike's timestamp.
        """
        t_start = float(self.meta.get("t_presim_ms") or 0.0)
        t_stop = self.meta.get("t_sim_ms")
        if t_stop is None:
            maxima = [self.timestamps(p.name).max() for p in self.populations if p.n_spikes]
            t_stop = max(dask.compute(*maxima)) if maxima else t_start
        return t_start, float(t_stop)


@dataclass
class PopulationResult:
    """Everything computed for one population.

    Units: ``rate`` and ``rates`` spikes/s, ``activity`` spikes/s per neuron
    (one value per ``activity_bin_ms`` bin), ``freqs`` Hz, ``psd``
    (spikes/s)**2/Hz, raster times ms; ``cv`` and ``cc`` are dimensionless.
    ``cv`` holds one value per neuron (all neurons) with enough spikes; ``cc`` the pairs of
    the ``n_sampled`` neurons sampled for correlations; ``cv_exact_fallback`` tells whether
    the CV needed the extra passes for spikes out of time order.
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
    cv_exact_fallback: bool = False

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
            "cv_neurons": "all",
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
        meta_keys = ("model", "complete", "dt_ms", "t_sim_ms", "t_presim_ms", "seed", "n_ranks",
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
    shift_ms: float         # timestamp -> emission time (stats.emission_shift_ms)
    bin_ms: float
    n_bins: int
    sample_pos: np.ndarray  # local id -> position in the correlation sample, or -1
    raster_pos: np.ndarray  # local id -> row in raster sample, or -1
    raster_stop: float


def _check_ids(ids: np.ndarray, spec: _ScanSpec) -> None:
    """Raise ValueError if a node id is outside the population's local range [0, size)."""
    if ids.size and int(ids.max()) >= spec.size:
        bad = int(ids[ids >= spec.size][0])
        raise ValueError(f"population {spec.name}: node id {bad} outside its range "
                         f"[0, {spec.size}) (SONATA node ids are population-local; files "
                         f"written by distsim before the SONATA fix stored global gids)")


def _window(ids: np.ndarray, ts: np.ndarray, spec: _ScanSpec) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Return (local ids int64, emission times u, timestamps) of the block's in-window spikes."""
    ids = np.asarray(ids)
    _check_ids(ids, spec)
    ts = np.asarray(ts, dtype=np.float64)
    u = ts - spec.shift_ms
    win = (u >= spec.t_start) & (u < spec.t_stop)
    if win.all():
        return ids.astype(np.int64), u, ts
    return ids[win].astype(np.int64), u[win], ts[win]


def _isi_moments(local: np.ndarray, u: np.ndarray) -> dict[str, Any]:
    """Per-neuron ISI moments of one block, in file order within each neuron.

    Returns ``ids`` (neurons present), ``first``/``last`` emission time (ms), ``n`` ISIs
    inside the block, their ``mean`` (ms) and ``m2`` (sum of squared deviations, ms**2),
    and ``ordered`` (False if some neuron's spikes go back in time within the block).
    """
    order = np.argsort(local, kind="stable")        # keeps file order per neuron
    ids_s, t_s = local[order], u[order]
    uniq, first_idx, counts = np.unique(ids_s, return_index=True, return_counts=True)
    last_idx = first_idx + counts - 1
    same = ids_s[1:] == ids_s[:-1]
    d = np.diff(t_s)[same]
    run = np.repeat(np.arange(uniq.size), counts)[1:][same]
    n = counts - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(run, weights=d, minlength=uniq.size) / n
        dev = d - mean[run]
        m2 = np.bincount(run, weights=dev * dev, minlength=uniq.size)
    mean[n == 0] = 0.0
    return {"ids": uniq, "first": t_s[first_idx], "last": t_s[last_idx], "n": n,
            "mean": mean, "m2": m2, "ordered": not bool(np.any(d < 0))}


class _IsiAccumulator:
    """Per-neuron ISI count, mean (ms) and squared deviations (ms**2) of a population, merged
    from block moments in file order (valid while every neuron's spikes are in time order)."""

    def __init__(self, size: int):
        self.last = np.full(size, np.nan)
        self.n = np.zeros(size, dtype=np.int64)
        self.mean = np.zeros(size)
        self.m2 = np.zeros(size)
        self.ordered = True

    def add(self, part: dict[str, Any]) -> None:
        """Merge one block's :func:`_isi_moments` (the next block in file order). Returns None."""
        if not self.ordered:
            return
        ids = part["ids"]
        if not part["ordered"]:
            self.ordered = False
            return
        prev = self.last[ids]
        has = ~np.isnan(prev)
        if np.any(part["first"][has] < prev[has]):
            self.ordered = False
            return
        # the ISI across the block boundary: one sample (Welford update)
        k = ids[has]
        x = part["first"][has] - prev[has]
        self.n[k] += 1
        delta = x - self.mean[k]
        self.mean[k] += delta / self.n[k]
        self.m2[k] += delta * (x - self.mean[k])
        # the block's own ISIs (Chan et al. parallel merge)
        nb = part["n"]
        m = nb > 0
        k, nb, mb, m2b = ids[m], nb[m], part["mean"][m], part["m2"][m]
        na = self.n[k]
        tot = na + nb
        delta = mb - self.mean[k]
        self.mean[k] += delta * nb / tot
        self.m2[k] += m2b + delta * delta * na * nb / tot
        self.n[k] = tot
        self.last[ids] = part["last"]

    def cv(self, min_spikes: int) -> np.ndarray:
        """Return per-neuron ISI CV (std/mean, ddof=0); NaN below ``min_spikes`` spikes."""
        cv = np.full(self.n.size, np.nan)
        ok = (self.n >= max(1, min_spikes - 1)) & (self.mean > 0)
        cv[ok] = np.sqrt(np.maximum(self.m2[ok] / self.n[ok], 0.0)) / self.mean[ok]
        return cv


def _block_partial(ids: np.ndarray, ts: np.ndarray, spec: _ScanSpec) -> dict[str, Any]:
    """Reduce one block of spikes to small partials (pure numpy, runs in a dask task)."""
    local, u, tw = _window(ids, ts, spec)
    out: dict[str, Any] = {"counts": np.bincount(local, minlength=spec.size)}
    # activity histogram over the block's own span of bins (same rule as stats.bin_index)
    b = u - spec.t_start
    b /= spec.bin_ms
    np.floor(b, out=b)
    b = b.astype(np.int64)
    b = b[b < spec.n_bins]
    if b.size:
        lo = int(b.min())
        b -= lo
        out["hist"] = (lo, np.bincount(b))
    del b
    out["isi"] = _isi_moments(local, u)
    # spikes of sampled neurons (CC, emission times) and of raster neurons (timestamps)
    pos = spec.sample_pos[local]
    m = pos >= 0
    out["sample"] = (pos[m], u[m])
    pos = spec.raster_pos[local]
    m = pos >= 0
    m &= u < spec.raster_stop
    out["raster"] = (pos[m], tw[m])
    return out


def _blocks(sf: SpikeFile, info: PopulationInfo, fn, n_workers: int):
    """Yield ``fn(ids_block, ts_block)`` for every block of a population, in file order."""
    if not info.n_spikes:
        return
    d_ids = sf.node_ids(info.name).to_delayed().ravel()
    d_ts = sf.timestamps(info.name).to_delayed().ravel()
    part = dask.delayed(fn, pure=False)
    batch = max(1, 2 * n_workers)
    for i0 in range(0, len(d_ids), batch):
        tasks = [part(a, b) for a, b in zip(d_ids[i0:i0 + batch], d_ts[i0:i0 + batch])]
        yield from dask.compute(*tasks, scheduler="threads", num_workers=n_workers)


def _scan_population(sf: SpikeFile, info: PopulationInfo, spec: _ScanSpec,
                     n_workers: int) -> dict[str, Any]:
    """Stream all blocks of one population through :func:`_block_partial` and fold them."""
    counts = np.zeros(info.size, dtype=np.int64)
    hist = np.zeros(spec.n_bins, dtype=np.int64)
    isi = _IsiAccumulator(info.size)
    samp_ids, samp_t, r_ids, r_t = [], [], [], []
    for r in _blocks(sf, info, functools.partial(_block_partial, spec=spec), n_workers):
        counts += r["counts"]
        if "hist" in r:
            lo, h = r["hist"]
            hist[lo:lo + h.size] += h
        isi.add(r["isi"])
        samp_ids.append(r["sample"][0])
        samp_t.append(r["sample"][1])
        r_ids.append(r["raster"][0])
        r_t.append(r["raster"][1])
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.empty(0, dtype=dt))
    return {"counts": counts, "hist": hist, "isi": isi,
            "sample_ids": cat(samp_ids, np.int32), "sample_times": cat(samp_t, np.float64),
            "raster_ids": cat(r_ids, np.int32), "raster_times": cat(r_t, np.float64)}


def _group_spikes(ids: np.ndarray, ts: np.ndarray, spec: _ScanSpec, lo: int, hi: int):
    """(local ids - lo, emission times) of the block's in-window spikes of neurons [lo, hi)."""
    local, u, _ = _window(ids, ts, spec)
    m = (local >= lo) & (local < hi)
    return local[m] - lo, u[m]


def _cv_exact(sf: SpikeFile, info: PopulationInfo, spec: _ScanSpec, counts: np.ndarray,
              min_spikes: int, group_spikes: int, n_workers: int) -> np.ndarray:
    """Per-neuron ISI CV of every neuron in extra passes over groups of consecutive neurons
    with at most ``group_spikes`` in-window spikes each (exact for any spike order)."""
    cv = np.full(info.size, np.nan)
    csum = np.concatenate([[0], np.cumsum(counts)])
    lo = 0
    while lo < info.size:
        hi = int(np.searchsorted(csum, csum[lo] + max(1, group_spikes), side="right")) - 1
        hi = min(info.size, max(hi, lo + 1))
        if csum[hi] - csum[lo] >= 2:
            fn = functools.partial(_group_spikes, spec=spec, lo=lo, hi=hi)
            parts = list(_blocks(sf, info, fn, n_workers))
            ids = np.concatenate([p[0] for p in parts])
            u = np.concatenate([p[1] for p in parts])
            cv[lo:hi] = stats.isi_cv(ids, u, hi - lo, min_spikes)
        lo = hi
    return cv


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
                 populations: list[str] | None = None,
                 cv_group_spikes: int = DEFAULT_CV_GROUP_SPIKES) -> AnalysisResult:
    """Analyse a spike file in one memory-bounded pass per population; return an AnalysisResult.

    Window: the spikes stamped in ``(t_start, t_stop]`` ms, i.e. emitted in the steps of
    ``[t_start, t_stop)`` (the convention of :mod:`analysis.stats`); defaults from
    :meth:`SpikeFile.default_window` (warm-up ``t_presim_ms`` discarded).  Computed per
    population:

    - mean rate (spikes/s) = spikes in window / (size * window length), silent neurons included;
    - per-neuron rates (spikes/s), all neurons;
    - ISI CV of every neuron with at least ``cv_min_spikes`` spikes in the window (one pass
      when each neuron's spikes are in time order in the file, as distsim writes them;
      otherwise extra passes over neuron groups of at most ``cv_group_spikes`` spikes);
    - spike-count correlation coefficients of all pairs of ``n_sample`` randomly chosen
      neurons (seeded by ``seed`` and the population name; ``None`` = all neurons), counts
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
            raise ValueError(f"empty analysis window ({t0}, {t1}] ms")
        shift = stats.emission_shift_ms(sf.dt_ms)
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
                  "block_spikes": block_spikes, "dt_ms": sf.dt_ms,
                  "window": "spikes stamped in (t_start, t_stop] ms",
                  "cv_neurons": "all", "cv_group_spikes": cv_group_spikes}
        result = AnalysisResult(sf.path, t0, t1, params, dict(sf.meta))
        for info in infos:
            sample = stats.sample_neurons(info.size, n_sample, seed, info.name)
            sample_pos = np.full(info.size, -1, dtype=np.int32)
            sample_pos[sample] = np.arange(sample.size)
            rsample = stats.sample_neurons(info.size, r_size[info.name], seed + 1, info.name)
            raster_pos = np.full(info.size, -1, dtype=np.int32)
            raster_pos[rsample] = np.arange(rsample.size)
            spec = _ScanSpec(info.name, info.gid_start, info.size, t0, t1, shift, activity_bin_ms,
                             n_bins, sample_pos, raster_pos, min(t1, t0 + raster_ms))
            acc = _scan_population(sf, info, spec, n_workers)
            counts = acc["counts"]
            n_win = int(counts.sum())
            rates = counts / dur_s
            fallback = not acc["isi"].ordered
            if fallback:
                cv = _cv_exact(sf, info, spec, counts, cv_min_spikes, cv_group_spikes, n_workers)
            else:
                cv = acc["isi"].cv(cv_min_spikes)
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
                n_raster=int(rsample.size), reference_rate=ref.get(info.name),
                cv_exact_fallback=fallback))
        return result
