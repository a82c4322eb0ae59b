"""NEST's HPC benchmark in distsim (2 MPI ranks x 1 thread) and in NEST 3.10 (2 threads), side by
side: statistics (within NEST's seed-to-seed spread?) and cost (build, simulation, memory).

    .venv/bin/python scripts/hpc_benchmark_vs_nest.py [--seeds 3] [--scale 1] [--out scripts/results/hpc]
    .venv/bin/python scripts/hpc_benchmark_vs_nest.py --estimate-only          # memory needed at --scale
    .venv/bin/python scripts/hpc_benchmark_vs_nest.py --scale 0.05 --indegree-scale 0.05 --t-sim 100 \\
        --t-presim 20 --no-warm --out /tmp/hpc                                # smoke run

The network is NEST's pynest/examples/hpc_benchmark.py (``distsim.networks.hpc_benchmark``;
NEST's side is built by ``tests/validation/hpc_nest.py`` from the same derived parameters):
scale 1 = 11,250 iaf_psc_alpha neurons with 11,250 inputs each, 126 M synapses, E->E
stdp_pl_synapse_hom. NEST's example simulates a warm-up (``presimtime``; "we usually use 100 ms
presimulation and 1000 ms simulation time", 50 + 250 ms in the shipped file for desktops) and
then the measured part, recording the spikes of 1000 E neurons; here both simulators record
every E and I neuron (rates of both populations), ``--t-presim`` (default 100 ms) is simulated
first and ``--t-sim`` (default 1000 ms) is measured: rates over (t_presim, t_presim + t_sim],
the mean and sd of every E->E weight at the end.

Each run is its own subprocess, one at a time (the simulators never run at once); for each
seed distsim runs first, then NEST. Per run: rate_E, rate_I, w_mean, w_sd, build, warm-up and
simulation wall time, and peak memory two ways: ``peak_rss_bytes``, the simulators' own peak
RSS (distsim: summed over ranks, taken before the output's weights are written; NEST: the
process's, before the weights are read out through GetConnections), and
``tree_peak_rss_bytes``, the RSS of the whole process tree (mpirun and hydra included)
sampled every 0.2 s from /proc, which includes the weight read-out/write-out. The statistics
are compared per key with Welch's t-test (scipy), the cost by ratios of medians
(distsim/NEST). Before the runs the memory the runs will need is estimated and printed
(distsim: ``distsim.spec.memory.estimate``, about 12 B per plastic and 9 B per static synapse;
NEST: bytes per synapse measured by two build-only NEST runs at a small size, ``--calib-*``),
and the runs are refused when it exceeds what the machine has (``--no-memory-check``).
Writes ``hpc_benchmark.json`` and ``hpc_benchmark.md`` into ``--out``.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "validation"))
PY = sys.executable
KEYS = ("rate_E", "rate_I", "w_mean", "w_sd")
COST = ("build_s", "presim_s", "sim_s", "peak_rss_bytes", "tree_peak_rss_bytes")
GIB = 2 ** 30


# ---------------------------------------------------------------- process-tree memory
def _tree_rss_bytes(root_pid):
    """Summed RSS (bytes) of ``root_pid`` and all its descendants, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root_pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
        todo.extend(children.get(p, ()))
    return total


