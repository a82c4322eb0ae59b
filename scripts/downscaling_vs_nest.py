"""Population rates of the microcircuit at a given N_scaling and K_scaling, distsim and NEST
3.10 side by side in one run, against the full-scale reference rates (``full_mean_rates``).

Why: with K_scaling < 1 the weight and DC compensation keeps the mean and variance of each
neuron's input, but not the correlations that the full network builds up. This script shows
whether a rate that moves under down-scaling moves in NEST too (then it is the model, not
distsim).

    python scripts/downscaling_vs_nest.py --N-scaling 1 --K-scaling 0.5 --seeds 2 --nest-threads 4

Writes ``downscaling_vs_nest.json`` and ``.md`` into ``--out``. NEST at N_scaling=1 needs
4 threads (at most 134,217,726 connections per thread) and ~8 GB at K_scaling=0.5.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PY = sys.executable


def distsim_rates(N, K, seed, t_presim, t_sim, ranks, tmp):
    """Mean rate (spikes/s) per population after the warm-up, from distsim's HDF5 output."""
    from distsim.recording.hdf5 import read_spikes

    out = os.path.join(tmp, f"distsim_{seed}.h5")
    cmd = ["mpirun", "-n", str(ranks), PY, "-m", "mpi4py", "-m", "distsim", "run", "microcircuit",
           "--set", f"N_scaling={N}", "--set", f"K_scaling={K}", "--seed", str(seed),
           "--t-presim", str(t_presim), "--t-sim", str(t_sim), "-o", out, "--overwrite", "-q"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    sizes = _sizes(N)
    spikes = read_spikes(out)
    return {p: _count(spikes[p][1], t_presim, t_sim) / sizes[p] / (t_sim * 1e-3) for p in sizes}


def nest_rates(N, K, seed, t_presim, t_sim, threads, tmp):
    """Mean rate (spikes/s) per population after the warm-up, from NEST 3.10."""
    rec = os.path.join(tmp, f"nest_{seed}.npz")
    cmd = [PY, os.path.join(ROOT, "scripts", "nest_reference.py"), "microcircuit", "--N-scaling", str(N),
           "--K-scaling", str(K), "--seed", str(seed), "--threads", str(threads),
           "--t-presim", str(t_presim), "--t-sim", str(t_sim), "--record", rec]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    z = np.load(rec)
    sizes = _sizes(N)
    return {p: _count(z[f"{p}_times"], t_presim, t_sim) / sizes[p] / (t_sim * 1e-3) for p in sizes}


def _count(times, t_presim, t_sim):
    """Number of spikes stamped in (t_presim, t_presim + t_sim] ms (analysis.stats convention;
    stamps on the step grid, so the step length need not be known)."""
    from analysis.stats import in_window

    return float(np.count_nonzero(in_window(times, t_presim, t_presim + t_sim, None)))


def _sizes(N):
    from distsim.networks.microcircuit_params import derive

    P = derive(N_scaling=N)
    return dict(zip(P["populations"], (int(n) for n in P["num_neurons"])))


def main(argv=None):
    """Run both simulators for each seed; print and write the rate table. Returns 0."""
    from distsim.networks.microcircuit_params import derive

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N-scaling", type=float, default=1.0)
    ap.add_argument("--K-scaling", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, default=1, help="seeds 1..SEEDS for each simulator")
    ap.add_argument("--t-presim", type=float, default=500.0)
    ap.add_argument("--t-sim", type=float, default=1500.0)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--nest-threads", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results"))
    a = ap.parse_args(argv)
    P = derive(N_scaling=a.N_scaling, K_scaling=a.K_scaling)
    pops = list(P["populations"])
    ref = dict(zip(pops, (float(r) for r in P["full_mean_rates"])))
    runs = {"distsim": [], "nest": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, a.seeds + 1):
            print(f"[downscaling] seed {seed}: distsim", file=sys.stderr, flush=True)
            runs["distsim"].append(distsim_rates(a.N_scaling, a.K_scaling, seed, a.t_presim, a.t_sim, a.ranks, tmp))
            print(f"[downscaling] seed {seed}: NEST", file=sys.stderr, flush=True)
            runs["nest"].append(nest_rates(a.N_scaling, a.K_scaling, seed, a.t_presim, a.t_sim, a.nest_threads, tmp))
    mean = {s: {p: float(np.mean([r[p] for r in runs[s]])) for p in pops} for s in runs}
    lines = [f"# Microcircuit N_scaling={a.N_scaling}, K_scaling={a.K_scaling}: rates (spikes/s), "
             f"{a.seeds} seed(s), {a.t_sim:.0f} ms after {a.t_presim:.0f} ms", "",
             "| population | full_mean_rates | distsim | NEST 3.10 | distsim/ref | NEST/ref | distsim/NEST |",
             "|---|---|---|---|---|---|---|"]
    for p in pops:
        d, n = mean["distsim"][p], mean["nest"][p]
        lines.append(f"| {p} | {ref[p]:.3f} | {d:.3f} | {n:.3f} | {d / ref[p]:.3f} | {n / ref[p]:.3f} | {d / n:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    tag = f"N{a.N_scaling:g}_K{a.K_scaling:g}"
    with open(os.path.join(a.out, f"downscaling_vs_nest_{tag}.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, f"downscaling_vs_nest_{tag}.json"), "w") as f:
        json.dump({"args": vars(a), "reference": ref, "runs": runs, "mean": mean}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
