"""Seed 001's two-population GIF network, mesoscopic (gif_pop_psc_exp) and microscopic
(gif_psc_exp), in distsim and optionally NEST 3.10, over several trials.

    python scripts/gif_population.py --trials 10 [--nest] [--adaptation 1.0] [--out DIR]

Forms (distsim.networks.gif_populations): ``meso`` (one population node per population),
``micro`` (the seed's sparse network, fixed in-degree 0.2 N) and ``micro_dense`` (all-to-all,
weights x 0.2: the network the mesoscopic equations describe, with no quenched randomness).
For every (simulator, form) it records the population activities A_N(t) (1 ms bins,
spikes/s) of E and I, and reports, averaged over trials: the mean activity over [500, 1500)
ms and [1600, 2000) ms (before and after the input step at 1500 ms) and the variance of the
1 ms-binned activity in those windows. Checks: meso against micro_dense and against micro
(means within 5%, variances within 20%) and, with --nest, each distsim form against NEST's
(means within 5%). ``--adaptation`` scales the seed's adaptation strengths J_sfa.
Writes ``gif_population.png`` (one trial's activities, meso and micro, and the trial
averages of every run), ``gif_population.json`` and ``gif_population.md`` to --out.
Exit code 1 when a check fails.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the runners live with the tests that use them

from analysis.measures import trial_window_stats  # noqa: E402
from nest_builders import (GIF_BIN_MS as BIN, GIF_FORMS as FORMS, GIF_T_END_MS as T_END,  # noqa: E402
                           GIF_WINDOWS as WINDOWS, run_gif_distsim as run_distsim, run_gif_nest as run_nest)


def window_stats(acts):
    """Per pop and window: trial-mean activity (spikes/s), its standard error, and the mean
    over trials of the variance of the 1 ms-binned activity ((spikes/s)^2)."""
    return trial_window_stats(acts, WINDOWS, 0.0, BIN)


def compare(a, b, key, tol):
    """Relative difference a/b - 1 per entry and whether it is within tol."""
    rows = {}
    for k in a:
        d = a[k][key] / b[k][key] - 1.0
        rows[k] = {"distsim": a[k][key], "ref": b[k][key], "rel_diff": float(d), "ok": bool(abs(d) <= tol)}
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10, help="trials per simulator and form (default 10)")
    ap.add_argument("--seed", type=int, default=1, help="first seed; trial k uses seed + k")
    ap.add_argument("--nest", action="store_true", help="also run NEST 3.10 (side by side)")
    ap.add_argument("--adaptation", type=float, default=1.0,
                    help="factor on the seed's adaptation strengths J_sfa (default 1)")
    ap.add_argument("--out", default="scripts/results/gif", help="output directory")
    args = ap.parse_args(argv)
    if args.trials < 2:
        ap.error("--trials must be >= 2 (a standard error needs two trials)")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.makedirs(args.out, exist_ok=True)
    runs = {}
    sims = [("distsim", run_distsim)] + ([("nest", run_nest)] if args.nest else [])
    walls = {}
    extras = {}
    for form in FORMS:
        for name, fn in sims:
            acts, ws = [], []
            for k in range(args.trials):
                a, w, ex = fn(form, args.seed + k, args.adaptation)
                acts.append(a)
                ws.append(w)
                if k == 0 and name == "distsim":
                    extras[form] = ex
            runs[(name, form)] = acts
            walls[f"{name}/{form}"] = float(np.median(ws))
            print(f"[gif] {name:7s} {form:5s}: {args.trials} trials, median {np.median(ws):.2f} s each",
                  flush=True)
    stats = {f"{n}/{f}": window_stats(a) for (n, f), a in runs.items()}
    checks = {}
    for ref in ("micro_dense", "micro"):
        checks[f"meso_vs_{ref}_mean"] = compare(stats["distsim/meso"], stats[f"distsim/{ref}"], "mean", 0.05)
        checks[f"meso_vs_{ref}_var"] = compare(stats["distsim/meso"], stats[f"distsim/{ref}"], "var", 0.20)
    if args.nest:
        for ref in ("micro_dense", "micro"):  # NEST's own meso-micro gap, for comparison
            checks[f"nest_meso_vs_nest_{ref}_mean"] = compare(stats["nest/meso"], stats[f"nest/{ref}"], "mean", 0.05)
        for form in FORMS:
            checks[f"{form}_vs_nest_mean"] = compare(stats[f"distsim/{form}"], stats[f"nest/{form}"], "mean", 0.05)
    ok = all(r["ok"] for c in checks.values() for r in c.values())
    result = {"trials": args.trials, "seed": args.seed, "adaptation": args.adaptation,
              "stats": stats, "checks": checks,
              "median_wall_s": walls, "all_ok": ok}
    with open(os.path.join(args.out, "gif_population.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"# GIF populations (seed 001): mesoscopic vs microscopic, {args.trials} trials, "
             f"adaptation x {args.adaptation:g}", "",
             "Mean activity and variance of the 1 ms-binned activity per window, averaged over "
             "trials (spikes/s; variance in (spikes/s)^2; +- standard error over trials).", "",
             "| run | " + " | ".join(f"{k} mean | {k} var" for k in stats["distsim/meso"]) + " |",
             "|---|" + "---|---|" * len(stats["distsim/meso"])]
    for run, st in stats.items():
        lines.append(f"| {run} | " + " | ".join(f"{v['mean']:.3f} +- {v['sem']:.3f} | {v['var']:.1f}"
                                               for v in st.values()) + " |")
    lines += ["", "| check | entry | value | reference | rel. diff | ok |", "|---|---|---|---|---|---|"]
    for c, rows in checks.items():
        for k, r in rows.items():
            lines.append(f"| {c} | {k} | {r['distsim']:.3f} | {r['ref']:.3f} | {100 * r['rel_diff']:+.1f}% | "
                         f"{'yes' if r['ok'] else 'NO'} |")
    lines += ["", "Median wall time per trial (s): " + ", ".join(f"{k} {v:.2f}" for k, v in walls.items()),
              "", f"All checks pass: {'yes' if ok else 'NO'}"]
    with open(os.path.join(args.out, "gif_population.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(runs, extras, os.path.join(args.out, "gif_population.png"))
    return 0 if ok else 1


def plot(runs, extras, path):
    """The seed's figures in one: one trial's activity A_N with the expected activity Abar
    (meso) and A_N (micro), the trial averages of every run, and V_m of 5 micro neurons."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(0.0, T_END, BIN)
    fig, axes = plt.subplots(4, 2, figsize=(12, 12), sharex=True)
    for col, p in enumerate(("E", "I")):
        for row, form in enumerate(("meso", "micro")):
            ax = axes[row, col]
            ax.plot(t, runs[("distsim", form)][0][p], lw=0.5, color="C0" if form == "meso" else "C1",
                    label="A_N (spikes)")
            if form == "meso" and "Abar" in extras.get("meso", {}):
                ab = extras["meso"]["Abar"][p]
                ax.plot(np.arange(1, ab.size + 1) * BIN, ab, lw=0.8, color="k", label="Abar (expected)")
                ax.legend(fontsize=7, loc="upper left")
            ax.set_title(f"{p}: one trial, {form}scopic (distsim)")
            ax.set_ylabel("A (spikes/s)")
        ax = axes[2, col]
        for (name, form), acts in runs.items():
            mean = np.mean([a[p] for a in acts], axis=0)
            k = 10  # 10 ms moving average of the trial mean
            ax.plot(t, np.convolve(mean, np.ones(k) / k, mode="same"), lw=1,
                    ls="-" if name == "distsim" else "--", label=f"{name} {form}")
        ax.set_title(f"{p}: trial average ({len(acts)} trials), 10 ms smoothing")
        ax.set_ylabel("A (spikes/s)")
        ax.legend(fontsize=7)
    vm = extras.get("micro", {}).get("V_m")
    ax = axes[3, 0]
    if vm is not None and vm.size:
        for k in range(vm.shape[1]):
            ax.plot(np.arange(1, vm.shape[0] + 1) * BIN, vm[:, k] - 20.0 * k, lw=0.5)
    ax.set_title("V_m of 5 E neurons, microscopic (offset by 20 mV each)")
    ax.set_ylabel("V_m (mV)")
    ax.set_xlabel("time (ms)")
    axes[3, 1].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
