r"""Mean-field theory vs spiking simulation, from the same network description.

    python scripts/meanfield_vs_simulation.py [--out out/meanfield] [--seed 1] [--ranks 2]
        [--brunel-order 2500] [--brunel-points 5,2 6,4] [--brunel-t-sim 1000]
        [--N-scaling 0.1] [--K-scaling 0.5] [--mc-t-sim 5000] [--mc-file FULL.h5]
        [--nperseg 512] [--reuse]

For every network the :class:`distsim.spec.Network` is built ONCE with the builder
(:func:`distsim.networks.brunel.brunel`, :func:`distsim.networks.microcircuit.microcircuit`);
the mean-field parameters come from it via
:func:`distsim.meanfield.network.params_from_network`, the spiking run from the command line
``distsim run MODEL --set KEY=VALUE ...`` with the same keyword arguments, and the script
checks that the network the run stored (``/meta@spec_json``) is identical to the one the
mean-field used (``same_spec`` in the tables; a mismatch is an error). With ``--mc-file`` an
existing microcircuit output (e.g. full scale) is compared instead of simulating; its
mean-field is then computed from the network stored in that file.

1. Brunel (2000) network (``iaf_psc_delta``, builder defaults: V_reset = 0 mV, J = 0.1 mV,
   delay 1.5 ms): Siegert rates (:func:`distsim.meanfield.firing_rates`) vs simulated E and I
   rates, for each ``g,eta`` point (default the AI point 5,2 and the SI-fast point 6,4 of
   Brunel 2000, Fig. 8).
2. Potjans & Diesmann microcircuit (``iaf_psc_exp``) at ``N_scaling``/``K_scaling`` (default
   0.1/0.5, close to full-scale rates; 0.1/1 has elevated rates, a known finite-size effect
   seen in NEST as well): mean-field (Siegert with the colored-noise shift) vs simulated vs
   the seed's full-scale NEST rates (``full_mean_rates``, the Network's reference_rates).
3. Power spectra of the population-averaged rate of each microcircuit population.

Spectra: units and normalisation
--------------------------------
``analysis.analyze_file`` bins the spikes of a population of N neurons in 1 ms bins,
``a(t) = counts / (N * 1 ms)`` (spikes/s, the population-averaged rate), and estimates the
ONE-SIDED Welch PSD in (spikes/s)^2/Hz (Hann window, ``--nperseg`` bins per segment, half
overlap). :func:`distsim.meanfield.power_spectra` (Bos et al. 2016, eq. 18, as NNMT's
``lif.exp.power_spectra``) returns ``P(f) = [(1-W)^-1 diag(nu/N) (1-W)^-H]_ii`` in spikes/s =
(spikes/s)^2/Hz: the TWO-SIDED spectrum of the population-averaged rate for the N of the
network (a Poisson population gives the flat ``nu/N``). To compare like with like the
mean-field prediction is converted into what the analysis measures:

* one-sided: x 2 (so a Poisson population gives ``2 nu/N``);
* 1 ms binning and sampling at fs = 1 kHz: the binned, sampled rate has the spectrum
  ``sum_k sinc^2((f + k fs) dt_bin) P(|f + k fs|)`` (box-car filter plus aliasing). Terms
  ``k = -1, 0, 1`` are computed from the theory; the rest (|f + k fs| >= 1.6 kHz, where
  ``P = nu/N`` to < 0.1 %) is added as ``nu/N (1 - sum_{|k|<=1} sinc^2)`` using
  ``sum_k sinc^2(x + k) = 1``. Without this step the prediction would be ~40 % too low at
  400 Hz where P(f) still differs from nu/N.

The mean-field spectra use the self-consistent mean-field rates as working point, the
'shift' transfer function without refractory correction (NNMT's default) and the truncated
gaussian delay distribution with the truncation point of the network's delay distributions.

Outputs in ``--out``: ``rates.png``, ``spectra.png``, ``report.md``, ``summary.json`` and
the runs in ``runs/`` (``--reuse`` keeps runs whose file exists and holds the same network).

Units: ms, spikes/s, Hz, (spikes/s)^2/Hz.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

#: environment of the simulation subprocesses (before the BLAS setting below)
_ENV0 = dict(os.environ)
# The linear-response code makes thousands of tiny BLAS calls (scipy's ODE steps); a
# multi-threaded OpenBLAS on a busy machine makes them ~100x slower (23 s instead of 0.2 s for
# the microcircuit spectra, measured here). Must be set before numpy is imported; only when
# run as a script (an importing process keeps its own setting).
if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import analysis  # noqa: E402
from distsim.meanfield.compare import (BANDS, F_MAX, F_MIN, build, compare, meanfield,  # noqa: E402
                                       network_from_file, same_spec, spectra_summary)
from distsim.meanfield.spectra import closest_to_instability, one_sided_power_spectra  # noqa: E402

#: Brunel 2000, Fig. 8 names of (g, eta) points
BRUNEL_REGIMES = {(3.0, 2.0): "SR", (6.0, 4.0): "SI-fast", (5.0, 2.0): "AI", (4.5, 0.9): "SI-slow"}


# --------------------------------------------------------------------------- simulation

def run_simulation(model: str, kwargs: dict, path: str, seed: int, t_presim: float, t_sim: float,
                   ranks: int = 2) -> float:
    """``distsim run MODEL --set k=v ...`` writing ``path`` (``ranks`` MPI ranks; 1 = no
    mpirun). Returns the wall time in s; raises RuntimeError if the run fails."""
    py = [sys.executable] if ranks == 1 else ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py"]
    cmd = py + ["-m", "distsim", "run", model]
    for k, v in kwargs.items():
        cmd += ["--set", f"{k}={v}"]
    cmd += ["--seed", str(seed), "--t-presim", str(t_presim), "--t-sim", str(t_sim),
            "-o", path, "--overwrite", "-q"]
    env = dict(_ENV0, PYTHONPATH=ROOT + os.pathsep + _ENV0.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise RuntimeError(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0


def simulate(model: str, kwargs: dict, path: str, seed: int, t_presim: float, t_sim: float,
             ranks: int = 2, reuse: bool = False, nperseg: int = 512, spectra: bool = True,
             log=print) -> dict:
    """Build, predict, simulate and analyse one network; returns the dict of :func:`compare`.

    The file is reused when ``reuse`` and it holds exactly this network and duration.
    """
    net = build(model, kwargs)
    t0 = time.perf_counter()
    pred = meanfield(net)
    t_mf = time.perf_counter() - t0
    wall = None
    if not (reuse and os.path.exists(path) and same_spec(net, path)
            and _run_meta(path) == (t_presim, t_presim + t_sim, seed)):
        log(f"  simulating {model} {kwargs} -> {path}")
        wall = run_simulation(model, kwargs, path, seed, t_presim, t_sim, ranks)
    if not same_spec(net, path):
        raise RuntimeError(f"{path} was not simulated from the network the mean-field used")
    t0 = time.perf_counter()
    res = analysis.analyze_file(path, t_start=t_presim, nperseg=nperseg)
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = compare(net, pred, res, spectra)
    t_mf += time.perf_counter() - t0
    out.update({"file": path, "same_spec": True, "kwargs": dict(kwargs), "seed": seed,
                "t_presim_ms": t_presim, "t_sim_ms": t_sim,
                "wall_s": {"meanfield": t_mf, "simulation": wall, "analysis": t_an}})
    return out


def _run_meta(path: str):
    """(warm-up ms, end of the recording ms, seed) of an output file (``/meta@t_sim_ms`` is the
    end time, warm-up included)."""
    import h5py

    with h5py.File(path, "r") as f:
        a = f["meta"].attrs
        return float(a.get("t_presim_ms", 0.0)), float(a.get("t_sim_ms", -1)), int(a.get("seed", -1))


# --------------------------------------------------------------------------- figures

def plot_rates(brunel: list[dict], mc: dict | None, path: str, mc_label: str) -> None:
    """Bar charts mean-field vs simulated rates (and full-scale reference) for both models."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = (1 if brunel else 0) + (1 if mc else 0)
    widths = ([max(2, len(brunel))] if brunel else []) + ([4] if mc else [])
    fig, axes = plt.subplots(1, ncols, figsize=(4.5 + 9 * (ncols - 1), 5.2),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    axes = list(axes[0])
    col = {"meanfield": "#4c72b0", "simulated": "#dd8452", "reference": "#8c8c8c"}
    if brunel:
        ax = axes.pop(0)
        labels, mfv, simv = [], [], []
        for b in brunel:
            for row in b["table"]:
                kw = b["kwargs"]
                labels.append(f"{row['population']}\n{b['label']}\ng={kw['g']:g}, η={kw['eta']:g}")
                mfv.append(row["meanfield"])
                simv.append(row["simulated"])
        _bars(ax, labels, [("mean-field (Siegert)", mfv, col["meanfield"]),
                           ("distsim simulation", simv, col["simulated"])], simv, mfv)
        b0 = brunel[0]
        ax.set_title(f"Brunel network, order {b0['kwargs']['order']} "
                     f"({5 * b0['kwargs']['order']} neurons)")
        ax.set_ylabel("mean firing rate (spikes/s)")
    if mc:
        ax = axes.pop(0)
        tab = mc["table"]
        labels = [r["population"] for r in tab]
        mfv = [r["meanfield"] for r in tab]
        simv = [r["simulated"] for r in tab]
        series = [("mean-field (Siegert, same network)", mfv, col["meanfield"]),
                  ("distsim simulation", simv, col["simulated"])]
        if all(r.get("reference") is not None for r in tab):
            series.append(("NEST full scale (seed's full_mean_rates)", [r["reference"] for r in tab],
                           col["reference"]))
        _bars(ax, labels, series, simv, mfv)
        ax.set_title(f"Microcircuit, {mc_label}")
        ax.set_ylabel("mean firing rate (spikes/s)")
    fig.text(0.5, 0.01, "Numbers above the bars: (simulated - mean-field) / mean-field. "
             "Rates of ALL neurons of a population, warm-up discarded.",
             ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _bars(ax, labels, series, simv, mfv):
    x = np.arange(len(labels))
    w = 0.8 / len(series)
    for k, (name, vals, c) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * w, vals, w, label=name, color=c)
    top = max(max(v for _, vals, _ in series for v in vals), 1e-9)
    for xi, s, m in zip(x, simv, mfv):
        if m > 0:
            ax.text(xi, max(s, m) + 0.02 * top, f"{100 * (s - m) / m:+.1f}%", ha="center",
                    va="bottom", fontsize=8)
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylim(0, top * 1.18)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)


