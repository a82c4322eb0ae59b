"""Benchmark distsim (2 MPI ranks) against NEST 3.10 (2 threads), side by side in one run.

    .venv/bin/python scripts/bench.py [--reps 3] [--full] [--only brunel,mc01,coba] [--out scripts/results]
    .venv/bin/python scripts/bench.py --only coba --reps 1 --t-sim 20 --out /tmp/bench   # smoke run

Workloads: (a) ``brunel`` order 2500, g=5, eta=2, 1 s; (b) ``mc01`` microcircuit
N_scaling=0.1, K_scaling=1, Poisson drive, 500 ms warm-up + 1 s measured; (c) ``mcfull`` the
full-scale microcircuit the same way (``--full``; NEST gets 4 threads there, because NEST
3.10 refuses more than 134,217,726 connections per virtual process); (d) ``coba`` the COBA
benchmark (Brette et al. 2007, distsim's built-in ``coba``), 1 s, also in Brian2
(cpp_standalone, OpenMP, ``--brian-threads`` threads, scripts/brian2_coba.py, run by the Python
of ``.venv-brian2`` or ``$DISTSIM_BRIAN2_PYTHON``). Recording is off everywhere.
The simulators alternate, ``--reps`` times each; the tables give medians and the ratios
distsim/NEST. ``--t-sim`` replaces every workload's simulated time (and drops the warm-up),
for smoke runs; ``--measure-ms`` replaces the measured time and keeps the warm-up.
``--layouts 2x1,1x2`` runs distsim in each layout (MPI ranks x threads per rank), each
against the same NEST runs (issue 14: the full-scale microcircuit both ways):

    .venv/bin/python scripts/bench.py --only mcfull --layouts 2x1,1x2 --measure-ms 2000 --reps 1

Writes ``bench.json`` and ``bench.md`` into ``--out``.

    .venv/bin/python scripts/bench.py fixed-cost [--ranks 1,2] [--loops compiled,python]
                                                 [--t-sim 2000] [--reps 3] [--out DIR]

The fixed cost per step (issue 14): Brunel ``order=10 delay=0.1`` (50 neurons, a 0.1 ms
minimum delay: one exchange per step), ``--t-sim`` ms with ``-q``; simulation time divided by
steps, without output and with spike recording to an HDF5 file, per rank count and loop
(``DISTSIM_LOOP``). Writes ``fixed_cost.json`` and ``fixed_cost.md`` into ``--out``. On a
shared machine the numbers are an upper bound; measure quietly for results.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable

WORKLOADS = {
    "brunel": {"title": "Brunel order 2500, 1 s", "distsim": ["brunel", "--set", "record_spikes=false"],
               "nest": ["brunel", "--order", "2500"], "t_presim": 0.0, "t_sim": 1000.0, "nest_threads": 2},
    "mc01": {"title": "microcircuit N=0.1 K=1, 0.5 + 1 s", "distsim": ["microcircuit", "--set", "N_scaling=0.1", "--set", "record_spikes=false"],
             "nest": ["microcircuit", "--N-scaling", "0.1"], "t_presim": 500.0, "t_sim": 1000.0, "nest_threads": 2},
    "mcfull": {"title": "microcircuit full scale, 0.5 + 1 s", "distsim": ["microcircuit", "--set", "N_scaling=1.0", "--set", "record_spikes=false"],
               "nest": ["microcircuit", "--N-scaling", "1.0"], "t_presim": 500.0, "t_sim": 1000.0, "nest_threads": 4},
    "coba": {"title": "COBA 4000 iaf_cond_exp, 1 s", "distsim": ["coba", "--set", "record_spikes=false"],
             "nest": ["coba"], "brian2": ["scripts/brian2_coba.py"], "t_presim": 0.0, "t_sim": 1000.0,
             "nest_threads": 2},
}
SIMULATORS = ("distsim", "nest", "brian2")


def brian2_python():
    """The Python that has Brian2: $DISTSIM_BRIAN2_PYTHON, else .venv-brian2's, else this one."""
    env = os.environ.get("DISTSIM_BRIAN2_PYTHON")
    if env:
        return env
    venv = os.path.join(ROOT, ".venv-brian2", "bin", "python")
    return venv if os.path.exists(venv) else PY


