"""``distsim meanfield MODEL_OR_FILE [--set KEY=VALUE ...] [--json]``: predicted rates.

Loads the network exactly as ``distsim run`` does (:func:`distsim.cli.load_model`), converts
it with :func:`distsim.meanfield.network.params_from_network` and solves the self-consistent
stationary rates (Siegert, with synaptic filtering for ``iaf_psc_exp``). No simulation.
Prints a table population -> rate (spikes/s), or with ``--json``::

    {"model": ..., "rates": {pop: spikes/s}, "mu_mV": {...}, "sigma_mV": {...},
     "reference_rates": {...}, "silent_populations": [...]}

mu is the mean input relative to E_L (mV), sigma its standard deviation (mV); silent
populations (no stationary input) are reported with 0 spikes/s. Exit codes: 0 ok, 2 invalid
input (message names the field), 1 when the solver finds no solution.
"""
import argparse
import json
import sys


def build_parser():
    """The argparse parser of ``distsim meanfield``."""
    p = argparse.ArgumentParser(prog="distsim meanfield",
                                description="Mean-field prediction of the stationary population rates")
    p.add_argument("model", help="built-in model (brunel, microcircuit; 'distsim models' lists them) "
                                 "or parameter file (.toml)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a model parameter (as for 'distsim run')")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def predict(net):
    """Mean-field prediction for a Network: dict with rates (spikes/s), mu_mV, sigma_mV (mV)."""
    from . import working_point
    from .network import params_from_network

    params = params_from_network(net)
    wp = working_point(params)
    pops = [p.name for p in net.populations]
    act = params["populations"]
    rates = dict(zip(act, (float(x) for x in wp["rates"])))
    mu = dict(zip(act, (float(x) for x in wp["mu"])))
    sigma = dict(zip(act, (float(x) for x in wp["sigma"])))
    return {
        "model": net.name,
        "rates": {p: rates.get(p, 0.0) for p in pops},
        "mu_mV": {p: mu[p] for p in pops if p in mu},
        "sigma_mV": {p: sigma[p] for p in pops if p in sigma},
        "reference_rates": dict(net.reference_rates or {}),
        "silent_populations": list(params["silent_populations"]),
    }


def _table(res, net):
    """Plain-text table of a :func:`predict` result."""
    ref = res["reference_rates"]
    head = f"{'population':<12}{'N':>9}{'rate (spikes/s)':>17}{'mu (mV)':>10}{'sigma (mV)':>12}"
    if ref:
        head += f"{'reference':>11}"
    lines = [f"mean-field prediction for {res['model']}", head]
    for p in net.populations:
        mu, sg = res["mu_mV"].get(p.name), res["sigma_mV"].get(p.name)
        row = (f"{p.name:<12}{p.n:>9}{res['rates'][p.name]:>17.4f}"
               f"{'-' if mu is None else f'{mu:.3f}':>10}{'-' if sg is None else f'{sg:.3f}':>12}")
        if ref:
            r = ref.get(p.name)
            row += f"{'-' if r is None else f'{r:.3f}':>11}"
        lines.append(row)
    if res["silent_populations"]:
        lines.append(f"silent (no stationary input): {', '.join(res['silent_populations'])}")
    return "\n".join(lines)


def main(argv=None):
    """Run ``distsim meanfield``; returns the exit code (0 ok, 1 no solution, 2 bad input)."""
    from ..cli import load_model
    from ..spec import SpecError
    from ..spec.overrides import parse_sets

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse: usage errors (2) and --help (0)
        return int(e.code or 0)
    try:
        net = load_model(args.model, parse_sets(args.set))
        res = predict(net)
    except SpecError as e:
        print(f"distsim meanfield: error: {e}", file=sys.stderr, flush=True)
        return 2
    except RuntimeError as e:
        print(f"distsim meanfield: no self-consistent solution: {e}", file=sys.stderr, flush=True)
        return 1
    if args.json:
        print(json.dumps(res))
    else:
        print(_table(res, net))
    return 0
