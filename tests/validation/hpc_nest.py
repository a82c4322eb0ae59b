"""NEST 3.10's hpc_benchmark network (pynest/examples/hpc_benchmark.py), built from the same
derived parameters as distsim's built-in (distsim.networks.hpc_benchmark), for side-by-side
runs: rates and E->E weight statistics, build and simulation time."""
import time

import numpy as np


def vm_hwm_bytes():
    """Peak resident memory of this process so far (bytes; VmHWM of /proc/self/status)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def weight_stats(chunks):
    """(n, mean, population sd) of weights given as a list of float64 arrays (two passes,
    no concatenation: bounded memory at scale 1)."""
    n = sum(c.size for c in chunks)
    mean = sum(float(c.sum()) for c in chunks) / n
    var = sum(float(((c - mean) ** 2).sum()) for c in chunks) / n
    return n, mean, float(np.sqrt(var))


def run_nest_hpc(nest, scale, indegree_scale, t_sim_ms, seed, threads=1, t_presim_ms=0.0):
    """dict: rate_E, rate_I (spikes/s over t_sim after t_presim), w_mean, w_sd (E->E, pA),
    build_s, presim_s, sim_s, n_synapses, peak_rss_bytes (this process's peak before the
    weights are read out: the simulation's memory, as in distsim's summary)."""
    from distsim.networks.hpc_benchmark import NEURON, derive

    P = derive(scale, 1.685, 0.14, indegree_scale)
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    t0 = time.perf_counter()
    params = dict(NEURON, tau_minus=30.0)
    E = nest.Create("iaf_psc_alpha", P["NE"], params=params)
    I = nest.Create("iaf_psc_alpha", P["NI"], params=params)
    E.V_m = nest.random.normal(5.7, 7.2)
    I.V_m = nest.random.normal(5.7, 7.2)
    stim = nest.Create("poisson_generator", params={"rate": P["p_rate"]})
    nest.SetDefaults("static_synapse_hpc", {"delay": 1.5})
    nest.CopyModel("static_synapse_hpc", "syn_ex", {"weight": P["JE_pA"]})
    nest.CopyModel("static_synapse_hpc", "syn_in", {"weight": -5.0 * P["JE_pA"]})
    nest.SetDefaults("stdp_pl_synapse_hom_hpc", {"delay": 1.5, "alpha": 0.0513, "lambda": 0.1, "mu": 0.4,
                                                 "tau_plus": 15.0, "weight": P["JE_pA"]})
    nest.Connect(stim, E, "all_to_all", {"synapse_model": "syn_ex"})
    nest.Connect(stim, I, "all_to_all", {"synapse_model": "syn_ex"})
    rule = {"rule": "fixed_indegree", "allow_autapses": False, "allow_multapses": True}
    nest.Connect(E, E, dict(rule, indegree=P["CE"]), {"synapse_model": "stdp_pl_synapse_hom_hpc"})
    nest.Connect(I, E, dict(rule, indegree=P["CI"]), {"synapse_model": "syn_in"})
    nest.Connect(E, I, dict(rule, indegree=P["CE"]), {"synapse_model": "syn_ex"})
    nest.Connect(I, I, dict(rule, indegree=P["CI"]), {"synapse_model": "syn_in"})
    sr = nest.Create("spike_recorder", params={"start": t_presim_ms})
    nest.Connect(E + I, sr)
    nest.Prepare()
    nest.Cleanup()
    build = time.perf_counter() - t0
    presim = 0.0
    if t_presim_ms:
        t0 = time.perf_counter()
        nest.Simulate(t_presim_ms)
        presim = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Simulate(t_sim_ms)
    sim = time.perf_counter() - t0
    peak = vm_hwm_bytes()
    s = np.asarray(sr.events["senders"])
    # E->E weights by blocks of sources: GetConnections().get() costs ~3 kB per connection
    # while it runs (measured: 0.57 GB for 0.2 M), so all 81 M synapses of scale 1 at once
    # would need far more memory than the simulation
    step = max(1, 250_000 // P["CE"])  # sources per block (each has CE E targets on average)
    chunks = [np.atleast_1d(np.asarray(nest.GetConnections(E[a:min(a + step, len(E))], E).get("weight"), dtype=float))
              for a in range(0, len(E), step)]
    _, w_mean, w_sd = weight_stats(chunks)
    T = t_sim_ms * 1e-3
    return {"rate_E": np.isin(s, E.tolist()).sum() / P["NE"] / T,
            "rate_I": np.isin(s, I.tolist()).sum() / P["NI"] / T,
            "w_mean": w_mean, "w_sd": w_sd, "build_s": build, "presim_s": presim, "sim_s": sim,
            "n_synapses": nest.num_connections, "peak_rss_bytes": peak}


def run_ours_hpc(scale, indegree_scale, t_sim_ms, seed, t_presim_ms=0.0):
    """The same dict for distsim (serial)."""
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.networks.hpc_benchmark import hpc_benchmark
    from distsim.recording import MemoryRecorder

    net = hpc_benchmark(scale=scale, indegree_scale=indegree_scale)
    t0 = time.perf_counter()
    sim = Simulation(net, seed=seed, comm=SerialComm())
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    if t_presim_ms:
        sim.run(t_presim_ms)
    rec = MemoryRecorder()
    sim.set_recorder(rec)
    sim.run(t_sim_ms)
    simt = time.perf_counter() - t0
    g, _ = rec.gather_spikes(SerialComm())
    NE = net.population("E").n
    T = t_sim_ms * 1e-3
    w = sim.plastic.tables[0].w
    return {"rate_E": (g < NE).sum() / NE / T, "rate_I": (g >= NE).sum() / net.population("I").n / T,
            "w_mean": float(w.mean()), "w_sd": float(w.std()), "build_s": build, "sim_s": simt,
            "n_synapses": sim.info()["n_synapses"], "synapse_bytes": sim.info()["synapse_bytes"],
            "plastic_bytes": sim.plastic.tables[0].synapse_nbytes, "n_plastic": sim.plastic.tables[0].n}


if __name__ == "__main__":  # python tests/validation/hpc_nest.py SCALE INDEGREE_SCALE T_MS [SEEDS...]
    import json
    import sys

    import nest

    sc, ks, t = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    for s in [int(x) for x in sys.argv[4:]] or [1, 2, 3]:
        print(json.dumps({"simulator": "nest", "seed": s, **run_nest_hpc(nest, sc, ks, t, s)}, default=float))
        print(json.dumps({"simulator": "distsim", "seed": s, **run_ours_hpc(sc, ks, t, s)}, default=float))