def run_json(cmd, timeout):
    """Run a command; return the JSON object on its last stdout line."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t
    return out


def run_distsim(w, ranks, timeout, threads=1):
    cmd = ["mpirun", "-n", str(ranks), PY, "-m", "mpi4py", "-m", "distsim", "run", *w["distsim"],
           "--seed", "1", "--t-presim", str(w["t_presim"]), "--t-sim", str(w["t_sim"]), "-q",
           "--threads", str(threads)]
    return run_json(cmd, timeout)


def parse_layouts(text, ranks):
    """``"2x1,1x2"`` -> [(2, 1), (1, 2)] (ranks x threads per rank); default ``ranks`` x 1."""
    if not text:
        return [(ranks, 1)]
    out = []
    for item in text.split(","):
        r, _, t = item.strip().partition("x")
        if not (r.isdigit() and t.isdigit() and int(r) >= 1 and int(t) >= 1):
            raise SystemExit(f"bench.py: --layouts item {item!r} is not RxT (ranks x threads, both >= 1)")
        out.append((int(r), int(t)))
    return out


def run_nest(w, timeout):
    cmd = [PY, os.path.join(ROOT, "scripts", "nest_reference.py"), *w["nest"], "--threads",
           str(w["nest_threads"]), "--t-presim", str(w["t_presim"]), "--t-sim", str(w["t_sim"])]
    return run_json(cmd, timeout)


def run_brian2(w, threads, timeout):
    cmd = [brian2_python(), os.path.join(ROOT, *w["brian2"][0].split("/")), *w["brian2"][1:], "--threads",
           str(threads), "--t-sim", str(w["t_sim"])]
    return run_json(cmd, timeout)


def summarise(runs, t_sim_ms):
    """Medians of one simulator's repetitions (times s, memory bytes, events/s)."""
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    n_syn = runs[0]["n_synapses"]
    n_neu = runs[0]["n_neurons"]
    spikes = med("n_spikes")
    sim = med("sim_time_s")
    return {"build_time_s": med("build_time_s"), "sim_time_s": sim, "rtf": sim / (t_sim_ms * 1e-3),
            "peak_rss_bytes": med("peak_rss_bytes"), "n_synapses": n_syn, "n_neurons": n_neu,
            "bytes_per_synapse": med("peak_rss_bytes") / n_syn,
            "rate_spikes_per_s": spikes / n_neu / (t_sim_ms * 1e-3),
            # events: every spike reaches the mean out-degree (synapses / neurons) of targets
            "events_per_s": spikes * n_syn / n_neu / sim if sim > 0 else float("nan"),
            "reps": len(runs), "all_sim_time_s": [r["sim_time_s"] for r in runs],
            "all_build_time_s": [r["build_time_s"] for r in runs]}


