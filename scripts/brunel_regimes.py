#!/usr/bin/env python
"""The four dynamical regimes of the Brunel (2000) network, as in Brunel's Fig. 8.

Runs ``distsim.networks.brunel`` with Brunel's Fig. 8 parameters (order 2500: NE = 10000,
NI = 2500, CE = 1000, CI = 250, J = 0.1 mV, D = 1.5 ms, V_reset = 10 mV, tau_m = 20 ms,
t_ref = 2 ms, V_th = 20 mV; seed 002) at the four (g, eta) points of Fig. 8 (``REGIMES``
in ``distsim.networks.brunel_params``), discards a warm-up, and writes into ``--out``
(default ``out/brunel_regimes/``):

- ``<regime>.png`` per regime: raster of 50 E + 50 I neurons over the last ``--window`` ms,
  and below it the population activity of the whole network (spikes/s per neuron) in
  ``--plot-bin`` ms bins, like Brunel's Fig. 8; on the right the last few periods enlarged;
- ``summary.png``: the (g, eta) points, the power spectra of the population activity, and
  the measures below as bars;
- ``summary.json``: the parameters, the measures and the run times;

and prints the measures as a table. Measures, over the recorded window (t_start, t_stop]:

- ``rate_hz``: mean firing rate of all neurons (spikes/s);
- ``cv_isi``: mean over all neurons with >= 4 spikes of the ISI coefficient of variation
  (``analysis.stats.isi_cv``; 0 = clock-like, 1 = Poisson);
- ``chi``: Golomb's synchrony measure on membrane potentials (Golomb & Rinzel 1994; Golomb
  2007, Scholarpedia 2:1347): chi**2 = Var_t[mean_i V_i(t)] / mean_i Var_t[V_i(t)], with
  V_m sampled every dt from the first ``--n-vm`` neurons of E and of I. chi is 1 for
  identical traces and about 1/sqrt(n) for independent ones. Chosen over spike-count
  measures because it needs no bin width: spike-count chi in 1 ms bins (also reported, as
  ``chi_spikes_1ms``) is diluted for slow oscillations at low rates (SI-slow) and changes
  with the bin width;
- ``f_peak_hz``: frequency of the largest value in [5, 1000] Hz of the Welch power spectrum
  (``analysis.stats.power_spectrum``, 256 ms Hann segments, 3.9 Hz resolution) of the
  population activity of all neurons in 0.1 ms bins (Nyquist 5 kHz, so SR's 667 Hz
  alternation of two clusters is not aliased);
- ``osc_power_frac``: fraction of the spectral power in [5, 1000] Hz lying within +-10 Hz of
  ``f_peak_hz`` (about 0.02 for a flat spectrum, near 1 for a pure oscillation): says
  whether ``f_peak_hz`` is a real oscillation or the top of a broad spectrum.

What to expect (order 2500, seed 1; NEST 3.10 gives the same rates, CVs and peaks within a
few % for SI-fast, AI and SI-slow, SR not compared): SR ~333 spikes/s, CV ~0.001, the network split into two clusters that fire in turn
every D = 1.5 ms (so the population peak is at 667 Hz and chi ~0.5, not 1); SI-fast ~59
spikes/s, CV ~0.8, ~180 Hz; AI ~38 spikes/s, chi lowest (~0.2), only a weak broad bump near
100 Hz; SI-slow ~6 spikes/s, ~20-25 Hz. AI's CV is ~0.42, not ~1: with V_reset = 10 mV
(half-way to threshold) and a mean input at threshold (mu = 21 mV, sigma = 7.7 mV) firing is
more regular than Poisson (an unconnected neuron with that input has CV 0.66), and the
network's residual fluctuations regularise it further. Low-rate CVs (SI-slow) are biased low
in short windows (ISIs longer than the window are missed): 0.53 at 1 s, 0.69 at 5 s.

``--ranks 1`` (default) simulates in this process with the serial communicator; ``--ranks
R`` > 1 runs ``mpirun -n R python -m mpi4py -m distsim run brunel ...`` per regime into a
temporary HDF5 file and reads it back (same numbers: the simulation does not depend on the
number of ranks). Order 2500, 1000 ms + 200 ms warm-up, all four regimes: about 35 s of CPU
(SR, at ~330 spikes/s, takes 60 % of it); wall time 40-110 s depending on the machine's load.

    .venv/bin/python scripts/brunel_regimes.py [--order 2500] [--t-sim 1000] [--warmup 200]
        [--out out/brunel_regimes] [--ranks 1] [--seed 1] [--regimes SR AI ...]
        [--epsilon 0.1] [--n-vm 200] [--window 200] [--zoom MS] [--plot-bin 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from analysis import measures  # noqa: E402
from analysis.measures import population_activity  # noqa: E402
from analysis.stats import in_window  # noqa: E402
from distsim.networks.brunel_params import REGIMES  # noqa: E402

#: Plot / table order, as in Brunel 2000 Fig. 8 (A-D).
REGIME_ORDER = ("SR", "SI-fast", "AI", "SI-slow")
DESCRIPTION = {"SR": "synchronous regular", "SI-fast": "synchronous irregular, fast oscillation",
               "AI": "asynchronous irregular", "SI-slow": "synchronous irregular, slow oscillation"}
#: Brunel 2000 Fig. 8 / seed 002 values not already the builder's defaults.
V_RESET_MV = 10.0
#: Spectral peak search range (Hz): from above the DC leakage of the Hann window up to 1 kHz.
F_MIN_HZ = 5.0
F_MAX_HZ = 1000.0
#: Welch segment length (ms) for the population-activity spectrum.
NPERSEG_MS = 256.0
#: Half width (Hz) of the band around the peak counted in ``osc_power_frac``.
PEAK_HALF_WIDTH_HZ = 10.0
#: Bin width (ms) of the population activity whose spectrum is taken: dt, so that nothing
#: below 5 kHz aliases (in SR two clusters alternate every D = 1.5 ms, i.e. at 667 Hz).
SPECTRUM_BIN_MS = 0.1
COLORS = {"E": "#1f5fa8", "I": "#c0392b"}
REGIME_COLORS = {"SR": "#7b3294", "SI-fast": "#e66101", "AI": "#1a9641", "SI-slow": "#0571b0"}


# --------------------------------------------------------------------------- simulation
def simulate(name: str, order: int = 2500, t_sim_ms: float = 1000.0, warmup_ms: float = 200.0,
             seed: int = 1, n_vm: int = 200, ranks: int = 1, dt: float = 0.1,
             epsilon: float = 0.1) -> dict:
    """Simulate regime ``name`` (a key of ``REGIMES``) and return its recorded data as a dict.

    Keys: ``name``, ``g``, ``eta``, ``order``, ``n_E``, ``n_I``, ``dt_ms``;
    ``ids`` (int64 global neuron index, E first: 0..n_E-1, then I) and ``times`` (float64,
    ms) of every spike in the recorded window ``(t_start, t_stop]`` = ``(warmup_ms,
    warmup_ms + t_sim_ms]`` (ms); ``v_m`` (float64 [sample, neuron], mV) of the first
    ``n_vm`` E and first ``n_vm`` I neurons every ``dt`` ms over that window (``None`` if
    ``n_vm`` is 0); ``wall_s`` (s, build + simulation). ``epsilon`` (connection probability,
    Brunel's 0.1 by default) lets a small network keep Brunel's in-degrees (tests).
    """
    g, eta = REGIMES[name]
    t0 = time.perf_counter()
    if ranks <= 1:
        ids, times, v_m, n_E, n_I = _simulate_inprocess(order, g, eta, t_sim_ms, warmup_ms,
                                                        seed, n_vm, dt, epsilon)
    else:
        ids, times, v_m, n_E, n_I = _simulate_mpirun(order, g, eta, t_sim_ms, warmup_ms, seed,
                                                     n_vm, dt, ranks, epsilon)
    return {"name": name, "g": g, "eta": eta, "order": order, "n_E": n_E, "n_I": n_I,
            "dt_ms": dt, "t_start": float(warmup_ms), "t_stop": float(warmup_ms + t_sim_ms),
            "ids": ids, "times": times, "v_m": v_m, "wall_s": time.perf_counter() - t0}


def _network(order, g, eta, n_vm, dt, epsilon=0.1):
    from distsim.networks.brunel import brunel

    return brunel(order=order, g=g, eta=eta, V_reset=V_RESET_MV, dt=dt, epsilon=epsilon,
                  record_spikes=True, n_record=0, voltmeter=n_vm)


def _simulate_inprocess(order, g, eta, t_sim_ms, warmup_ms, seed, n_vm, dt, epsilon):
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.recording import MemoryRecorder

    net = _network(order, g, eta, n_vm, dt, epsilon)
    comm, rec = SerialComm(), MemoryRecorder()
    sim = Simulation(net, seed=seed, comm=comm, recorder=None)
    sim.run(warmup_ms)
    sim.set_recorder(rec)  # record only after the warm-up
    sim.run(t_sim_ms)
    gids, stamps = rec.gather_spikes(comm)
    v_m = None
    if n_vm:
        v_m = np.concatenate([rec.gather_samples(comm, p)[2] for p in ("E", "I")], axis=1)
    n_E, n_I = net.populations[0].n, net.populations[1].n
    return gids.astype(np.int64), stamps * dt, v_m, n_E, n_I


def _simulate_mpirun(order, g, eta, t_sim_ms, warmup_ms, seed, n_vm, dt, ranks, epsilon):
    import h5py

    with tempfile.TemporaryDirectory(prefix="brunel_regimes_") as tmp:
        path = os.path.join(tmp, "run.h5")
        sets = {"order": order, "g": g, "eta": eta, "V_reset": V_RESET_MV, "dt": dt,
                "epsilon": epsilon, "voltmeter": n_vm}
        cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "distsim", "run",
               "brunel", "--seed", str(seed), "--t-sim", repr(float(t_sim_ms)),
               "--t-presim", repr(float(warmup_ms)), "-o", path, "--overwrite", "-q"]
        for k, v in sets.items():
            cmd += ["--set", f"{k}={v}"]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with h5py.File(path, "r") as f:
            sp = f["spikes"]
            n_E = int(sp["E"].attrs["gid_stop"] - sp["E"].attrs["gid_start"])
            n_I = int(sp["I"].attrs["gid_stop"] - sp["I"].attrs["gid_start"])
            # SONATA node ids are population-local: global index = gid_start + node_id
            ids = np.concatenate([sp[p]["node_ids"][()].astype(np.int64)
                                  + int(sp[p].attrs["gid_start"]) for p in ("E", "I")])
            times = np.concatenate([sp[p]["timestamps"][()] for p in ("E", "I")])
            v_m = None
            if n_vm:
                v_m = np.concatenate([f["report"][p]["data"][()] for p in ("E", "I")], axis=1)
    return ids, times, v_m, n_E, n_I


# --------------------------------------------------------------------------- measures
def activity_spectrum(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(freqs_hz, psd)`` of a population rate in SPECTRUM_BIN_MS bins (NPERSEG_MS segments)."""
    return measures.activity_spectrum(activity, SPECTRUM_BIN_MS, NPERSEG_MS)


def measure(run: dict) -> dict:
    """Return the regime measures of a :func:`simulate` result (:func:`analysis.measures.regime_measures`)."""
    return measures.regime_measures(run["ids"], run["times"], run["n_E"], run["n_I"], run["t_start"],
                                    run["t_stop"], run.get("dt_ms"), run.get("v_m"),
                                    spectrum_bin_ms=SPECTRUM_BIN_MS, nperseg_ms=NPERSEG_MS,
                                    f_min=F_MIN_HZ, f_max=F_MAX_HZ, half_width=PEAK_HALF_WIDTH_HZ)


# --------------------------------------------------------------------------- figures
def _title(run: dict) -> str:
    return (f"{run['name']} ({DESCRIPTION[run['name']]}): g = {run['g']:g}, "
            f"\u03b7 = \u03bd_ext/\u03bd_thr = {run['eta']:g}")


def plot_regime(run: dict, m: dict, path: str, window_ms: float = 200.0, n_show: int = 50,
                plot_bin_ms: float = 0.1, zoom_ms: float | None = None) -> str:
    """Write the raster + population-activity figure of one regime to ``path``; returns the path.

    Left: the last ``window_ms`` ms of the recording; right (if ``zoom_ms`` > 0): its last
    ``zoom_ms`` ms, where fast oscillations (SR, SI-fast) can be seen cycle by cycle.
    ``zoom_ms=None``: five periods of ``m["f_peak_hz"]``, clipped to [10, window_ms/4] ms.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    n_E = run["n_E"]
    t1 = run["t_stop"]
    t0 = max(run["t_start"], t1 - window_ms)
    if zoom_ms is None:
        f = m["f_peak_hz"] if np.isfinite(m["f_peak_hz"]) else 100.0
        zoom_ms = float(np.clip(round(5000.0 / f), 10.0, max(10.0, window_ms / 4)))
    if zoom_ms > 0:
        fig, axs = plt.subplots(2, 2, figsize=(12, 6), sharey="row", gridspec_kw={
            "height_ratios": [3, 2], "width_ratios": [3, 1], "hspace": 0.08, "wspace": 0.07})
        panels = [(axs[0, 0], axs[1, 0], t0, t1), (axs[0, 1], axs[1, 1], max(t0, t1 - zoom_ms), t1)]
    else:
        fig, axs = plt.subplots(2, 1, figsize=(9, 6), gridspec_kw={"height_ratios": [3, 2],
                                                                     "hspace": 0.08})
        panels = [(axs[0], axs[1], t0, t1)]
    for i, (ax_r, ax_a, a, b) in enumerate(panels):
        _raster(ax_r, run, a, b, n_show)
        _activity(ax_a, run, a, b, plot_bin_ms, m["rate_hz"])
        ax_r.set_xlim(a, b)
        ax_a.set_xlim(a, b)
        ax_r.tick_params(labelbottom=False)
        ax_a.set_xlabel("time (ms)")
        if i == 0:
            ax_r.set_yticks([n_show / 2, 1.5 * n_show])
            ax_r.set_yticklabels([f"E\n({n_show})", f"I\n({n_show})"])
            for lab, c in zip(ax_r.get_yticklabels(), (COLORS["E"], COLORS["I"])):
                lab.set_color(c)
            ax_r.set_ylabel("neuron")
            ax_a.set_ylabel(f"population rate\n(spikes/s per neuron,\n{plot_bin_ms:g} ms bins)")
            ax_a.legend(loc="upper left", fontsize=8, frameon=True, framealpha=0.8)
            if len(panels) > 1:
                for ax in (ax_r, ax_a):
                    ax.axvspan(panels[1][2], b, color="C1", alpha=0.12, lw=0)
        else:
            ax_r.set_title(f"zoom: last {b - a:g} ms", fontsize=9)
            ax_a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3, prune="lower"))
    fig.suptitle(_title(run) + "\n" + (
        f"N = {run['n_E']} E + {run['n_I']} I neurons (raster: first {n_show} of each); "
        f"rate {m['rate_hz']:.1f} spikes/s, ISI CV {m['cv_isi']:.3g}, "
        f"synchrony \u03c7 {m['chi']:.2f}, spectral peak {m['f_peak_hz']:.0f} Hz"),
        fontsize=10, y=0.99)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _raster(ax, run, t0, t1, n_show):
    ids, times = run["ids"], run["times"]
    in_w = in_window(times, t0, t1, run.get("dt_ms"))
    for pop, lo, row0 in (("E", 0, 0), ("I", run["n_E"], n_show)):
        sel = in_w & (ids >= lo) & (ids < lo + n_show)
        ax.scatter(times[sel], ids[sel] - lo + row0, s=2.0, marker="|", linewidths=0.7,
                   color=COLORS[pop], rasterized=True)
    ax.axhline(n_show - 0.5, color="0.6", lw=0.5)
    ax.set_ylim(-1, 2 * n_show)


def _activity(ax, run, t0, t1, bin_ms, mean_hz):
    act = population_activity(run["times"], run["n_E"] + run["n_I"], t0, t1, bin_ms,
                              run.get("dt_ms"))
    edges = t0 + bin_ms * np.arange(act.size + 1)
    ax.stairs(act, edges, fill=True, color="0.25", lw=0)
    ax.axhline(mean_hz, color="C1", lw=0.9, ls="--", label=f"mean {mean_hz:.3g} spikes/s")
    ax.set_ylim(0, None)


def plot_summary(runs: list[dict], measures: dict, spectra: dict, path: str, n_vm: int) -> str:
    """Write the summary figure (phase-plane points, spectra, measure bars) to ``path``; returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in runs]
    cols = [REGIME_COLORS.get(nm, "0.4") for nm in names]
    fig, axs = plt.subplots(2, 3, figsize=(14, 8))
    fig.subplots_adjust(hspace=0.38, wspace=0.32)
    ax = axs[0, 0]
    for r, c in zip(runs, cols):
        ax.plot(r["g"], r["eta"], "o", color=c, ms=9)
        ax.annotate(r["name"], (r["g"], r["eta"]), xytext=(6, 4), textcoords="offset points")
    ax.set_xlim(0, 8)
    ax.set_ylim(0, 4.5)
    ax.axvline(4, color="0.7", lw=0.8, ls=":")
    ax.text(4.05, 0.15, "g = 4: balance", color="0.5", fontsize=8)
    ax.set_xlabel("relative inhibition g")
    ax.set_ylabel("external drive \u03b7 = \u03bd_ext/\u03bd_thr")
    ax.set_title("simulated points (Brunel 2000, Fig. 8)")
    ax = axs[0, 1]
    for nm, c in zip(names, cols):
        f, p = spectra[nm]
        ok = (f >= F_MIN_HZ) & (f <= F_MAX_HZ)
        ax.loglog(f[ok], p[ok], color=c, label=nm)
        fp = measures[nm]["f_peak_hz"]
        if np.isfinite(fp):
            ax.plot(fp, p[np.argmin(np.abs(f - fp))], "v", color=c, ms=6)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD of population rate\n((spikes/s)\u00b2/Hz)")
    ax.set_title("power spectra of the population rate")
    ax.legend(fontsize=8, frameon=False)
    bars = [
        (axs[0, 2], "rate_hz", "mean rate (spikes/s)", "mean firing rate", True, None),
        (axs[1, 0], "cv_isi", "mean ISI CV", "irregularity (dashed: Poisson)", False, 1.0),
        (axs[1, 1], "chi", f"Golomb \u03c7 of V_m ({n_vm} E + {n_vm} I neurons)",
         "synchrony \u03c7 (dashed: independent neurons)", False,
         1 / np.sqrt(2 * n_vm) if n_vm else None),
        (axs[1, 2], "f_peak_hz", "spectral peak (Hz)", "dominant frequency", False, None),
    ]
    x = np.arange(len(names))
    for ax, key, ylab, title, logy, ref in bars:
        vals = [measures[nm][key] for nm in names]
        ax.bar(x, vals, color=cols)
        ax.set_xticks(x)
        ax.set_xticklabels(names)
        ax.set_ylabel(ylab)
        ax.set_title(title)
        if logy:
            ax.set_yscale("log")
        if ref is not None:
            ax.axhline(ref, color="0.3", lw=0.8, ls="--")
        for xi, v in zip(x, vals):
            ax.annotate(f"{v:.3g}", (xi, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=8)
        if key == "f_peak_hz":
            ax.set_ylim(0, 1.25 * np.nanmax(vals))
            for xi, nm in zip(x, names):
                ax.annotate(f"osc. power\nfraction {measures[nm]['osc_power_frac']:.2f}",
                            (xi, vals[xi]), xytext=(0, 13), textcoords="offset points",
                            ha="center", fontsize=7, color="0.3")
    r0 = runs[0]
    fig.suptitle(f"Brunel network, N = {r0['n_E']} E + {r0['n_I']} I, V_reset = {V_RESET_MV:g} mV, "
                 f"recorded ({r0['t_start']:g}, {r0['t_stop']:g}] ms", fontsize=12)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- main
def format_table(measures: dict, runs: list[dict]) -> str:
    """Return the measures as a fixed-width text table (one row per regime)."""
    head = (f"{'regime':8s} {'g':>4s} {'eta':>4s} {'rate':>8s} {'ISI CV':>7s} {'chi':>6s} "
            f"{'chi_spk':>7s} {'f_peak':>7s} {'osc':>5s} {'wall':>6s}\n"
            f"{'':8s} {'':>4s} {'':>4s} {'(sp/s)':>8s} {'':>7s} {'(V_m)':>6s} "
            f"{'(1 ms)':>7s} {'(Hz)':>7s} {'frac':>5s} {'(s)':>6s}")
    rows = [head]
    for r in runs:
        m = measures[r["name"]]
        rows.append(f"{r['name']:8s} {r['g']:4g} {r['eta']:4g} {m['rate_hz']:8.2f} "
                    f"{m['cv_isi']:7.3f} {m['chi']:6.3f} {m['chi_spikes_1ms']:7.3f} "
                    f"{m['f_peak_hz']:7.1f} {m['osc_power_frac']:5.2f} {r['wall_s']:6.1f}")
    return "\n".join(rows)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of this script."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--order", type=int, default=2500, help="NI; NE = 4*order (default 2500 = Brunel's)")
    p.add_argument("--t-sim", type=float, default=1000.0, help="recorded time (ms)")
    p.add_argument("--warmup", type=float, default=200.0, help="discarded warm-up (ms)")
    p.add_argument("--out", default=os.path.join("out", "brunel_regimes"), help="output folder")
    p.add_argument("--ranks", type=int, default=1,
                   help="1: in this process (serial); R > 1: mpirun -n R distsim run per regime")
    p.add_argument("--epsilon", type=float, default=0.1,
                   help="connection probability (Brunel: 0.1); e.g. --order 1000 --epsilon 0.25 keeps "
                        "Brunel's in-degrees CE = 1000, CI = 250 in a smaller network")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n-vm", type=int, default=200,
                   help="V_m recorded from this many E and as many I neurons (for chi)")
    p.add_argument("--window", type=float, default=200.0, help="time shown in the rasters (ms)")
    p.add_argument("--zoom", type=float, default=None,
                   help="also show the last ZOOM ms of the raster window enlarged (0 = off; "
                        "default: five periods of the spectral peak, 10-50 ms)")
    p.add_argument("--plot-bin", type=float, default=0.1,
                   help="bin of the population rate in the raster figures (ms)")
    p.add_argument("--regimes", nargs="+", default=list(REGIME_ORDER), choices=list(REGIME_ORDER))
    return p


