"""Weight distributions of plastic projections from an output file's /edges groups
(``distsim.recording.hdf5``: SONATA-style source_node_id, target_node_id, weight): mean,
standard deviation, extremes and a histogram per projection, read in blocks so that a
projection of 10^8 synapses never has to be in memory at once."""
from __future__ import annotations

import math

import numpy as np

BLOCK = 1 << 22  # weights read per block
N_BINS = 60


def weight_stats(path: str, n_bins: int = N_BINS) -> dict:
    """dict projection name -> {n, mean, sd (population, ddof=0), min, max, units,
    synapse_model, source, target, hist: {edges, counts}}; {} when the file has no /edges."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        if "edges" not in f:
            return out
        for name, g in f["edges"].items():
            if "weight" not in g:  # a killed run: periodic snapshots (weight_t<ms>) only
                continue
            ds = g["weight"]
            n = int(ds.shape[0])
            s = 0.0
            lo, hi = math.inf, -math.inf
            for a in range(0, n, BLOCK):  # pass 1: sum and extremes
                w = ds[a:a + BLOCK]
                s += float(w.sum())
                lo, hi = min(lo, float(w.min())), max(hi, float(w.max()))
            mean = s / n if n else math.nan
            ss = 0.0
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1) if n else np.zeros(0)
            counts = np.zeros(n_bins, np.int64)
            for a in range(0, n, BLOCK):  # pass 2: squared deviations and histogram
                w = ds[a:a + BLOCK]
                ss += float(((w - mean) ** 2).sum())
                counts += np.histogram(w, bins=edges)[0]
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
            out[name] = {"n": n, "mean": mean, "sd": math.sqrt(ss / n) if n else math.nan,
                         "min": lo if n else math.nan, "max": hi if n else math.nan,
                         "units": str(attrs.get("units", "")),
                         "synapse_model": str(attrs.get("synapse_model", "")),
                         "source": str(attrs.get("source_population", "")),
                         "target": str(attrs.get("target_population", "")),
                         "hist": {"edges": edges.tolist(), "counts": counts.tolist()}}
    return out


def plot_weights(stats: dict, path: str) -> str:
    """Histogram of each projection's weights (one panel each) into ``path``; returns it."""
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(stats)
    fig, axes = plt.subplots(n, 1, figsize=(6.0, 2.2 * n + 0.6), squeeze=False)
    for ax, (name, s) in zip(axes[:, 0], stats.items()):
        e = np.asarray(s["hist"]["edges"])
        ax.stairs(s["hist"]["counts"], e, fill=True, alpha=0.7)
        ax.set_title(f"{name} ({s['synapse_model']}): mean {s['mean']:.4g}, sd {s['sd']:.4g} "
                     f"{s['units']}, n = {s['n']}", fontsize=9)
        ax.set_ylabel("synapses", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("weight" + (f" ({next(iter(stats.values()))['units']})" if stats else ""))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