def markdown(results):
    lines = ["| workload | simulator | build (s) | sim (s) | RTF | peak RSS (GB) | synapses | B/syn | events/s | rate (1/s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        for sim_name in [x for x in SIMULATORS if x in r]:
            s = r[sim_name]
            lines.append(f"| {r['title']} | {r[sim_name + '_label']} | {s['build_time_s']:.2f} | {s['sim_time_s']:.2f} | "
                         f"{s['rtf']:.2f} | {s['peak_rss_bytes'] / 1e9:.2f} | {s['n_synapses']:,} | "
                         f"{s['bytes_per_synapse']:.1f} | {s['events_per_s']:.3g} | {s['rate_spikes_per_s']:.2f} |")
        q = r["ratio"]
        lines.append(f"| {r['title']} | **distsim/NEST** | {q['build_time_s']:.2f} | {q['sim_time_s']:.2f} | "
                     f"{q['rtf']:.2f} | {q['peak_rss_bytes']:.2f} | | | | |")
        for label, (s, q) in r.get("other_layouts", {}).items():
            lines.append(f"| {r['title']} | distsim ({label}) | {s['build_time_s']:.2f} | {s['sim_time_s']:.2f} | "
                         f"{s['rtf']:.2f} | {s['peak_rss_bytes'] / 1e9:.2f} | {s['n_synapses']:,} | "
                         f"{s['bytes_per_synapse']:.1f} | {s['events_per_s']:.3g} | {s['rate_spikes_per_s']:.2f} |")
            lines.append(f"| {r['title']} | **distsim ({label})/NEST** | {q['build_time_s']:.2f} | "
                         f"{q['sim_time_s']:.2f} | {q['rtf']:.2f} | {q['peak_rss_bytes']:.2f} | | | | |")
        if "ratio_brian2" in r:
            q = r["ratio_brian2"]
            lines.append(f"| {r['title']} | **distsim/Brian2** | {q['build_time_s']:.2f} | {q['sim_time_s']:.2f} | "
                         f"{q['rtf']:.2f} | {q['peak_rss_bytes']:.2f} | | | | |")
    lines.append("")
    lines.append("Medians over repetitions, distsim and NEST alternating in one run. Peak RSS is summed "
                 "over ranks; B/syn = peak RSS / synapses (NEST counts generator connections too). Brian2: "
                 "build includes code generation and compilation; its peak RSS is the simulation binary's.")
    return "\n".join(lines)


def fixed_cost(argv):
    """``bench.py fixed-cost``: see the module docstring. Returns 0."""
    import tempfile
    ap = argparse.ArgumentParser(prog="bench.py fixed-cost")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--loops", default="compiled,python")
    ap.add_argument("--t-sim", type=float, default=2000.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results"))
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    steps = int(round(a.t_sim / 0.1))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for loop in a.loops.split(","):
            for ranks in (int(r) for r in a.ranks.split(",")):
                for rec in (False, True):
                    cmd = ["mpirun", "-n", str(ranks), PY, "-m", "mpi4py", "-m", "distsim", "run", "brunel",
                           "--set", "order=10", "--set", "delay=0.1", "--seed", "1",
                           "--t-sim", str(a.t_sim), "-q"]
                    if rec:
                        cmd += ["-o", os.path.join(tmp, "fc.h5"), "--overwrite"]
                    else:
                        cmd += ["--set", "record_spikes=false"]
                    us = []
                    for _ in range(a.reps):
                        env_loop = os.environ.get("DISTSIM_LOOP")
                        os.environ["DISTSIM_LOOP"] = loop
                        try:
                            r = run_json(cmd, 1200)
                        finally:
                            if env_loop is None:
                                os.environ.pop("DISTSIM_LOOP", None)
                            else:
                                os.environ["DISTSIM_LOOP"] = env_loop
                        us.append(r["sim_time_s"] / steps * 1e6)
                    row = {"loop": loop, "ranks": ranks, "recording": rec, "us_per_step": us,
                           "median_us_per_step": statistics.median(us)}
                    print(f"[bench] fixed cost {loop} {ranks} rank(s) {'with' if rec else 'without'} "
                          f"recording: {row['median_us_per_step']:.2f} us/step", file=sys.stderr, flush=True)
                    rows.append(row)
    with open(os.path.join(a.out, "fixed_cost.json"), "w") as f:
        json.dump({"t_sim_ms": a.t_sim, "steps": steps, "rows": rows}, f, indent=1)
    lines = ["| loop | ranks | spike recording | us per step (median) | all reps |", "|---|---|---|---|---|"]
    lines += [f"| {r['loop']} | {r['ranks']} | {'yes' if r['recording'] else 'no'} | "
              f"{r['median_us_per_step']:.2f} | {', '.join(f'{x:.2f}' for x in r['us_per_step'])} |" for r in rows]
    with open(os.path.join(a.out, "fixed_cost.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv=None):
    """Run the benchmark; returns 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fixed-cost":
        return fixed_cost(argv[1:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also the full-scale microcircuit")
    ap.add_argument("--only", help="comma-separated workloads (brunel, mc01, mcfull, coba)")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--layouts", help="distsim layouts as RxT (ranks x threads), comma-separated, e.g. 2x1,1x2; "
                                      "the first is the main one (default: --ranks x 1)")
    ap.add_argument("--measure-ms", type=float, help="measured simulated ms of every workload (the warm-up stays)")
    ap.add_argument("--brian-threads", type=int, default=2, help="OpenMP threads of Brian2 (coba)")
    ap.add_argument("--no-brian2", action="store_true", help="leave Brian2 out of coba")
    ap.add_argument("--t-sim", type=float, help="simulated ms of every workload, no warm-up (smoke runs)")
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results"))
    a = ap.parse_args(argv)
    layouts = parse_layouts(a.layouts, a.ranks)
    keys = a.only.split(",") if a.only else ["brunel", "mc01"] + (["mcfull"] if a.full else [])
    os.makedirs(a.out, exist_ok=True)
    sys.path.insert(0, ROOT)
    import distsim
    if not distsim.cache_is_warm():  # else every rank compiles its kernels inside the timed run
        print("[bench] compiling distsim's numba kernels first (distsim warm)", file=sys.stderr, flush=True)
        subprocess.run([PY, "-m", "distsim", "warm"], check=True, cwd=ROOT)
    results = {}
    for key in keys:
        w = dict(WORKLOADS[key])
        if a.t_sim is not None:
            w.update(t_sim=a.t_sim, t_presim=0.0, title=f"{w['title']} [smoke run: {a.t_sim:g} ms]")
        elif a.measure_ms is not None:
            w.update(t_sim=a.measure_ms, title=f"{w['title'].split(',')[0]}, {w['t_presim'] / 1e3:g} + "
                                               f"{a.measure_ms / 1e3:g} s")
        with_brian = "brian2" in w and not a.no_brian2
        timeout = 7200 if key == "mcfull" else 1200
        d_runs, n_runs, b_runs = [], [], []
        other = {lay: [] for lay in layouts[1:]}
        for rep in range(a.reps):
            print(f"[bench] {key} rep {rep + 1}/{a.reps}: distsim {layouts[0][0]}x{layouts[0][1]}", file=sys.stderr,
                  flush=True)
            d_runs.append(run_distsim(w, layouts[0][0], timeout, layouts[0][1]))
            for lay in layouts[1:]:
                print(f"[bench] {key} rep {rep + 1}/{a.reps}: distsim {lay[0]}x{lay[1]}", file=sys.stderr, flush=True)
                other[lay].append(run_distsim(w, lay[0], timeout, lay[1]))
            print(f"[bench] {key} rep {rep + 1}/{a.reps}: NEST", file=sys.stderr, flush=True)
            n_runs.append(run_nest(w, timeout))
            if with_brian:
                print(f"[bench] {key} rep {rep + 1}/{a.reps}: Brian2", file=sys.stderr, flush=True)
                b_runs.append(run_brian2(w, a.brian_threads, timeout))
        d = summarise(d_runs, w["t_sim"])
        n = summarise(n_runs, w["t_sim"])
        results[key] = {"title": w["title"], "distsim": d, "nest": n,
                        "distsim_label": f"distsim ({layouts[0][0]} ranks x {layouts[0][1]} threads)",
                        "nest_label": f"NEST 3.10 ({w['nest_threads']} threads)",
                        "ratio": {k: d[k] / n[k] for k in ("build_time_s", "sim_time_s", "rtf", "peak_rss_bytes")},
                        "raw": {"distsim": d_runs, "nest": n_runs}}
        for lay, runs in other.items():
            s = summarise(runs, w["t_sim"])
            label = f"{lay[0]} ranks x {lay[1]} threads"
            results[key].setdefault("other_layouts", {})[label] = (
                s, {k: s[k] / n[k] for k in ("build_time_s", "sim_time_s", "rtf", "peak_rss_bytes")})
            results[key]["raw"][f"distsim {label}"] = runs
        if with_brian:
            b = summarise(b_runs, w["t_sim"])
            b["compile_time_s"] = statistics.median(r["compile_time_s"] for r in b_runs)
            results[key].update(brian2=b, brian2_label=f"{b_runs[0]['simulator']} ({a.brian_threads} threads)",
                                ratio_brian2={k: d[k] / b[k] for k in ("build_time_s", "sim_time_s", "rtf",
                                                                       "peak_rss_bytes")})
            results[key]["raw"]["brian2"] = b_runs
        with open(os.path.join(a.out, "bench.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(a.out, "bench.md"), "w") as f:
            f.write(markdown(results) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
