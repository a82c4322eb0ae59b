"""Side-by-side runners for reference comparisons: a distsim Network built in NEST 3.10, and the
GIF population runs (distsim and NEST) that tests/validation/test_gif_nest.py and
scripts/gif_population.py compare.

Population activities use :func:`analysis.measures.population_activity` (the one binning
convention of :mod:`analysis.stats`). Times in ms, activities in spikes/s.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from analysis.measures import population_activity

#: end (ms) and bin (ms) of the GIF runs; windows (ms) before and after the input step
GIF_T_END_MS = 2000.0
GIF_BIN_MS = 1.0
GIF_WINDOWS = {"pre": (500.0, 1500.0), "post": (1600.0, 2000.0)}
GIF_FORMS = ("meso", "micro", "micro_dense")


def build_in_nest(nest, net) -> dict:
    """Create ``net`` (a distsim Network) in the current NEST kernel; returns name -> NodeCollection.

    Populations with their model and parameters (a ``uniform`` or ``normal`` initial V_m
    becomes ``nest.random``), projections with rule (``fixed_indegree``, ``all_to_all``,
    ``pairwise_bernoulli`` with p and the autapse flag, ...), mean weight and delay, the step
    current generators (connected with delay dt) and the Poisson generators (rate, weight,
    delay, start, stop). Other devices are not built.
    """
    nodes = {pop.name: nest.Create(pop.model, pop.n, params=_nest_params(nest, pop.params))
             for pop in net.populations}
    for pr in net.projections:
        conn = {"rule": pr.rule}
        if pr.rule == "fixed_indegree":
            conn["indegree"] = pr.indegree
        if pr.rule == "pairwise_bernoulli":
            conn.update(p=pr.p, allow_autapses=pr.allow_autapses)
        nest.Connect(nodes[pr.source], nodes[pr.target], conn,
                     syn_spec={"weight": _raw(pr.weight), "delay": _raw(pr.delay_ms)})
    for dv in net.devices:
        if dv.type == "step_current_generator":
            sc = nest.Create("step_current_generator", params={
                "amplitude_times": dv.params["amplitude_times_ms"],
                "amplitude_values": dv.params["amplitude_values_pA"]})
            for t in dv.targets:
                nest.Connect(sc, nodes[t], syn_spec={"weight": 1.0, "delay": net.dt_ms})
        if dv.type == "poisson_generator":
            q = {k: _raw(v) for k, v in dv.params.items()}
            pg = nest.Create("poisson_generator", params={
                "rate": q["rate_Hz"], "start": q.get("start_ms", 0.0), "stop": q.get("stop_ms", float("inf"))})
            for t in dv.targets:
                nest.Connect(pg, nodes[t], syn_spec={"weight": q["weight"], "delay": q.get("delay_ms", net.dt_ms)})
    return nodes


def _activity(times_ms, n):
    """GIF population activity (spikes/s) in GIF_BIN_MS bins over (0, GIF_T_END_MS]."""
    return population_activity(times_ms, n, 0.0, GIF_T_END_MS, GIF_BIN_MS)


def run_gif_distsim(form, seed, adaptation=1.0):
    """(dict pop -> activity (spikes/s), wall time (s), extras) of one distsim GIF trial.

    extras: "Abar" (meso: dict pop -> expected activity mean / (N dt), spikes/s, every 1 ms)
    or "V_m" (micro: [time, neuron] mV of the first 5 E neurons, every 1 ms).
    """
    from distsim.comm.serial import SerialComm
    from distsim.engine import Simulation
    from distsim.networks.gif_populations import NAMES, gif_populations, seed_parameters
    from distsim.recording.memory import MemoryRecorder

    net = gif_populations(form, adaptation=adaptation, n_voltmeter=5)
    rec = MemoryRecorder()
    t0 = time.perf_counter()
    sim = Simulation(net, seed=seed, comm=SerialComm(), recorder=rec)
    sim.run(GIF_T_END_MS)
    wall = time.perf_counter() - t0
    gids, stamps = rec.local_spikes()
    ranges = net.gid_ranges()
    N = seed_parameters()["N"]
    out = {}
    for i, p in enumerate(NAMES):
        a, b = ranges[p]
        m = (gids >= a) & (gids < b)
        out[p] = _activity(stamps[m] * net.dt_ms, int(N[i]))
    comm = SerialComm()
    if form == "meso":
        extras = {"Abar": {p: rec.gather_samples(comm, f"{p}:mean")[2][:, 0] / N[i] / (net.dt_ms * 1e-3)
                           for i, p in enumerate(NAMES)}}
    else:
        extras = {"V_m": rec.gather_samples(comm, "E")[2]}
    return out, wall, extras


def run_gif_nest(form, seed, adaptation=1.0):
    """As :func:`run_gif_distsim` with NEST 3.10, built from the same network description
    (:func:`build_in_nest` of ``gif_populations``); no extras."""
    import nest

    from distsim.networks.gif_populations import gif_populations

    net = gif_populations(form, adaptation=adaptation)
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = net.dt_ms
    nest.local_num_threads = 1
    nest.rng_seed = seed + 1
    t0 = time.perf_counter()
    nodes = build_in_nest(nest, net)
    recorders = {}
    for name, nd in nodes.items():
        recorders[name] = nest.Create("spike_recorder")
        nest.Connect(nd, recorders[name])
    nest.Simulate(GIF_T_END_MS)
    wall = time.perf_counter() - t0
    N = {pop.name: pop.params["N"] if pop.model == "gif_pop_psc_exp" else pop.n for pop in net.populations}
    out = {}
    for name, sr in recorders.items():
        t = np.asarray(sr.events["times"], dtype=np.float64)  # one event per spike (multiplicity expanded)
        out[name] = _activity(t, int(N[name]))
    return out, wall, {}


def _raw(v):
    """A parsed spec value (distsim.spec.values.Value) as its plain number or table."""
    return v.to_raw() if hasattr(v, "to_raw") else v


def _nest_params(nest, params):
    """A population's parameters for nest.Create: numbers as they are, a distribution table
    as the nest.random parameter that draws it."""
    out = {}
    for k, v in params.items():
        v = _raw(v)
        if isinstance(v, dict) and v.get("dist") == "uniform":
            v = nest.random.uniform(min=v["low"], max=v["high"])
        elif isinstance(v, dict) and v.get("dist") == "normal":
            if "min" in v or "max" in v:
                raise NotImplementedError("bounded normal initial values")
            v = nest.random.normal(mean=v["mean"], std=v["std"])
        out[k] = v
    return out


def network_spikes_nest(net, seed, t_sim_ms, threads=1):
    """Simulate ``net`` (a distsim Network, built by :func:`build_in_nest`) in NEST 3.10 for
    ``t_sim_ms``; returns (dict population -> (ids 0..n-1, stamps ms), build s, sim s)."""
    import nest

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = net.dt_ms
    nest.local_num_threads = threads
    nest.rng_seed = seed + 1
    t0 = time.perf_counter()
    nodes = build_in_nest(nest, net)
    recs = {}
    for name, nd in nodes.items():
        recs[name] = nest.Create("spike_recorder")
        nest.Connect(nd, recs[name])
    t1 = time.perf_counter()
    nest.Simulate(t_sim_ms)
    t2 = time.perf_counter()
    out = {}
    for name, sr in recs.items():
        ev = sr.events
        out[name] = (np.asarray(ev["senders"], np.int64) - int(nodes[name][0].global_id),
                     np.asarray(ev["times"], np.float64))
    return out, t1 - t0, t2 - t1


def network_spikes_distsim(net, seed, t_sim_ms, ranks=1, builtin=None):
    """As :func:`network_spikes_nest` with distsim: one process, in memory; or, with
    ``ranks`` > 1, ``mpirun -n ranks ... distsim run`` of the built-in network ``builtin``
    (name, dict of --set overrides) that ``net`` was built from, through an HDF5 file."""
    if ranks > 1:
        return _distsim_mpirun(net, seed, t_sim_ms, ranks, *builtin)
    from distsim.comm.serial import SerialComm
    from distsim.engine import Simulation
    from distsim.recording.memory import MemoryRecorder

    rec = MemoryRecorder()
    t0 = time.perf_counter()
    sim = Simulation(net, seed=seed, comm=SerialComm(), recorder=rec)
    t1 = time.perf_counter()
    sim.run(t_sim_ms)
    t2 = time.perf_counter()
    gids, stamps = rec.local_spikes()
    out = {}
    for name, (a, b) in net.gid_ranges().items():
        m = (gids >= a) & (gids < b)
        out[name] = (gids[m] - a, stamps[m] * net.dt_ms)
    return out, t1 - t0, t2 - t1


def _distsim_mpirun(net, seed, t_sim_ms, ranks, name, overrides):
    import json
    import os
    import subprocess
    import sys
    import tempfile

    from distsim.recording.hdf5 import read_spikes

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sets = [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.h5")
        p = subprocess.run(["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "distsim", "run", name,
                            *sets, "--seed", str(seed), "--t-sim", str(t_sim_ms), "-o", path, "-q"],
                           capture_output=True, text=True, timeout=1800, cwd=root)
        if p.returncode != 0:
            raise RuntimeError(f"distsim on {ranks} ranks failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        if summary.get("n_ranks") != ranks:
            raise RuntimeError(f"ran on {summary.get('n_ranks')} ranks, not {ranks}")
        spikes = read_spikes(path)
    out = {}
    for pop, (a, _) in net.gid_ranges().items():
        gids, t = spikes[pop]
        out[pop] = (gids.astype(np.int64) - a, np.asarray(t, np.float64))
    return out, summary["build_time_s"], summary["sim_time_s"]


def rate_cv(spikes, sizes, t_start_ms, t_stop_ms, dt_ms, min_spikes=3):
    """dict population -> {"rate": spikes/s over (t_start, t_stop], "cv": mean ISI CV of the
    neurons with >= min_spikes spikes there} from :func:`network_spikes_nest`-style spikes."""
    from analysis.measures import mean_cv_isi, mean_rate
    from analysis.stats import in_window

    out = {}
    for name, (ids, t) in spikes.items():
        m = in_window(t, t_start_ms, t_stop_ms, dt_ms)
        out[name] = {"rate": mean_rate(ids[m], t[m], sizes[name], t_start_ms, t_stop_ms, dt_ms),
                     "cv": mean_cv_isi(ids[m], t[m], sizes[name], min_spikes=min_spikes)}
    return out


def within_spread(ours, ref, alpha=0.01):
    """Compare per-seed values of distsim (``ours``) with NEST's (``ref``, >= 2 seeds each).

    Returns a dict with the means and seed-to-seed standard deviations, the difference of the
    means ``diff``, its standard error ``se`` from the pooled seed-to-seed spread, ``t`` =
    diff / se, and ``ok``: the difference is within that spread (two-sample t-test, two-sided
    false-alarm rate ``alpha``; with 3 + 3 seeds |t| <= 4.60, with 5 + 5 |t| <= 3.36)."""
    from scipy.stats import t as student_t

    a, b = np.asarray(ours, float), np.asarray(ref, float)
    dof = a.size + b.size - 2
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / dof)
    se = float(pooled * np.sqrt(1 / a.size + 1 / b.size))
    d = float(a.mean() - b.mean())
    t = d / se if se > 0 else (0.0 if d == 0 else float("inf"))
    t_max = float(student_t.ppf(1 - alpha / 2, dof))
    return {"ours_mean": float(a.mean()), "ours_sd": float(a.std(ddof=1)), "ref_mean": float(b.mean()),
            "sd_ref": float(b.std(ddof=1)), "diff": d, "se": se, "t": t, "t_max": t_max, "ok": abs(t) <= t_max}


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