def plot_spectra(cmp: dict, path: str, title: str, cont: dict | None = None, note: str = "") -> None:
    """8 panels (one per population), log-log, F_MIN-F_MAX Hz: simulated vs mean-field PSD.

    ``cont``: {"freqs", "psd": {pop: array}} of the unbinned mean-field spectrum (dashed);
    ``note``: an extra caption line.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = list(cmp["spectra"])
    ncol = 4
    nrow = int(math.ceil(len(pops) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(16, 4.0 * nrow + 1.6), squeeze=False)
    f = cmp["freqs"]
    for ax, pop in zip(axes.ravel(), pops):
        s = cmp["spectra"][pop]
        ax.loglog(f, s["sim"], color="#dd8452", lw=1.0, label="distsim simulation (Welch)")
        if cont is not None:
            ax.loglog(cont["freqs"], cont["psd"][pop], color="#4c72b0", lw=1.0, ls="--",
                      label="mean-field, unbinned rate")
        ax.loglog(f, s["mf"], color="#1f3a68", lw=1.8, label="mean-field, 1 ms bins")
        ax.axhline(2 * s["nu_mf"] / s["N"], color="k", ls=":", lw=1.0,
                   label=r"Poisson level $2\nu_{mf}/N$")
        ax.set_xlim(F_MIN, F_MAX)
        ax.set_title(f"{pop}  (N = {s['N']}, ν_mf = {s['nu_mf']:.2f}, ν_sim = {s['nu_sim']:.2f} spikes/s)",
                     fontsize=9)
        ax.grid(which="both", alpha=0.25)
    for ax in axes.ravel()[len(pops):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("PSD of population rate\n((spikes/s)²/Hz, one-sided)")
    for ax in axes[-1]:
        ax.set_xlabel("frequency (Hz)")
    h, lab = axes[0, 0].get_legend_handles_labels()
    fig.legend(h, lab, loc="upper center", ncol=len(lab), fontsize=9, bbox_to_anchor=(0.5, 0.955),
               frameon=False)
    fig.suptitle(title, fontsize=12, y=0.995)
    fig.text(0.5, 0.005,
             "Population-averaged rate a(t) = spikes / (N · 1 ms) of ALL N neurons. Simulation: one-sided Welch PSD "
             f"(Hann, {cmp.get('nperseg', '')} bins/segment, {cmp['n_segments_welch']} segments). "
             "Mean-field: linear response (Bos et al. 2016; NNMT lif.exp.power_spectra) P(f) = [(1-W)⁻¹ diag(ν/N) (1-W)⁻ᴴ]ᵢᵢ, "
             "two-sided,\nmultiplied by 2 (one-sided); solid: with the 1 ms binning and 1 kHz sampling of the analysis "
             "(Σₖ sinc²((f+k·1kHz)·1ms) P(|f+k·1kHz|)), dashed: unbinned rate 2P(f). Same N, same network, "
             "mean-field working point." + (f"\n{note}" if note else ""),
             ha="center", va="bottom", fontsize=8.5)
    fig.tight_layout(rect=(0, 0.075 if note else 0.06, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- report

def _fmt(x, p=3):
    return "-" if x is None else f"{x:.{p}f}"


def table_md(rows: list[dict], with_ref: bool = False) -> str:
    """Markdown table of :func:`rate_table` rows."""
    head = "| population | mean-field (spikes/s) | simulated (spikes/s) | rel. diff. |"
    sep = "|---|---:|---:|---:|"
    if with_ref:
        head += " NEST full scale (spikes/s) |"
        sep += "---:|"
    lines = [head, sep]
    for r in rows:
        rd = "-" if r["rel_diff"] is None else f"{100 * r['rel_diff']:+.1f} %"
        line = f"| {r['population']} | {_fmt(r['meanfield'])} | {_fmt(r['simulated'])} | {rd} |"
        if with_ref:
            line += f" {_fmt(r.get('reference'))} |"
        lines.append(line)
    return "\n".join(lines)


def write_report(path: str, brunel: list[dict], mc: dict | None, spec_sum: dict | None, args,
                 timing: dict) -> None:
    """report.md with the rate tables, the spectral summary and the run times."""
    L = ["# Mean-field vs simulation", "",
         "Generated by `scripts/meanfield_vs_simulation.py`. Rates in spikes/s over the recorded "
         "window (warm-up discarded), ALL neurons of a population; rel. diff. = "
         "(simulated - mean-field) / mean-field. Mean-field parameters come from "
         "`params_from_network` of the same Network the run simulated (checked against the "
         "file's `/meta@spec_json`).", ""]
    for b in brunel:
        kw = b["kwargs"]
        L += [f"## Brunel {b['label']}: order {kw['order']}, g = {kw['g']}, eta = {kw['eta']}", "",
              f"seed {b['seed']}, {b['t_presim_ms']:g} ms warm-up + {b['t_sim_ms']:g} ms recorded; "
              f"mean-field mu = {_fmt(b['mu_mV'].get('E'), 2)} mV, sigma = {_fmt(b['sigma_mV'].get('E'), 2)} mV",
              "", table_md(b["table"]), ""]
    if mc:
        L += [f"## Microcircuit ({mc['label']})", "",
              f"{mc['source']}; window {mc['window_ms'][0]:g}-{mc['window_ms'][1]:g} ms. "
              "Last column: the seed's full-scale NEST rates (`full_mean_rates`).", "",
              table_md(mc["table"], with_ref=True), ""]
        L += ["## Microcircuit population-rate spectra", "",
              "`spectra.png`: one-sided PSD of the population-averaged rate (spikes/(N·1 ms), 1 ms bins) in "
              "(spikes/s)²/Hz. Mean-field: `distsim.meanfield.power_spectra` (two-sided, as NNMT, for the "
              "N of this network) x 2, with the 1 ms box-car and the 1 kHz aliasing of the analysis applied "
              f"(see the module docstring). Welch: {mc['nperseg']} bins/segment, "
              f"{mc['n_segments_welch']} segments. Delay truncation {mc['delay_min_ms']:g} ms.", "",
              f"Linear stability: the eigenvalue of the effective connectivity W(f) closest to 1 is "
              f"λ = {mc['instability']['eigenvalue'][0]:.3f}{mc['instability']['eigenvalue'][1]:+.3f}i "
              f"at {mc['instability']['freq_hz']:.0f} Hz (|1 - λ| = {mc['instability']['distance']:.3f}); "
              "the predicted spectra grow like 1/|1 - λ|² there.", "",
              "Median of simulated / mean-field PSD per band, and the peak frequency above 20 Hz:", "",
              "| population | " + " | ".join(f"{int(lo)}-{int(hi)} Hz" for lo, hi in BANDS)
              + " | peak MF (Hz) | peak sim (Hz) |",
              "|---|" + "---:|" * (len(BANDS) + 2)]
        for pop, d in spec_sum.items():
            L.append(f"| {pop} | " + " | ".join(_fmt(d[f'median_ratio_{int(lo)}_{int(hi)}Hz'], 2)
                                                 for lo, hi in BANDS)
                     + f" | {_fmt(d['peak_hz_mf'], 1)} | {_fmt(d['peak_hz_sim'], 1)} |")
        L.append("")
    L += ["## Summary", ""] + summary_lines(brunel, mc, spec_sum) + [""]
    L += ["## Run time", "", "| stage | wall (s) |", "|---|---:|"]
    for k, v in timing.items():
        L.append(f"| {k} | {'reused existing file' if v is None else f'{v:.1f}'} |")
    L += ["", f"Command: `{' '.join(['python scripts/meanfield_vs_simulation.py'] + args.argv)}`"
          + ("" if args.argv else " (defaults)"), ""]
    with open(path, "w") as fh:
        fh.write("\n".join(L))


def summary_lines(brunel: list[dict], mc: dict | None, spec_sum: dict | None) -> list[str]:
    """Bullet points with the largest deviations (computed, no fixed numbers)."""
    out = []
    for b in brunel:
        m = max(abs(r["rel_diff"]) for r in b["table"] if r["rel_diff"] is not None)
        out.append(f"- Brunel {b['label']} (g = {b['kwargs']['g']:g}, eta = {b['kwargs']['eta']:g}): "
                   f"simulated rates within {100 * m:.1f} % of the Siegert rates.")
    if mc:
        rows = [r for r in mc["table"] if r["rel_diff"] is not None]
        close = [r["population"] for r in rows if abs(r["rel_diff"]) <= 0.05]
        far = sorted((r for r in rows if abs(r["rel_diff"]) > 0.05), key=lambda r: -abs(r["rel_diff"]))
        out.append(f"- Microcircuit: {len(close)}/{len(rows)} populations within 5 % of the mean-field "
                   f"({', '.join(close) or 'none'})"
                   + (f"; larger deviations: " + ", ".join(f"{r['population']} {100 * r['rel_diff']:+.1f} %"
                                                          for r in far) if far else "") + ".")
        if all(r.get("reference") for r in rows):
            dev = max(abs(r["simulated"] / r["reference"] - 1) for r in rows)
            dmf = max(abs(r["meanfield"] / r["reference"] - 1) for r in rows)
            out.append(f"- Largest relative deviation from the full-scale NEST rates: simulation "
                       f"{100 * dev:.1f} %, mean-field {100 * dmf:.1f} %.")
        if spec_sum:
            key = "median_ratio_20_100Hz"
            r = [d[key] for d in spec_sum.values() if d[key] is not None]
            pk_mf = ", ".join(f"{p} {d['peak_hz_mf']:.0f}" for p, d in spec_sum.items())
            pk_sim = ", ".join(f"{p} {d['peak_hz_sim']:.0f}" for p, d in spec_sum.items())
            out.append(f"- Spectra, 20-100 Hz: simulated / mean-field median ratio between "
                       f"{min(r):.2f} and {max(r):.2f} over the populations. Highest peak above 20 Hz "
                       f"(Hz): mean-field {pk_mf}; simulation {pk_sim}.")
    return out


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------------- main

def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, "out", "meanfield"), help="output folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ranks", type=int, default=2, help="MPI ranks per simulation (1: no mpirun)")
    p.add_argument("--brunel-order", type=int, default=2500)
    p.add_argument("--brunel-points", nargs="*", default=["5,2", "6,4"], metavar="G,ETA",
                   help="(g, eta) points of the Brunel network; none to skip")
    p.add_argument("--brunel-t-presim", type=float, default=200.0, help="ms")
    p.add_argument("--brunel-t-sim", type=float, default=1000.0, help="ms")
    p.add_argument("--N-scaling", type=float, default=0.1)
    p.add_argument("--K-scaling", type=float, default=0.5)
    p.add_argument("--mc-t-presim", type=float, default=500.0, help="ms")
    p.add_argument("--mc-t-sim", type=float, default=5000.0, help="ms")
    p.add_argument("--mc-file", help="existing microcircuit output to compare instead of simulating")
    p.add_argument("--no-microcircuit", action="store_true")
    p.add_argument("--nperseg", type=int, default=512, help="Welch segment length (1 ms bins)")
    p.add_argument("--reuse", action="store_true", help="keep runs whose file holds the same network")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    t_all = time.perf_counter()
    out = os.path.abspath(args.out)
    runs = os.path.join(out, "runs")
    os.makedirs(runs, exist_ok=True)
    timing = {}

    brunel = []
    for pt in args.brunel_points:
        g, eta = (float(x) for x in pt.split(","))
        kw = {"order": args.brunel_order, "g": g, "eta": eta}
        label = BRUNEL_REGIMES.get((g, eta), f"g={g:g},eta={eta:g}")
        print(f"Brunel {label} (g={g:g}, eta={eta:g}, order {args.brunel_order})", flush=True)
        path = os.path.join(runs, f"brunel_o{args.brunel_order}_g{g:g}_eta{eta:g}_s{args.seed}.h5")
        b = simulate("brunel", kw, path, args.seed, args.brunel_t_presim, args.brunel_t_sim,
                     args.ranks, args.reuse, args.nperseg, spectra=False)
        b["label"] = label
        brunel.append(b)
        timing[f"Brunel {label}: simulation"] = b["wall_s"]["simulation"]
        for row in b["table"]:
            print(f"  {row['population']}: mean-field {row['meanfield']:.3f}  simulated "
                  f"{row['simulated']:.3f}  ({100 * row['rel_diff']:+.1f} %)", flush=True)

    mc = spec_sum = cont = None
    if not args.no_microcircuit:
        if args.mc_file:
            path = os.path.abspath(args.mc_file)
            net = network_from_file(path)
            if net.name != "microcircuit":
                raise SystemExit(f"{path} holds the network {net.name!r}, not the microcircuit")
            print(f"microcircuit from {path}", flush=True)
            t0 = time.perf_counter()
            pred = meanfield(net)
            t_mf = time.perf_counter() - t0
            t_presim, t_end, seed = _run_meta(path)
            t0 = time.perf_counter()
            res = analysis.analyze_file(path, t_start=t_presim, nperseg=args.nperseg)
            t_an = time.perf_counter() - t0
            t0 = time.perf_counter()
            mc = compare(net, pred, res)
            t_mf += time.perf_counter() - t0
            label = f"{net.n_neurons} neurons, from file"
            mc.update({"file": path, "same_spec": True, "seed": seed,
                       "source": f"existing run `{path}`, seed {seed} (mean-field from the network "
                                 "stored in the file)",
                       "wall_s": {"meanfield": t_mf, "simulation": None, "analysis": t_an}})
        else:
            kw = {"N_scaling": args.N_scaling, "K_scaling": args.K_scaling}
            print(f"microcircuit N_scaling={args.N_scaling:g} K_scaling={args.K_scaling:g}", flush=True)
            path = os.path.join(runs, f"microcircuit_N{args.N_scaling:g}_K{args.K_scaling:g}_s{args.seed}.h5")
            mc = simulate("microcircuit", kw, path, args.seed, args.mc_t_presim, args.mc_t_sim,
                          args.ranks, args.reuse, args.nperseg)
            label = (f"N_scaling={args.N_scaling:g}, K_scaling={args.K_scaling:g}, "
                     f"{mc['pred']['params']['num_neurons'].sum()} neurons")
            mc["source"] = (f"distsim run, seed {args.seed}, {args.mc_t_presim:g} ms warm-up + "
                            f"{args.mc_t_sim:g} ms recorded, {args.ranks} MPI ranks")
        mc["label"] = label
        mc["nperseg"] = args.nperseg
        timing["microcircuit: simulation"] = mc["wall_s"]["simulation"]
        timing["microcircuit: analysis"] = mc["wall_s"]["analysis"]
        timing["microcircuit: mean-field rates + binned spectra"] = mc["wall_s"]["meanfield"]
        for row in mc["table"]:
            rd = "-" if row["rel_diff"] is None else f"{100 * row['rel_diff']:+.1f} %"
            print(f"  {row['population']:5s}: mean-field {row['meanfield']:.3f}  simulated "
                  f"{row['simulated']:.3f}  ({rd})  full-scale NEST {_fmt(row.get('reference'))}",
                  flush=True)
        t0 = time.perf_counter()
        pred = mc["pred"]
        fc = np.geomspace(F_MIN, F_MAX, 300)
        P = one_sided_power_spectra(pred["params"], fc, pred["nu"], mc["delay_min_ms"])
        cont = {"freqs": fc, "psd": {p: P[:, i] for i, p in enumerate(pred["active"])}}
        spec_sum = spectra_summary(mc)
        mc["instability"] = closest_to_instability(pred["params"], pred["nu"], fc, mc["delay_min_ms"])
        timing["microcircuit: unbinned spectra + stability"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plot_rates(brunel, mc, os.path.join(out, "rates.png"), mc["label"] if mc else "")
    if mc:
        ins = mc["instability"]
        plot_spectra(mc, os.path.join(out, "spectra.png"),
                     f"Microcircuit ({mc['label']}): power spectra of the population rates, "
                     "simulation vs mean-field linear response", cont,
                     note=f"The linear theory is closest to instability at {ins['freq_hz']:.0f} Hz: an eigenvalue "
                          f"λ of the effective connectivity W has |1 - λ| = {ins['distance']:.3f}, so the predicted "
                          "peak there scales like 1/|1 - λ|² and is very sensitive to the model details.")
    timing["figures"] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - t_all

    write_report(os.path.join(out, "report.md"), brunel, mc, spec_sum, args, timing)
    summary = {
        "brunel": [{k: b[k] for k in ("label", "kwargs", "seed", "t_presim_ms", "t_sim_ms", "file",
                                      "same_spec", "table", "mu_mV", "sigma_mV", "wall_s")}
                   for b in brunel],
        "microcircuit": None if not mc else {
            **{k: mc[k] for k in ("label", "source", "file", "same_spec", "seed", "table", "mu_mV",
                                  "sigma_mV", "window_ms", "wall_s", "bin_ms", "delay_min_ms",
                                  "nperseg", "n_segments_welch", "instability")},
            "spectra_summary": spec_sum,
            "spectra": {"freqs_hz": mc["freqs"],
                        "units": "(spikes/s)^2/Hz, one-sided, population-averaged rate, 1 ms bins",
                        **{p: {"sim": s["sim"], "meanfield_binned": s["mf"], "N": s["N"]}
                           for p, s in mc["spectra"].items()}}},
        "timing_s": timing,
    }
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump(_jsonable(summary), fh, indent=1)
    print(f"wrote {out}/rates.png, spectra.png, report.md, summary.json; total {timing['total']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
