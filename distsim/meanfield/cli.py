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

At the working point the output also has (populations of the mean-field system only; see
:func:`tools`): ``cv`` (ISI CV), ``spectral_bound`` and ``static_coupling_eigenvalues`` (of
the static coupling W0), ``pairwise_covariances`` (spikes/s), ``eigenmodes`` (per eigenvalue
trajectory of W(f), 1-400 Hz: critical frequency, eigenvalue and the sensitivity measure's
amplitude and frequency parts), ``rate_model`` (low-pass fit of the transfer function), and
``lambertw_stability`` where the network has one constant delay and one fitted time constant
(e.g. Brunel); with ``--target-input MU,SIGMA`` (mV) ``external_rates``: the rates of the
network's Poisson generators that set that working point.
"""
import argparse
import json
import sys

import numpy as np


def build_parser():
    """The argparse parser of ``distsim meanfield``."""
    p = argparse.ArgumentParser(prog="distsim meanfield",
                                description="Mean-field prediction of the stationary population rates")
    p.add_argument("model", help="built-in model (brunel, microcircuit; 'distsim models' lists them) "
                                 "or parameter file (.toml)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a model parameter (as for 'distsim run')")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--target-input", metavar="MU,SIGMA",
                   help="also report the Poisson generator rates (spikes/s) that set mean input MU "
                        "and standard deviation SIGMA (mV) in every population")
    return p


#: frequencies (Hz) of the eigenmode / sensitivity analysis and of the rate-model fit
EIGENMODE_FREQS_HZ = (1.0, 400.0, 1.0)
FIT_FREQS_HZ = (1.0, 1000.0, 200)


def _c(z):
    """[re, im] of a complex number (JSON)."""
    return [float(np.real(z)), float(np.imag(z))]


def _json_safe(x):
    """``x`` with every non-finite float replaced by None (valid JSON; e.g. the CV of a
    population that does not fire)."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def tools(net, params, wp, target_input=None):
    """Further mean-field results of ``net`` at the working point ``wp`` (JSON-ready dict).

    params: ``params_from_network(net)``; wp: ``working_point(params)``; target_input:
    (mu, sigma) in mV or None. Units: spikes/s, Hz, ms, dimensionless couplings.
    """
    from . import (cvs, fit_transfer_function, linear_stability, pairwise_covariances,
                   sensitivity_measure, static_effective_connectivity)
    from .network import delay_truncation

    pops = list(params["populations"])
    nu = wp["rates"]
    W0 = static_effective_connectivity(params, nu)
    ev0 = np.linalg.eigvals(W0)
    out = {
        "cv": dict(zip(pops, map(float, cvs(params, nu)))),
        "spectral_bound": float(np.max(ev0.real)),
        "static_coupling_eigenvalues": [_c(z) for z in ev0],
        "pairwise_covariances": {"populations": pops, "matrix": pairwise_covariances(params, nu).tolist(),
                                 "unit": "spikes/s"},
    }
    f0, f1, df = EIGENMODE_FREQS_HZ
    freqs = np.arange(f0, f1 + df / 2, df)
    modes = sensitivity_measure(params, freqs, nu=nu, delay_min=delay_truncation(net))
    out["eigenmodes"] = sorted(({
        "critical_frequency_hz": d["critical_frequency"],
        "eigenvalue": _c(d["critical_eigenvalue"]),
        "distance_to_1": float(abs(1.0 - d["critical_eigenvalue"])),
        "sensitivity_amp": d["sensitivity_amp"].tolist(),
        "sensitivity_freq": d["sensitivity_freq"].tolist()} for d in modes.values()),
        key=lambda m: m["distance_to_1"])
    try:
        fit = fit_transfer_function(params, np.geomspace(*FIT_FREQS_HZ), nu)
        out["rate_model"] = {"tau_ms": dict(zip(pops, map(float, fit["tau_ms"]))),
                             "h0": dict(zip(pops, map(float, fit["h0"]))),
                             "fit_error": dict(zip(pops, map(float, fit["fit_error"])))}
    except ValueError as e:  # a population that does not fire has no rate model
        out["rate_model"] = {"not_applicable": str(e)}
    try:
        ls = linear_stability(params, np.geomspace(*FIT_FREQS_HZ), nu)
        out["lambertw_stability"] = {
            "tau_ms": ls["tau_ms"], "delay_ms": ls["delay_ms"], "branches": [int(b) for b in ls["branches"]],
            "max_real_per_ms": ls["max_real_per_ms"], "unstable": ls["unstable"],
            "oscillation_hz": ls["oscillation_hz"]}
    except ValueError as e:  # several delays or time constants: not a Lambert-W problem
        out["lambertw_stability"] = {"not_applicable": str(e)}
    if target_input is not None:
        from .statistics import external_rates_for_fixed_input

        r = external_rates_for_fixed_input(net, *target_input)
        out["external_rates"] = {"mu_mV": target_input[0], "sigma_mV": target_input[1],
                                 "devices": r["devices"], "rates_Hz": [float(x) for x in r["rates_Hz"]],
                                 "target_rates": r["target_rates"], "achieved_mu_mV": r["achieved_mu_mV"],
                                 "achieved_sigma_mV": r["achieved_sigma_mV"]}
    return _json_safe(out)