def run_sampled(cmd, timeout, env=None):
    """Run ``cmd``; returns (stdout, stderr, peak summed RSS of its process tree in bytes,
    wall seconds). Raises RuntimeError on a non-zero exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_bytes(p.pid))
            done.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        done.set()
        th.join()
        if p.poll() is None:
            p.kill()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{out[-2000:]}\n{err[-4000:]}")
    return out, err, peak[0], time.perf_counter() - t0


# ---------------------------------------------------------------- one run each
def run_distsim(a, seed, tmp):
    """One distsim run (mpirun -n ranks, distsim run hpc_benchmark -o): the result dict."""
    import h5py

    from distsim.recording.hdf5 import read_spikes
    from hpc_nest import weight_stats

    path = os.path.join(tmp, f"distsim_seed{seed}.h5")
    cmd = ["mpirun", "-n", str(a.ranks), PY, "-m", "mpi4py", "-m", "distsim", "run", "hpc_benchmark",
           "--set", f"scale={a.scale}", "--set", f"indegree_scale={a.indegree_scale}", "--seed", str(seed),
           "--t-presim", str(a.t_presim), "--t-sim", str(a.t_sim), "--threads", "1", "-o", path,
           "--overwrite", "-q"]
    if a.no_memory_check:
        cmd.append("--no-memory-check")
    out, _, tree, wall = run_sampled(cmd, a.timeout)
    s = json.loads(out.strip().splitlines()[-1])
    sp = read_spikes(path)
    T = a.t_sim * 1e-3
    rates = {}
    for pop in ("E", "I"):
        _, t = sp[pop]
        with h5py.File(path, "r") as f:
            n = int(f["spikes"][pop].attrs["size"])
        rates[pop] = float(np.count_nonzero(t > a.t_presim + 1e-9)) / n / T
    with h5py.File(path, "r") as f:  # E->E weights in blocks (81 M at scale 1)
        ds = f["edges"]["E->E"]["weight"]
        B = 1 << 23
        _, w_mean, w_sd = weight_stats([ds[i:i + B] for i in range(0, ds.shape[0], B)])
    os.unlink(path)
    return {"simulator": "distsim", "seed": seed, "rate_E": rates["E"], "rate_I": rates["I"],
            "w_mean": w_mean, "w_sd": w_sd, "build_s": s["build_time_s"], "presim_s": s["presim_time_s"],
            "sim_s": s["sim_time_s"], "peak_rss_bytes": s["peak_rss_bytes"], "tree_peak_rss_bytes": tree,
            "n_synapses": s["n_synapses"], "synapse_bytes": s["synapse_bytes"], "wall_s": wall}


def run_nest(a, seed):
    """One NEST run in its own process (this script's --worker mode): the result dict."""
    cmd = [PY, os.path.abspath(__file__), "--worker", "run", "--seed", str(seed), "--scale", str(a.scale),
           "--indegree-scale", str(a.indegree_scale), "--t-presim", str(a.t_presim), "--t-sim", str(a.t_sim),
           "--nest-threads", str(a.nest_threads)]
    out, _, tree, wall = run_sampled(cmd, a.timeout)
    r = json.loads(out.strip().splitlines()[-1])
    r.update(simulator="nest", seed=seed, tree_peak_rss_bytes=tree, wall_s=wall)
    return r


def worker(a):
    """--worker run: one NEST run, a JSON line; --worker build: NEST built and run 5 ms, peak RSS."""
    import nest

    from hpc_nest import run_nest_hpc, vm_hwm_bytes

    if a.worker == "run":
        r = run_nest_hpc(nest, a.scale, a.indegree_scale, a.t_sim, a.seed, threads=a.nest_threads,
                         t_presim_ms=a.t_presim)
    else:
        base = vm_hwm_bytes()
        r = run_nest_hpc(nest, a.scale, a.indegree_scale, 5.0, a.seed, threads=a.nest_threads)
        r["base_rss_bytes"] = base
    print(json.dumps(r, default=float))
    return 0


# ---------------------------------------------------------------- memory estimate
def n_synapses_of(scale, indegree_scale):
    """(plastic E->E, static among neurons, Poisson generator connections) of the network."""
    from distsim.networks.hpc_benchmark import derive
    P = derive(scale, 1.685, 0.14, indegree_scale)
    n = P["NE"] + P["NI"]
    return P["NE"] * P["CE"], P["NE"] * P["CI"] + P["NI"] * (P["CE"] + P["CI"]), n


def _edge_block():
    from distsim.recording import hdf5
    return hdf5._EDGE_BLOCK


def estimate_memory(a):
    """dict: the distsim and NEST peak memory (bytes) expected at --scale/--indegree-scale."""
    from distsim.networks.hpc_benchmark import hpc_benchmark
    from distsim.spec import validate
    from distsim.spec.memory import SAFETY, estimate

    n_pl, n_st, n_gen = n_synapses_of(a.scale, a.indegree_scale)
    est = estimate(validate(hpc_benchmark(scale=a.scale, indegree_scale=a.indegree_scale)), a.ranks)
    d_total = est["total_bytes"] * a.ranks
    out = {"n_plastic": n_pl, "n_static": n_st, "n_generator": n_gen,
           "distsim_synapse_bytes_12_9": 12 * n_pl + 9 * n_st,
           "distsim_estimate_bytes": d_total, "distsim_estimate_with_safety_bytes": int(d_total * SAFETY),
           # the final weights are written at the end in blocks of _EDGE_BLOCK synapses per
           # rank (~88 B each while ordered) after 3 one-byte masks over the local synapses
           "distsim_edges_write_bytes": a.ranks * _edge_block() * 88 + 3 * n_pl}
    cal = []
    for k in (float(x) for x in a.calib_indegree.split(",")):
        cmd = [PY, os.path.abspath(__file__), "--worker", "build", "--seed", "1", "--scale", str(a.calib_scale),
               "--indegree-scale", str(k), "--nest-threads", str(a.nest_threads)]
        o, _, tree, _ = run_sampled(cmd, a.timeout)
        r = json.loads(o.strip().splitlines()[-1])
        cal.append({"scale": a.calib_scale, "indegree_scale": k, "n_synapses": int(r["n_synapses"]),
                    "peak_rss_bytes": int(r["peak_rss_bytes"]), "base_rss_bytes": int(r["base_rss_bytes"])})
        print(f"[hpc] NEST calibration scale {a.calib_scale:g} indegree x{k:g}: {r['n_synapses']:,} synapses, "
              f"peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    (x0, y0), (x1, y1) = [(c["n_synapses"], c["peak_rss_bytes"]) for c in (cal[0], cal[-1])]
    bps = (y1 - y0) / (x1 - x0) if x1 != x0 else float("nan")
    n_nest = n_pl + n_st + n_gen
    out.update(nest_calibration=cal, nest_bytes_per_synapse=bps,
               nest_estimate_bytes=int(y1 + bps * (n_nest - x1)),
               # float64 per weight kept + GetConnections().get() of one block of 250 k
               # connections (~3 kB each while it runs, measured at small scale)
               nest_weights_readout_bytes=int(8 * n_pl + 3000 * 250_000))
    return out


def print_estimate(m, a):
    from distsim.spec.memory import node_available_bytes
    avail, src = node_available_bytes()
    lines = [f"memory estimate at scale {a.scale:g}, indegree x{a.indegree_scale:g}: {m['n_plastic']:,} plastic + "
             f"{m['n_static']:,} static synapses (+ {m['n_generator']:,} generator connections in NEST)",
             f"  distsim ({a.ranks} ranks): 12 B/plastic + 9 B/static synapse = "
             f"{m['distsim_synapse_bytes_12_9'] / GIB:.2f} GiB; full estimate (spec.memory, all ranks) "
             f"{m['distsim_estimate_bytes'] / GIB:.2f} GiB (x1.1 safety: "
             f"{m['distsim_estimate_with_safety_bytes'] / GIB:.2f} GiB); writing the final weights adds up to "
             f"{m['distsim_edges_write_bytes'] / GIB:.2f} GiB transiently",
             f"  NEST ({a.nest_threads} threads): {m['nest_bytes_per_synapse']:.1f} B/synapse measured -> "
             f"{m['nest_estimate_bytes'] / GIB:.2f} GiB; reading the E->E weights out adds ~"
             f"{m['nest_weights_readout_bytes'] / GIB:.2f} GiB",
             f"  one simulator at a time: the larger needs ~"
             f"{max(m['distsim_estimate_with_safety_bytes'] + m['distsim_edges_write_bytes'], m['nest_estimate_bytes'] + m['nest_weights_readout_bytes']) / GIB:.2f}"
             f" GiB; this machine has {avail / GIB:.1f} GiB available ({src}); 24 GiB budget: "
             f"{'fits' if need_bytes(m) <= 24 * GIB else 'does NOT fit'}"]
    print("\n".join(lines), file=sys.stderr, flush=True)
    return avail


def need_bytes(m):
    return max(m["distsim_estimate_with_safety_bytes"] + m["distsim_edges_write_bytes"],
               m["nest_estimate_bytes"] + m["nest_weights_readout_bytes"])


# ---------------------------------------------------------------- comparison and output
def compare(runs):
    from scipy.stats import ttest_ind

    d = [r for r in runs if r["simulator"] == "distsim"]
    n = [r for r in runs if r["simulator"] == "nest"]
    stats = {}
    for k in KEYS:
        x, y = np.array([r[k] for r in d]), np.array([r[k] for r in n])
        t, p = ttest_ind(x, y, equal_var=False) if min(x.size, y.size) >= 2 else (float("nan"), float("nan"))
        stats[k] = {"distsim_mean": float(x.mean()), "distsim_sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
                    "nest_mean": float(y.mean()), "nest_sd": float(y.std(ddof=1)) if y.size > 1 else 0.0,
                    "welch_t": float(t), "p": float(p), "within_spread_1pct": bool(p >= 0.01) if p == p else None}
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    cost = {k: {"distsim": med(d, k), "nest": med(n, k), "ratio": med(d, k) / med(n, k) if med(n, k) else float("nan")}
            for k in COST}
    return stats, cost


def markdown(res):
    a = res["args"]
    L = [f"# hpc_benchmark: distsim ({a['ranks']} ranks x 1 thread) vs NEST 3.10 ({a['nest_threads']} threads)", "",
         f"scale {a['scale']:g}, in-degrees x{a['indegree_scale']:g}, {a['t_presim']:g} ms warm-up + "
         f"{a['t_sim']:g} ms measured, seeds {a['seeds']}; {res['started']}", "",
         "| measure | distsim mean +- sd | NEST mean +- sd | Welch t | p | within spread (p >= 0.01) |",
         "|---|---|---|---|---|---|"]
    for k, s in res["statistics"].items():
        L.append(f"| {k} | {s['distsim_mean']:.4f} +- {s['distsim_sd']:.4f} | {s['nest_mean']:.4f} +- "
                 f"{s['nest_sd']:.4f} | {s['welch_t']:+.2f} | {s['p']:.3f} | "
                 f"{'yes' if s['within_spread_1pct'] else 'NO'} |")
    L += ["", "| cost (median) | distsim | NEST | distsim/NEST |", "|---|---|---|---|"]
    for k, c in res["cost"].items():
        f = (lambda v: f"{v / GIB:.2f} GiB") if "bytes" in k else (lambda v: f"{v:.2f} s")
        L.append(f"| {k} | {f(c['distsim'])} | {f(c['nest'])} | {c['ratio']:.2f} |")
    L += ["", "| run | simulator | seed | rate_E | rate_I | w_mean | w_sd | build s | warm-up s | sim s | "
          "peak RSS GiB | tree peak GiB |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(res["runs"]):
        L.append(f"| {i} | {r['simulator']} | {r['seed']} | {r['rate_E']:.3f} | {r['rate_I']:.3f} | "
                 f"{r['w_mean']:.4f} | {r['w_sd']:.4f} | {r['build_s']:.2f} | {r['presim_s']:.2f} | "
                 f"{r['sim_s']:.2f} | {r['peak_rss_bytes'] / GIB:.3f} | {r['tree_peak_rss_bytes'] / GIB:.3f} |")
    m = res.get("memory_estimate")
    if m:
        L += ["", f"Memory estimate: distsim {m['distsim_estimate_with_safety_bytes'] / GIB:.2f} GiB (+ "
              f"{m['distsim_edges_write_bytes'] / GIB:.2f} GiB writing the weights), NEST "
              f"{m['nest_bytes_per_synapse']:.1f} B/synapse -> {m['nest_estimate_bytes'] / GIB:.2f} GiB."]
    L += ["", "peak RSS: the simulators' own peak (distsim summed over ranks, before the weights are written; "
          "NEST before GetConnections); tree peak: the whole process tree sampled every 0.2 s, weight "
          "read-out/write-out and mpirun included."]
    return "\n".join(L)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds per simulator (1..N)")
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--indegree-scale", type=float, default=1.0, help="1 = NEST's benchmark (smaller: tests)")
    ap.add_argument("--t-presim", type=float, default=100.0, help="warm-up (ms), not measured")
    ap.add_argument("--t-sim", type=float, default=1000.0, help="measured simulated time (ms)")
    ap.add_argument("--ranks", type=int, default=2, help="distsim MPI ranks (1 thread each)")
    ap.add_argument("--nest-threads", type=int, default=2)
    ap.add_argument("--calib-scale", type=float, default=0.1, help="NEST memory calibration size")
    ap.add_argument("--calib-indegree", default="0.2,0.4", help="two in-degree factors for the calibration")
    ap.add_argument("--estimate-only", action="store_true", help="print the memory estimate and stop")
    ap.add_argument("--no-estimate", action="store_true", help="skip the memory estimate (and its check)")
    ap.add_argument("--no-memory-check", action="store_true", help="run even when the estimate exceeds the machine")
    ap.add_argument("--no-warm", action="store_true",
                    help="skip 'distsim warm' (smoke runs: the ranks then compile inside the timed run)")
    ap.add_argument("--timeout", type=float, default=6 * 3600.0, help="seconds per run")
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results", "hpc"))
    ap.add_argument("--worker", choices=("run", "build"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)
    os.makedirs(a.out, exist_ok=True)
    import distsim
    if not a.no_warm and not distsim.cache_is_warm():  # else every rank compiles its kernels inside the timed run
        print("[hpc] compiling distsim's numba kernels first (distsim warm)", file=sys.stderr, flush=True)
        subprocess.run([PY, "-m", "distsim", "warm"], check=True, cwd=ROOT)
    res = {"args": vars(a), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "runs": []}
    if not a.no_estimate:
        m = estimate_memory(a)
        res["memory_estimate"] = m
        avail = print_estimate(m, a)
        if a.estimate_only:
            print(json.dumps(m, default=float))
            return 0
        if need_bytes(m) > avail and not a.no_memory_check:
            print(f"[hpc] refused: the runs need ~{need_bytes(m) / GIB:.1f} GiB, {avail / GIB:.1f} GiB are "
                  "available (--no-memory-check runs anyway)", file=sys.stderr)
            return 2

    def save():
        if res["runs"] and {r["simulator"] for r in res["runs"]} == {"distsim", "nest"}:
            res["statistics"], res["cost"] = compare(res["runs"])
            with open(os.path.join(a.out, "hpc_benchmark.md"), "w") as f:
                f.write(markdown(res) + "\n")
        with open(os.path.join(a.out, "hpc_benchmark.json"), "w") as f:
            json.dump(res, f, indent=1, default=float)

    with tempfile.TemporaryDirectory(dir=a.out, prefix="runs-") as tmp:
        for seed in range(1, a.seeds + 1):
            for name, fn in (("distsim", lambda s: run_distsim(a, s, tmp)), ("nest", lambda s: run_nest(a, s))):
                print(f"[hpc] seed {seed}: {name}", file=sys.stderr, flush=True)
                r = fn(seed)
                res["runs"].append(r)
                print(f"[hpc]   rate_E {r['rate_E']:.3f} rate_I {r['rate_I']:.3f} w {r['w_mean']:.4f} +- "
                      f"{r['w_sd']:.4f} pA; build {r['build_s']:.2f} s, warm-up {r['presim_s']:.2f} s, sim "
                      f"{r['sim_s']:.2f} s, peak {r['peak_rss_bytes'] / GIB:.3f} GiB (tree "
                      f"{r['tree_peak_rss_bytes'] / GIB:.3f})", file=sys.stderr, flush=True)
                save()
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
