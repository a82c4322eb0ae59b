#!/usr/bin/env python
"""Memory benchmark of the spike analysis: peak RSS versus file size at full network scale.

Writes a synthetic full-scale microcircuit file (77,169 neurons, Poisson spikes at
the microcircuit reference rates; default 120 s of biological time, ~3e7 spikes,
~0.5 GB) to a temporary directory, then runs ``python -m analysis FILE --json``
in a subprocess and measures its wall time and peak resident memory
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``).

Each measured command is started from a tiny wrapper process that reports its
own RUSAGE_CHILDREN: on Linux a child's ``ru_maxrss`` starts at the RSS of the
process that spawned it, so measuring directly from this (larger) process, or
after the writer has run as a child, would overstate the analysis' memory.

The check: peak RSS of the analysis must be below half the file size.  Result
JSON goes to ``--out`` (default ``scripts/results/analysis_memory.json``).

    .venv/bin/python scripts/bench_analysis_memory.py [--t-sim-ms 120000] [--figures]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs argv[2:] as a child, then writes {"wall_s", "maxrss_bytes", "returncode"} to argv[1].
_WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE)
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump({"wall_s": wall, "maxrss_bytes": ru.ru_maxrss * 1024,
               "cpu_s": ru.ru_utime + ru.ru_stime, "returncode": p.returncode}, f)
sys.stdout.buffer.write(p.stdout)
"""

_WRITE = r"""
import json, sys
from analysis.synthetic import write_synthetic
info = write_synthetic(sys.argv[1], t_sim_ms=float(sys.argv[2]), t_presim_ms=float(sys.argv[3]),
                       n_ranks=int(sys.argv[4]), seed=1, n_report=2)
print(json.dumps(info))
"""


def measure(cmd: list[str], tmp: str, env: dict) -> tuple[dict, bytes]:
    """Run ``cmd`` under the wrapper; return (measurement dict, child's stdout bytes)."""
    rep = os.path.join(tmp, "measure.json")
    p = subprocess.run([sys.executable, "-c", _WRAPPER, rep, *cmd], stdout=subprocess.PIPE,
                       env=env, cwd=ROOT)
    with open(rep) as f:
        m = json.load(f)
    os.remove(rep)
    if p.returncode or m["returncode"]:
        raise RuntimeError(f"command failed ({m['returncode']}): {' '.join(cmd)}")
    return m, p.stdout


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print and write the JSON result; return 0 if the memory check passes."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results",
                                                  "analysis_memory.json"))
    ap.add_argument("--t-sim-ms", type=float, default=120_000.0,
                    help="biological time incl. warm-up, ms (default 120000 -> ~3e7 spikes)")
    ap.add_argument("--t-presim-ms", type=float, default=500.0)
    ap.add_argument("--n-ranks", type=int, default=8)
    ap.add_argument("--figures", action="store_true",
                    help="also measure a run that writes the figures")
    ap.add_argument("--tmpdir", default=None, help="where to put the temporary file")
    a = ap.parse_args(argv)

    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    py = sys.executable
    result: dict = {"benchmark": "analysis_memory", "python": platform.python_version(),
                    "machine": platform.machine(), "cpus": os.cpu_count(),
                    "t_sim_ms": a.t_sim_ms, "t_presim_ms": a.t_presim_ms}
    with tempfile.TemporaryDirectory(dir=a.tmpdir, prefix="bench_analysis_") as tmp:
        path = os.path.join(tmp, "full_scale.h5")
        t = time.perf_counter()
        out = subprocess.run([py, "-c", _WRITE, path, str(a.t_sim_ms), str(a.t_presim_ms),
                              str(a.n_ranks)], stdout=subprocess.PIPE, env=env, cwd=ROOT,
                             check=True).stdout
        info = json.loads(out)
        result.update(write_wall_s=time.perf_counter() - t, file_bytes=info["file_bytes"],
                      n_spikes=info["n_spikes_total"], n_neurons=77169)
        print(f"wrote {info['n_spikes_total']:.3e} spikes, {info['file_bytes'] / 2**20:.0f} MiB "
              f"in {result['write_wall_s']:.1f} s", flush=True)

        base, _ = measure([py, "-c", "import analysis.cli, analysis.spikes"],
                          tmp, env)
        result["import_baseline_rss_bytes"] = base["maxrss_bytes"]

        m, stdout = measure([py, "-m", "analysis", path, "--json", "--no-figures"], tmp, env)
        summary = json.loads(stdout)
        result["analysis"] = {"wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
                              "peak_rss_bytes": m["maxrss_bytes"],
                              "peak_rss_over_file": m["maxrss_bytes"] / info["file_bytes"],
                              "spikes_per_s": info["n_spikes_total"] / m["wall_s"]}
        result["rates"] = summary["rates"]
        result["reference_rates"] = summary["reference_rates"]
        print(f"analysis: {m['wall_s']:.1f} s wall, peak RSS {m['maxrss_bytes'] / 2**20:.0f} MiB"
              f" (imports alone {base['maxrss_bytes'] / 2**20:.0f} MiB)", flush=True)
        if a.figures:
            m2, _ = measure([py, "-m", "analysis", path, "--json",
                             "--fig-dir", os.path.join(tmp, "figs")], tmp, env)
            result["analysis_with_figures"] = {"wall_s": m2["wall_s"], "cpu_s": m2["cpu_s"],
                                               "peak_rss_bytes": m2["maxrss_bytes"],
                                               "peak_rss_over_file":
                                                   m2["maxrss_bytes"] / info["file_bytes"]}
            print(f"analysis + figures: {m2['wall_s']:.1f} s wall, peak RSS "
                  f"{m2['maxrss_bytes'] / 2**20:.0f} MiB", flush=True)

    peaks = [result["analysis"]["peak_rss_bytes"]]
    if "analysis_with_figures" in result:
        peaks.append(result["analysis_with_figures"]["peak_rss_bytes"])
    ok = max(peaks) < 0.5 * result["file_bytes"]
    result["check"] = {"rule": "peak RSS < 0.5 * file size", "passed": ok}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print(f"{'PASS' if ok else 'FAIL'}: peak RSS {max(peaks) / 2**20:.0f} MiB vs file "
          f"{result['file_bytes'] / 2**20:.0f} MiB -> {a.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
