"""Command line: ``analyze OUT.h5 [--t-start MS] [--t-stop MS] [--json] [--fig-dir DIR] [--no-figures]``.

Prints a table (population, N, rate in spikes/s, reference rate, mean ISI CV,
mean count CC) or, with ``--json``, the JSON summary of
:meth:`analysis.spikes.AnalysisResult.to_dict` (``rates`` maps population ->
spikes/s).  Figures go to ``--fig-dir`` (default: ``<OUT>_figures`` next to
the input file) unless ``--no-figures``.

To hook into another CLI::

    sub = subparsers.add_parser("analyze", help=...)
    analysis.cli.add_arguments(sub)
    ...
    return analysis.cli.run(args)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Sequence

from analysis import stats
from analysis.spikes import DEFAULT_BLOCK_SPIKES, AnalysisResult, analyze_file

__all__ = ["add_arguments", "build_parser", "format_table", "main", "run"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``analyze`` options to parser ``p``; return ``p``."""
    p.add_argument("file", metavar="OUT.h5", help="distsim output file (HDF5, SONATA spikes)")
    p.add_argument("--t-start", type=float, default=None, metavar="MS",
                   help="start of the analysis window in ms, exclusive: spikes stamped in "
                        "(t-start, t-stop] are the spikes of the steps in [t-start, t-stop) "
                        "(default: /meta t_presim_ms, i.e. the warm-up is discarded)")
    p.add_argument("--t-stop", type=float, default=None, metavar="MS",
                   help="end of the analysis window in ms, inclusive (default: /meta t_sim_ms)")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of a table")
    p.add_argument("--fig-dir", default=None, metavar="DIR",
                   help="directory for PNG figures (default: <OUT>_figures next to the file)")
    p.add_argument("--no-figures", action="store_true", help="do not write figures")
    p.add_argument("--n-sample", type=int, default=stats.DEFAULT_N_SAMPLE, metavar="N",
                   help="neurons sampled per population for count correlations "
                        f"(default {stats.DEFAULT_N_SAMPLE}; 0 = all neurons); the ISI CV "
                        "always uses every neuron")
    p.add_argument("--cc-bin-ms", type=float, default=stats.DEFAULT_CC_BIN_MS, metavar="MS",
                   help=f"bin width for spike-count correlations (default "
                        f"{stats.DEFAULT_CC_BIN_MS:g} ms)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the neuron samples")
    p.add_argument("--block-spikes", type=int, default=DEFAULT_BLOCK_SPIKES, metavar="N",
                   help=f"spikes per read block (default {DEFAULT_BLOCK_SPIKES})")
    return p


def build_parser(prog: str = "analyze") -> argparse.ArgumentParser:
    """Return a stand-alone argument parser for the ``analyze`` command."""
    return add_arguments(argparse.ArgumentParser(
        prog=prog, description="Rates, ISI CV, count correlations and spectra of a distsim "
                               "spike file, read in bounded memory."))


def _fmt(x, width: int, prec: int) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-".rjust(width)
    return f"{x:{width}.{prec}f}"


def format_table(summary: dict) -> str:
    """Return the human-readable table (str) for a summary from ``AnalysisResult.to_dict()``."""
    head = (f"{'population':<11} {'N':>7} {'rate':>9} {'reference':>9} {'CV':>6} {'n_CV':>5} "
            f"{'CC':>8} {'n_CC':>6}")
    units = (f"{'':<11} {'':>7} {'(sp/s)':>9} {'(sp/s)':>9} {'mean':>6} {'':>5} "
             f"{'mean':>8} {'pairs':>6}")
    lines = [f"{summary['file']}: window ({summary['t_start_ms']:g}, {summary['t_stop_ms']:g}] ms",
             head, units, "-" * len(head)]
    for name, p in summary["populations"].items():
        lines.append(f"{name:<11} {p['size']:>7d} {_fmt(p['rate'], 9, 3)} "
                     f"{_fmt(p['reference_rate'], 9, 3)} {_fmt(p['cv']['mean'], 6, 3)} "
                     f"{p['cv']['n']:>5d} {_fmt(p['cc']['mean'], 8, 4)} {p['cc']['n']:>6d}")
    lines.append("-" * len(head))
    lines.append(f"{'all':<11} {summary['n_neurons']:>7d} {_fmt(summary['mean_rate'], 9, 3)}")
    prm = summary["params"]
    ns = prm["n_sample"] or "all"
    lines.append(f"CV: ISI CV over all neurons of each population with >= {prm['cv_min_spikes']} "
                 "spikes in the window (n_CV of them).")
    lines.append(f"CC: spike-count correlation, {prm['cc_bin_ms']:g} ms bins, all pairs of the "
                 f"non-silent neurons among up to {ns} randomly sampled per population "
                 "(n_CC pairs).")
    lines.append("Window: spikes stamped in (start, stop], i.e. emitted in the steps of "
                 "[start, stop).")
    for name, w in summary.get("weights", {}).items():
        lines.append(f"weights {name} ({w['synapse_model']}, n = {w['n']}): mean {w['mean']:.6g}, "
                     f"sd {w['sd']:.6g}, range [{w['min']:.6g}, {w['max']:.6g}] {w['units']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the analysis for parsed ``args``; print table or JSON; return the exit code (0 = ok)."""
    try:
        res: AnalysisResult = analyze_file(
            args.file, args.t_start, args.t_stop, n_sample=args.n_sample or None,
            cc_bin_ms=args.cc_bin_ms, seed=args.seed, block_spikes=args.block_spikes)
    except (OSError, ValueError, KeyError) as e:
        print(f"analyze: error: {e}", file=sys.stderr)
        return 1
    summary = res.to_dict()
    from analysis.weights import weight_stats
    weights = weight_stats(args.file)  # plastic projections' final weights (/edges)
    if weights:
        summary["weights"] = {k: {f: v[f] for f in ("n", "mean", "sd", "min", "max", "units", "synapse_model")}
                              for k, v in weights.items()}
    if res.meta.get("complete", 1) == 0:  # distsim writes 1 only when the run reached its end
        print(f"analyze: warning: {args.file} is incomplete: its run was stopped or killed, or is "
              f"still running; it holds spikes up to t = {res.meta.get('t_flushed_ms', '?')} ms "
              "(resume it with distsim run --resume)", file=sys.stderr)
    if not args.no_figures:
        fig_dir = args.fig_dir or os.path.splitext(os.path.abspath(args.file))[0] + "_figures"
        summary["figures"] = _plot(res, fig_dir)
        if weights:
            from analysis.weights import plot_weights
            summary["figures"]["weights"] = plot_weights(weights, os.path.join(fig_dir, "weights.png"))
    if args.json:
        print(json.dumps(summary, indent=1, allow_nan=False))
    else:
        print(format_table(summary))
        if "figures" in summary:
            print(f"figures: {os.path.dirname(next(iter(summary['figures'].values())))}/"
                  f"{{{','.join(os.path.basename(v) for v in summary['figures'].values())}}}")
    return 0


def _plot(res: AnalysisResult, fig_dir: str) -> dict[str, str]:
    from analysis.figures import plot_all  # matplotlib only when needed

    return plot_all(res, fig_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (without the program name; default ``sys.argv[1:]``) and run; return exit code."""
    return run(build_parser().parse_args(argv))
