"""Side-by-side runners for reference comparisons: a distsim Network built in NEST 3.10, and the
GIF population runs (distsim and NEST) that tests/validation/test_gif_nest.py and
scripts/gif_population.py compare.

Population activities use :func:`analysis.measures.population_activity` (the one binning
convention of :mod:`analysis.stats`). Times in ms, activities in spikes/s.
"""
from __future__ import annotations

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

    Populations with their model and parameters, projections with rule (``fixed_indegree``,
    ``all_to_all``, ...), mean weight and delay, and the step current generators (connected
    with delay dt). Other devices are not built.
    """
    nodes = {pop.name: nest.Create(pop.model, pop.n, params=pop.params) for pop in net.populations}
    for pr in net.projections:
        conn = {"rule": pr.rule}
        if pr.rule == "fixed_indegree":
            conn["indegree"] = pr.indegree
        nest.Connect(nodes[pr.source], nodes[pr.target], conn,
                     syn_spec={"weight": pr.weight, "delay": pr.delay_ms})
    for dv in net.devices:
        if dv.type == "step_current_generator":
            sc = nest.Create("step_current_generator", params={
                "amplitude_times": dv.params["amplitude_times_ms"],
                "amplitude_values": dv.params["amplitude_values_pA"]})
            for t in dv.targets:
                nest.Connect(sc, nodes[t], syn_spec={"weight": 1.0, "delay": net.dt_ms})
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