def main(argv=None) -> int:
    """Run the regimes, write figures and summary.json, print the table. Returns the exit code."""
    args = build_parser().parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    runs, measures, spectra, figs = [], {}, {}, {}
    t_all = time.perf_counter()
    for name in [r for r in REGIME_ORDER if r in args.regimes]:
        g, eta = REGIMES[name]
        print(f"[brunel_regimes] {name}: g = {g:g}, eta = {eta:g}, order {args.order}, "
              f"{args.warmup:g} + {args.t_sim:g} ms, {args.ranks} rank(s) ...", file=sys.stderr,
              flush=True)
        run = simulate(name, args.order, args.t_sim, args.warmup, args.seed, args.n_vm, args.ranks,
                       epsilon=args.epsilon)
        m = measures[name] = measure(run)
        spectra[name] = activity_spectrum(population_activity(
            run["times"], run["n_E"] + run["n_I"], run["t_start"], run["t_stop"], SPECTRUM_BIN_MS,
            run.get("dt_ms")))
        figs[name] = plot_regime(run, m, os.path.join(args.out, f"{name}.png"), args.window,
                                 plot_bin_ms=args.plot_bin, zoom_ms=args.zoom)
        for k in ("ids", "times", "v_m"):  # keep the summary, free the spikes
            run[k] = None
        runs.append(run)
        print(f"[brunel_regimes] {name} done in {run['wall_s']:.1f} s", file=sys.stderr, flush=True)
    figs["summary"] = plot_summary(runs, measures, spectra, os.path.join(args.out, "summary.png"),
                                   args.n_vm)
    table = format_table(measures, runs)
    print(table)
    summary = {
        "parameters": {"order": args.order, "NE": runs[0]["n_E"], "NI": runs[0]["n_I"],
                       "epsilon": args.epsilon, "CE": int(args.epsilon * runs[0]["n_E"]),
                       "CI": int(args.epsilon * runs[0]["n_I"]),
                       "J_mV": 0.1, "delay_ms": 1.5, "V_reset_mV": V_RESET_MV, "V_th_mV": 20.0,
                       "tau_m_ms": 20.0, "t_ref_ms": 2.0, "dt_ms": 0.1, "seed": args.seed,
                       "warmup_ms": args.warmup, "t_sim_ms": args.t_sim, "ranks": args.ranks,
                       "n_vm_per_population": args.n_vm},
        "measures_doc": {
            "rate_hz": "mean firing rate of all neurons (spikes/s)",
            "cv_isi": "mean ISI CV over neurons with >= 4 spikes",
            "chi": "Golomb chi on V_m of n_vm E + n_vm I neurons (0..1; ~1/sqrt(2 n_vm) if independent)",
            "chi_spikes_1ms": "Golomb chi on 1 ms spike counts of all neurons",
            "f_peak_hz": f"largest peak in [{F_MIN_HZ:g}, {F_MAX_HZ:g}] Hz of the Welch spectrum of "
                         f"the population rate ({SPECTRUM_BIN_MS:g} ms bins, {NPERSEG_MS:g} ms "
                         "segments)",
            "osc_power_frac": f"fraction of the power in [{F_MIN_HZ:g}, {F_MAX_HZ:g}] Hz within "
                              f"+-{PEAK_HALF_WIDTH_HZ:g} Hz of f_peak",
        },
        "regimes": {r["name"]: {"g": r["g"], "eta": r["eta"], "description": DESCRIPTION[r["name"]],
                                "wall_s": r["wall_s"], **measures[r["name"]]} for r in runs},
        "figures": figs,
        "total_wall_s": time.perf_counter() - t_all,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(_jsonable(summary), f, indent=2)
    print(f"[brunel_regimes] figures and summary.json in {args.out} "
          f"({summary['total_wall_s']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
