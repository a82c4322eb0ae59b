"""PNG figures of an :class:`analysis.spikes.AnalysisResult` (matplotlib, Agg backend).

All functions take the result and an output path, write one PNG and return
the path.  Times are in ms, rates in spikes/s, frequencies in Hz.
"""

from __future__ import annotations

import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.spikes import AnalysisResult  # noqa: E402

__all__ = [
    "plot_activity",
    "plot_all",
    "plot_distributions",
    "plot_raster",
    "plot_rates",
    "plot_spectra",
    "population_colors",
]

DPI = 110


def population_colors(names: list[str]) -> dict[str, tuple]:
    """Return population name -> RGB colour: one hue per layer, E in it, I in a darker shade.

    Names like ``L23E``/``L23I`` share the hue of their prefix; other names get
    successive tab10 colours.
    """
    cmap = plt.get_cmap("tab10")
    layers: list[str] = []
    out = {}
    for n in names:
        m = re.fullmatch(r"(.*?)([EI])", n)
        key = m.group(1) if m else n
        if key not in layers:
            layers.append(key)
        rgb = np.array(cmap(layers.index(key) % 10)[:3])
        if m and m.group(2) == "I":
            rgb = 0.55 * rgb          # inhibitory: darker shade of the layer's hue
        out[n] = tuple(rgb)
    return out


def _window_text(res: AnalysisResult) -> str:
    return f"analysis window ({res.t_start:g}, {res.t_stop:g}] ms"


