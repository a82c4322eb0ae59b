"""Write synthetic spike files in distsim's output layout (Poisson spikes), chunkwise.

The file mimics what distsim writes from several MPI ranks: neurons are
distributed round-robin over ``n_ranks`` ranks (rank = gid % n_ranks); every
``flush_ms`` each rank appends one block of its spikes (time ordered within
the block) to every population's datasets, the ranks in a random order, so
the datasets are time ordered only block-wise (each neuron's spikes are in time order, as
in distsim's files).  Spike times lie on the ``dt_ms`` grid and are stamped, as distsim
does, at the end of the emitting step: in ``(0, t_sim_ms]``.  Node ids are
population-local (SONATA), ``sorting`` is SONATA's enum, and the report has SONATA's
``mapping`` group, as in distsim's files.  Generation and writing are incremental, so memory use does
not depend on the duration or on the number of spikes.

Usage::

    python -m analysis.synthetic OUT.h5 [--t-sim-ms 2000] [--t-presim-ms 500] [--scale 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Sequence

import h5py
import numpy as np

from analysis.spikes import LAYOUT_VERSION

__all__ = [
    "MICROCIRCUIT_NAMES",
    "MICROCIRCUIT_RATES",
    "MICROCIRCUIT_SIZES",
    "expected_spikes",
    "main",
    "write_synthetic",
]

#: Potjans & Diesmann (2014) microcircuit populations, full scale.
MICROCIRCUIT_NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
MICROCIRCUIT_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
#: SONATA ``sorting`` enum of a spike population.
SORTING = {"none": 0, "by_id": 1, "by_time": 2}
#: Reference rates (spikes/s) used for the synthetic Poisson trains.
MICROCIRCUIT_RATES = (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829)


def expected_spikes(sizes: Sequence[int], rates: Sequence[float], t_sim_ms: float) -> float:
    """Return the expected total number of spikes for the given sizes, rates (spikes/s), duration (ms)."""
    return float(np.dot(np.asarray(sizes, float), np.asarray(rates, float)) * t_sim_ms / 1000.0)


class _AppendBuffer:
    """Collect (node_ids, timestamps) blocks of one population; append them to the datasets
    in one resize+write once ``limit`` spikes are buffered."""

    def __init__(self, group: h5py.Group, limit: int):
        self.ids_ds, self.ts_ds = group["node_ids"], group["timestamps"]
        self.limit = limit
        self.ids: list[np.ndarray] = []
        self.ts: list[np.ndarray] = []
        self.n = 0
        self.written = 0

    def add(self, ids: np.ndarray, ts: np.ndarray) -> None:
        if ids.size == 0:
            return
        self.ids.append(ids)
        self.ts.append(ts)
        self.n += ids.size
        if self.n >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.n:
            return
        n0, n1 = self.written, self.written + self.n
        for ds, parts in ((self.ids_ds, self.ids), (self.ts_ds, self.ts)):
            ds.resize((n1,))
            ds[n0:n1] = np.concatenate(parts)
        self.written = n1
        self.ids, self.ts, self.n = [], [], 0


def write_synthetic(path: str,
                    names: Sequence[str] = MICROCIRCUIT_NAMES,
                    sizes: Sequence[int] = MICROCIRCUIT_SIZES,
                    rates: Sequence[float] = MICROCIRCUIT_RATES,
                    t_sim_ms: float = 1000.0,
                    t_presim_ms: float = 100.0,
                    dt_ms: float = 0.1,
                    n_ranks: int = 4,
                    flush_ms: float = 100.0,
                    seed: int = 1,
                    h5_chunk: int = 1 << 16,
                    write_buffer: int = 1 << 18,
                    n_report: int = 2,
                    report_dt_ms: float = 1.0,
                    reference_rates: dict[str, float] | None | bool = True) -> dict:
    """Write Poisson spike trains in distsim's layout to ``path``; return a summary dict.

    ``rates`` are spikes/s per population, ``t_sim_ms`` is the total simulated
    time in ms *including* the warm-up ``t_presim_ms``; spikes are emitted in every step
    of ``[0, t_sim_ms)`` and stamped at the step's end, in ``(0, t_sim_ms]``.  ``reference_rates=True`` stores ``rates`` as
    ``/meta@reference_rates_json``; a dict stores that dict; ``None``/``False``
    omits the attribute.  ``n_report`` neurons per population get a fake
    ``V_m`` trace (mV) sampled every ``report_dt_ms`` ms under ``/report``.

    Returns ``{"path", "n_spikes": {pop: count}, "n_spikes_total", "file_bytes",
    "write_time_s"}``.
    """
    if not (len(names) == len(sizes) == len(rates)):
        raise ValueError("names, sizes and rates must have the same length")
    t_wall = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_steps = int(round(t_sim_ms / dt_ms))
    flush_steps = max(1, int(round(flush_ms / dt_ms)))
    gid_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    # per population and rank: the local ids owned by that rank (round-robin on the gid)
    owned = [[np.arange((r - g0) % n_ranks, n, n_ranks, dtype=np.uint64)
              for r in range(n_ranks)] for g0, n in zip(gid_starts, sizes)]
    n_spikes = {nm: 0 for nm in names}

    with h5py.File(path, "w") as f:
        spikes = f.create_group("spikes")
        bufs = []
        for nm, g0, n in zip(names, gid_starts, sizes):
            g = spikes.create_group(nm)
            g.attrs.create("sorting", 0, dtype=h5py.enum_dtype(SORTING, basetype=np.int8))
            g.attrs["size"] = int(n)
            g.attrs["gid_start"] = int(g0)
            g.attrs["gid_stop"] = int(g0 + n)
            g.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype=np.uint64,
                             chunks=(h5_chunk,))
            ts = g.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.float64,
                                  chunks=(h5_chunk,))
            ts.attrs["units"] = "ms"
            bufs.append(_AppendBuffer(g, write_buffer))

        # membrane-potential report: a few neurons per population, an OU-like random walk
        rep = []
        rep_every = max(1, int(round(report_dt_ms / dt_ms)))
        n_rep_times = -(-n_steps // rep_every)
        if n_report > 0:
            rg = f.create_group("report")
            for nm, g0, n in zip(names, gid_starts, sizes):
                k = min(n_report, n)
                g = rg.create_group(nm)
                g.attrs["variable"] = "V_m"
                g.attrs["units"] = "mV"
                g.attrs["gid_start"] = int(g0)
                step = rep_every * dt_ms
                tt = g.create_dataset("times", data=(np.arange(n_rep_times) + 1) * step)
                tt.attrs["units"] = "ms"
                mp = g.create_group("mapping")
                mp.create_dataset("node_ids", data=np.arange(k, dtype=np.uint64))
                mp["node_ids"].attrs["sorted"] = np.uint8(1)
                mp.create_dataset("index_pointers", data=np.arange(k + 1, dtype=np.uint64))
                mp.create_dataset("element_ids", data=np.zeros(k, np.uint32))
                mt = mp.create_dataset("time", data=[step, (n_rep_times + 1) * step, step])
                mt.attrs["units"] = "ms"
                d = g.create_dataset("data", shape=(n_rep_times, k), dtype=np.float64,
                                     chunks=(min(n_rep_times, 4096), k))
                d.attrs["units"] = "mV"
                rep.append([d, np.full(k, -65.0), 0])

        for s0 in range(0, n_steps, flush_steps):
            s1 = min(n_steps, s0 + flush_steps)
            for r in rng.permutation(n_ranks):          # ranks flush in arbitrary order
                for p, (rate, buf) in enumerate(zip(rates, bufs)):
                    gids = owned[p][r]
                    if gids.size == 0 or rate <= 0:
                        continue
                    k = rng.poisson(rate * gids.size * (s1 - s0) * dt_ms / 1000.0)
                    if k == 0:
                        continue
                    steps = np.sort(rng.integers(s0, s1, size=k))
                    buf.add(gids[rng.integers(0, gids.size, size=k)], (steps + 1) * dt_ms)
                    n_spikes[names[p]] += int(k)
            for item in rep:                             # report rows of this flush interval
                d, v, row = item
                row1 = min(n_rep_times, -(-s1 // rep_every))
                if row1 > row:
                    noise = rng.normal(0.0, 1.0, size=(row1 - row, v.size))
                    out = np.empty_like(noise)
                    for i in range(row1 - row):
                        v = v + 0.1 * (-65.0 - v) + noise[i]
                        out[i] = v
                    d[row:row1] = out
                    item[1], item[2] = v, row1
        for buf in bufs:
            buf.flush()

        elapsed = time.perf_counter() - t_wall
        meta = f.create_group("meta")
        spec = {"generator": "analysis.synthetic.write_synthetic", "names": list(names),
                "sizes": [int(x) for x in sizes], "rates": [float(x) for x in rates],
                "dt_ms": dt_ms, "n_ranks": n_ranks, "flush_ms": flush_ms}
        meta.attrs["layout_version"] = LAYOUT_VERSION
        meta.attrs["dt_ms"] = float(dt_ms)
        meta.attrs["t_sim_ms"] = float(t_sim_ms)
        meta.attrs["t_presim_ms"] = float(t_presim_ms)
        meta.attrs["seed"] = int(seed)
        meta.attrs["n_ranks"] = int(n_ranks)
        meta.attrs["model"] = "synthetic_poisson"
        meta.attrs["spec_json"] = json.dumps(spec)
        if reference_rates is True:
            reference_rates = {nm: float(r) for nm, r in zip(names, rates)}
        if reference_rates:
            meta.attrs["reference_rates_json"] = json.dumps(reference_rates)
        meta.attrs["build_time_s"] = 0.0
        meta.attrs["sim_time_s"] = float(elapsed)
        meta.attrs["rtf"] = float(elapsed / (t_sim_ms / 1000.0)) if t_sim_ms > 0 else 0.0
        meta.attrs["n_synapses"] = 0
        meta.attrs["peak_rss_bytes"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           * 1024)
        meta.attrs["versions_json"] = json.dumps({"numpy": np.__version__,
                                                  "h5py": h5py.__version__})
    return {"path": str(path), "n_spikes": n_spikes, "n_spikes_total": sum(n_spikes.values()),
            "file_bytes": os.path.getsize(path), "write_time_s": time.perf_counter() - t_wall}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write a synthetic microcircuit file; print its summary as JSON; return 0."""
    ap = argparse.ArgumentParser(prog="python -m analysis.synthetic",
                                 description="Write a synthetic Poisson spike file in "
                                             "distsim's layout (microcircuit populations).")
    ap.add_argument("out", help="output HDF5 file")
    ap.add_argument("--t-sim-ms", type=float, default=1000.0,
                    help="total simulated time incl. warm-up, ms (default 1000)")
    ap.add_argument("--t-presim-ms", type=float, default=100.0, help="warm-up, ms (default 100)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="scale population sizes by this factor (default 1 = 77,169 neurons)")
    ap.add_argument("--n-ranks", type=int, default=4, help="simulated MPI ranks (default 4)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    sizes = [max(1, int(round(n * a.scale))) for n in MICROCIRCUIT_SIZES]
    info = write_synthetic(a.out, sizes=sizes, t_sim_ms=a.t_sim_ms, t_presim_ms=a.t_presim_ms,
                           n_ranks=a.n_ranks, seed=a.seed)
    json.dump(info, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