def predict(net, extended=False, target_input=None):
    """Mean-field prediction for a Network: dict with rates (spikes/s), mu_mV, sigma_mV (mV).

    ``extended``: also the results of :func:`tools` (target_input: (mu, sigma) mV or None).
    """
    from . import working_point
    from .network import params_from_network

    params = params_from_network(net)
    wp = working_point(params)
    pops = [p.name for p in net.populations]
    act = params["populations"]
    rates = dict(zip(act, (float(x) for x in wp["rates"])))
    mu = dict(zip(act, (float(x) for x in wp["mu"])))
    sigma = dict(zip(act, (float(x) for x in wp["sigma"])))
    res = {
        "model": net.name,
        "rates": {p: rates.get(p, 0.0) for p in pops},
        "mu_mV": {p: mu[p] for p in pops if p in mu},
        "sigma_mV": {p: sigma[p] for p in pops if p in sigma},
        "reference_rates": dict(net.reference_rates or {}),
        "silent_populations": list(params["silent_populations"]),
    }
    if extended:
        res.update(tools(net, params, wp, target_input))
    return res


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
    if "cv" in res:
        lines.append("ISI CV: " + ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in res["cv"].items()))
        lines.append(f"spectral bound of the static coupling: {res['spectral_bound']:.4f} (stable below 1)")
        m = res["eigenmodes"][0]
        lines.append(f"eigenmode closest to instability: {m['critical_frequency_hz']:g} Hz, "
                     f"|1 - lambda| = {m['distance_to_1']:.3f}")
        ls = res["lambertw_stability"]
        if "unstable" in ls:
            lines.append(f"rate model with one delay: {'UNSTABLE' if ls['unstable'] else 'stable'}, "
                         f"max Re lambda = {ls['max_real_per_ms']:.4f}/ms, {ls['oscillation_hz']:.1f} Hz")
    if "external_rates" in res:
        e = res["external_rates"]
        lines.append(f"Poisson generator rates for mu = {e['mu_mV']:g} mV, sigma = {e['sigma_mV']:g} mV: "
                     + ", ".join(f"device {d}: {r:.4f} spikes/s" for d, r in zip(e["devices"], e["rates_Hz"])))
        lines.append("  (least squares) achieved mu, sigma (mV): " + ", ".join(
            f"{p} {e['achieved_mu_mV'][p]:.3f}, {e['achieved_sigma_mV'][p]:.3f}" for p in e["achieved_mu_mV"]))
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
        target = None
        if args.target_input is not None:
            try:
                target = tuple(float(x) for x in args.target_input.split(","))
                if len(target) != 2 or not all(np.isfinite(target)) or target[1] <= 0:
                    raise ValueError
            except ValueError:
                raise SpecError("--target-input", args.target_input,
                                "MU,SIGMA in mV, finite, SIGMA > 0") from None
        net = load_model(args.model, parse_sets(args.set))
        res = predict(net, extended=True, target_input=target)
    except SpecError as e:
        print(f"distsim meanfield: error: {e}", file=sys.stderr, flush=True)
        return 2
    except RuntimeError as e:
        print(f"distsim meanfield: no self-consistent solution: {e}", file=sys.stderr, flush=True)
        return 1
    except ValueError as e:  # e.g. a target working point no generator rates can reach
        print(f"distsim meanfield: {e}", file=sys.stderr, flush=True)
        return 1
    if args.json:
        print(json.dumps(res))
    else:
        print(_table(res, net))
    return 0