def _save(fig, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def plot_raster(res: AnalysisResult, path: str) -> str:
    """Draw a raster of the sampled neurons (first population on top); return the PNG path."""
    pops = res.populations
    colors = population_colors([p.name for p in pops])
    fig, ax = plt.subplots(figsize=(10, 7), layout="constrained")
    row0 = 0
    ticks, labels = [], []
    t_hi = res.t_start + res.params.get("raster_ms", 500.0)
    t_hi = min(t_hi, res.t_stop)
    total = sum(p.n_raster for p in pops)
    for p in pops:
        # row 0 at the top: populations are stacked downwards in file (gid) order
        y = -(row0 + p.raster_ids.astype(np.int64))
        ax.scatter(p.raster_times, y, s=2.5, marker="o", color=colors[p.name], linewidths=0,
                   rasterized=True)
        ticks.append(-(row0 + (p.n_raster - 1) / 2))
        labels.append(f"{p.name} ({p.n_raster}/{p.size})")
        row0 += p.n_raster
        ax.axhline(-(row0 - 0.5), color="0.85", lw=0.6)
    ax.set_yticks(ticks, labels, fontsize=8)
    for lab, p in zip(ax.get_yticklabels(), pops):
        lab.set_color(colors[p.name])
    ax.set_ylim(-(row0 - 0.5), 0.5)
    ax.set_xlim(res.t_start, t_hi)
    ax.set_xlabel("Time (ms)")
    ax.set_ylabel("Population (neurons shown / total)")
    n_all = sum(p.size for p in pops)
    shown = (f"all {n_all} neurons" if total == n_all else
             f"a random sample of neurons ({total} of {n_all} shown)")
    ax.set_title(f"Spike raster of {shown}, {res.t_start:g}–{t_hi:g} ms")
    return _save(fig, path)


def plot_rates(res: AnalysisResult, path: str) -> str:
    """Draw mean rate per population (spikes/s) next to reference rates if any; return the path."""
    pops = res.populations
    names = [p.name for p in pops]
    colors = population_colors(names)
    rates = np.array([p.rate for p in pops])
    refs = np.array([np.nan if p.reference_rate is None else p.reference_rate for p in pops])
    has_ref = np.isfinite(refs).any()
    x = np.arange(len(pops))
    w = 0.4 if has_ref else 0.7
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    bars = ax.bar(x - (w / 2 if has_ref else 0), rates, w, color=[colors[n] for n in names],
                  edgecolor="k", lw=0.6, label="measured (this file)")
    for b, r in zip(bars, rates):
        ax.annotate(f"{r:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    if has_ref:
        rb = ax.bar(x + w / 2, np.nan_to_num(refs), w, color="white", edgecolor="k", lw=0.8,
                    hatch="//", label="reference")
        for b, r in zip(rb, refs):
            if np.isfinite(r):
                ax.annotate(f"{r:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            xytext=(0, 2), textcoords="offset points", ha="center",
                            fontsize=8, color="0.3")
        ax.legend(loc="upper left")
    ax.set_xticks(x, names)
    ax.set_xlabel("Population")
    ax.set_ylabel("Mean firing rate (spikes/s)")
    ax.set_ylim(0, 1.15 * np.nanmax(np.concatenate([rates, refs, [1e-9]])))
    title = "Mean firing rate per population" + (" vs reference" if has_ref else "")
    ax.set_title(f"{title} ({_window_text(res)})")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _density(a: np.ndarray, n_bins: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, smoothed density) of a sample, in O(len(a)) (histogram + Gaussian
    smoothing over ~2 bins), for drawing violins of large samples quickly."""
    lo, hi = np.percentile(a, [0, 100])
    counts, edges = np.histogram(a, bins=n_bins, range=(lo, hi))
    k = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    pad = np.concatenate([np.zeros(6), counts.astype(float), np.zeros(6)])
    dens = np.convolve(pad, k / k.sum(), mode="same")[6:-6]
    y = 0.5 * (edges[1:] + edges[:-1])
    # close the shape at the extreme values
    return (np.concatenate([[lo], y, [hi]]), np.concatenate([[0.0], dens, [0.0]]))


def _violins(ax, data: list[np.ndarray], colors: list, names: list[str]) -> None:
    x = np.arange(len(data))
    for i, (a, c) in enumerate(zip(data, colors)):
        a = np.asarray(a, float)
        a = a[np.isfinite(a)]
        if a.size == 0:
            ax.text(i, 0.06, "no data", transform=ax.get_xaxis_transform(), ha="center",
                    fontsize=8, color="0.4")
            ax.text(i, 1.0, "n=0", transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=7, color="0.3")
            continue
        if a.size > 1 and np.ptp(a) > 0:
            y, dens = _density(a)
            half = 0.4 * dens / dens.max()
            ax.fill_betweenx(y, i - half, i + half, facecolor=c, edgecolor="k", lw=0.5,
                             alpha=0.75)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        ax.vlines(i, q1, q3, color="k", lw=4)
        ax.scatter([i], [med], color="white", edgecolor="k", s=18, zorder=3)
        ax.text(i, 1.0, f"n={a.size}", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=7, color="0.3")
    ax.set_xticks(x, names)
    ax.set_xlim(-0.6, len(data) - 0.4)
    ax.grid(axis="y", alpha=0.3)


def plot_distributions(res: AnalysisResult, path: str) -> str:
    """Draw per-population distributions of rate (spikes/s), ISI CV and count CC; return the path."""
    pops = res.populations
    names = [p.name for p in pops]
    colors = population_colors(names)
    cols = [colors[n] for n in names]
    prm = res.params
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), layout="constrained")
    _violins(axes[0], [p.rates for p in pops], cols, names)
    axes[0].set_ylabel("Firing rate (spikes/s)")
    axes[0].set_title("Per-neuron firing rate, all neurons", pad=14)
    _violins(axes[1], [p.cv for p in pops], cols, names)
    axes[1].axhline(1.0, color="0.4", ls="--", lw=0.8, label="Poisson process (CV = 1)")
    axes[1].legend(loc="upper right", fontsize=8)
    axes[1].set_ylabel("CV of inter-spike intervals")
    ns = prm.get("n_sample")
    axes[1].set_title(f"ISI coefficient of variation (all neurons with ≥ "
                      f"{prm.get('cv_min_spikes')} spikes)", pad=14)
    _violins(axes[2], [p.cc for p in pops], cols, names)
    axes[2].axhline(0.0, color="0.4", ls="--", lw=0.8)
    axes[2].set_ylabel("Correlation coefficient")
    axes[2].set_title(f"Spike-count correlation, all pairs of the non-silent neurons among "
                      f"{ns if ns else 'all'} sampled per population "
                      f"({prm.get('cc_bin_ms'):g} ms bins)", pad=14)
    axes[2].set_xlabel("Population")
    fig.suptitle(f"Distributions per population ({_window_text(res)}; "
                 "bar = quartiles, dot = median)")
    return _save(fig, path)


def plot_spectra(res: AnalysisResult, path: str) -> str:
    """Draw Welch power spectra (Hz vs (spikes/s)^2/Hz) of population activity; return the path."""
    pops = res.populations
    colors = population_colors([p.name for p in pops])
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    drawn, dashed, flat = 0, False, []
    for p in pops:
        if p.freqs.size < 2:
            continue
        f, s = p.freqs[1:], p.psd[1:]  # drop 0 Hz for the log axis
        if not np.any(s > 0):
            flat.append(p.name)         # silent or constant activity: nothing on a log axis
            continue
        inh = bool(re.fullmatch(r".*\dI", p.name))
        dashed |= inh
        ax.loglog(f, s, color=colors[p.name], lw=1.2, label=p.name, ls="--" if inh else "-")
        drawn += 1
    if drawn:
        title = "population" + ("\n(dashed =\ninhibitory)" if dashed else "")
        ax.legend(fontsize=8, title=title, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        ax.text(0.5, 0.5, "no spectrum (window too short or no spikes)",
                transform=ax.transAxes, ha="center")
    if flat:
        ax.text(0.01, 0.01, f"zero power, not shown: {', '.join(flat)}", transform=ax.transAxes,
                fontsize=8, color="0.3")
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel("Power spectral density ((spikes/s)² / Hz)")
    bin_ms = res.params.get("activity_bin_ms", 1.0)
    n_bins = max((p.activity.size for p in pops), default=0)
    seg = min(int(res.params.get("nperseg", 1024)), n_bins)
    ax.set_title(f"Power spectrum of population activity (Welch, {bin_ms:g} ms bins, "
                 f"{seg}-bin segments; {_window_text(res)})", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    return _save(fig, path)


def plot_activity(res: AnalysisResult, path: str) -> str:
    """Draw population activity (spikes/s per neuron) over the raster window; return the path."""
    pops = res.populations
    colors = population_colors([p.name for p in pops])
    bin_ms = res.params.get("activity_bin_ms", 1.0)
    t_hi = min(res.t_stop, res.t_start + res.params.get("raster_ms", 500.0))
    nb = max(1, int(round((t_hi - res.t_start) / bin_ms)))
    fig, axes = plt.subplots(len(pops), 1, figsize=(9, 1.1 * len(pops) + 1.2), sharex=True,
                             layout="constrained", squeeze=False)
    for ax, p in zip(axes[:, 0], pops):
        a = p.activity[:nb]
        t = res.t_start + bin_ms * np.arange(a.size)
        ax.plot(t, a, color=colors[p.name], lw=0.7, drawstyle="steps-post")
        ax.axhline(p.rate, color="k", lw=0.6, ls=":")
        ax.set_ylabel(p.name, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("Time (ms)")
    fig.supylabel("Population rate (spikes/s per neuron)", fontsize=9)
    fig.suptitle(f"Population activity in {bin_ms:g} ms bins (dotted line = mean rate over "
                 f"{res.t_start:g}–{res.t_stop:g} ms)", fontsize=10)
    return _save(fig, path)


def plot_all(res: AnalysisResult, fig_dir: str) -> dict[str, str]:
    """Write all figures into ``fig_dir``; return figure name -> PNG path."""
    os.makedirs(fig_dir, exist_ok=True)
    j = os.path.join
    return {
        "raster": plot_raster(res, j(fig_dir, "raster.png")),
        "rates": plot_rates(res, j(fig_dir, "rates.png")),
        "distributions": plot_distributions(res, j(fig_dir, "distributions.png")),
        "spectra": plot_spectra(res, j(fig_dir, "spectra.png")),
        "activity": plot_activity(res, j(fig_dir, "activity.png")),
    }
