"""distsim against NEST 3.10 on a built-in network, seed by seed: population rates and ISI CVs.

    .venv/bin/python scripts/coba_validation.py OUT_DIR [--network coba] [--seeds 5]
        [--t-sim 1000] [--t-start 200] [--set KEY=VALUE ...]
    .venv/bin/python scripts/coba_validation.py out/adex --network adex_brunel --ranks 2

The same network description (``distsim.networks``) is simulated by distsim (one process,
or ``--ranks N`` under mpirun through an HDF5 file) and built in NEST 3.10 by
``tests/nest_builders.py`` (1 thread), ``--seeds`` seeds each
(independent seeds: the two simulators draw different connections and inputs). Rates
(spikes/s) and the mean ISI CV (neurons with >= 3 spikes) are measured over the stamps in
(t_start, t_sim] ms, after the start-up transient. A measure passes when the difference of
the seed means is within the seed-to-seed spread (two-sample t-test on the pooled spread,
two-sided false-alarm rate 1%: |t| <= 3.36 with 5 + 5 seeds). Writes
``<network>_validation.json`` and ``.md`` into OUT_DIR, prints the table; exit code 1 if a
measure fails.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the runners live with the tests that use them

from nest_builders import network_spikes_distsim, network_spikes_nest, rate_cv, within_spread  # noqa: E402


def validate(network, seeds, t_sim, t_start, overrides=None, ranks=1, progress=True):
    """Run both simulators (distsim on ``ranks`` MPI ranks); returns the result dict
    (per-seed values and comparisons)."""
    from distsim.networks import build_builtin

    net = build_builtin(network, overrides or {})
    sizes = {p.name: p.n for p in net.populations}
    per = {"distsim": [], "nest": []}
    for sim, fn in (("distsim", network_spikes_distsim), ("nest", network_spikes_nest)):
        for k in range(seeds):
            t0 = time.perf_counter()
            extra = {"ranks": ranks, "builtin": (network, overrides or {})} if sim == "distsim" else {}
            spikes, build_s, sim_s = fn(net, 1000 + k, t_sim, **extra)
            m = rate_cv(spikes, sizes, t_start, t_sim, net.dt_ms)
            per[sim].append({"seed": 1000 + k, "build_s": build_s, "sim_s": sim_s, **m})
            if progress:
                print(f"[validation] {network} {sim} seed {1000 + k}: "
                      + ", ".join(f"{p} {v['rate']:.2f}/s CV {v['cv']:.3f}" for p, v in m.items())
                      + f" ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    comp = {}
    for p in sizes:
        for q in ("rate", "cv"):
            comp[f"{p}/{q}"] = within_spread([r[p][q] for r in per["distsim"]], [r[p][q] for r in per["nest"]])
    return {"network": network, "overrides": overrides or {}, "seeds": seeds, "distsim_ranks": ranks, "t_sim_ms": t_sim,
            "t_start_ms": t_start, "runs": per, "comparison": comp,
            "ok": all(c["ok"] for c in comp.values())}


def markdown(res):
    lines = [f"{res['network']}: distsim ({res['distsim_ranks']} rank(s)) vs NEST 3.10 (1 thread), {res['seeds']} "
             f"seeds each, window "
             f"({res['t_start_ms']:g}, {res['t_sim_ms']:g}] ms",
             "", "| measure | distsim mean +- sd | NEST mean +- sd | diff | t | within spread (abs t <= t_max) |",
             "|---|---|---|---|---|---|"]
    for k, c in res["comparison"].items():
        lines.append(f"| {k} | {c['ours_mean']:.3f} +- {c['ours_sd']:.3f} | {c['ref_mean']:.3f} +- {c['sd_ref']:.3f} "
                     f"| {c['diff']:+.3f} | {c['t']:+.2f} | {'yes' if c['ok'] else 'NO'} ({c['t_max']:.2f}) |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="directory for <network>_validation.json and .md")
    ap.add_argument("--network", default="coba")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--t-start", type=float, default=200.0)
    ap.add_argument("--ranks", type=int, default=1, help="run distsim under mpirun -n RANKS")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    if a.seeds < 2:
        ap.error("--seeds must be >= 2 (a seed-to-seed spread needs two)")
    overrides = dict(s.split("=", 1) for s in a.set)
    res = validate(a.network, a.seeds, a.t_sim, a.t_start, overrides, ranks=a.ranks)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, f"{a.network}_validation.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    with open(os.path.join(a.out, f"{a.network}_validation.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
