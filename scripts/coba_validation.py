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

from nest_builders import markdown, validate  # noqa: E402  (the comparison lives with the other NEST runners)


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
