"""The reference models in NEST 3.10, built from the same derived parameters as distsim's.

    python scripts/nest_reference.py brunel --threads 2 --t-sim 1000 [--order 2500 --g 5 --eta 2]
    python scripts/nest_reference.py microcircuit --threads 2 --N-scaling 0.1 --t-presim 500 --t-sim 1000
    python scripts/nest_reference.py coba --threads 2 --t-sim 1000
        [--record OUT.npz]

Prints one JSON line: build_time_s, presim_time_s, sim_time_s, rtf, peak_rss_bytes,
n_synapses, n_neurons, n_spikes (recorded part). With ``--record`` the spikes of every
population (gid within the network, time in ms) go to an .npz file for validation.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def peak_rss_bytes():
    """Peak resident memory of this process (bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_brunel(nest, order, g, eta, J=0.1, delay=1.5, epsilon=0.1):
    """Brunel network as NEST's brunel_delta_nest.py; returns the list of populations."""
    from distsim.networks.brunel_params import derive

    P = derive(order=order, g=g, eta=eta, J=J, delay=delay, epsilon=epsilon)
    params = dict(P["neuron_params"])
    E = nest.Create("iaf_psc_delta", P["NE"], params=params)
    I = nest.Create("iaf_psc_delta", P["NI"], params=params)
    noise = nest.Create("poisson_generator", params={"rate": P["p_rate"]})
    ex = {"synapse_model": "static_synapse", "weight": P["J_ex"], "delay": delay}
    inh = {"synapse_model": "static_synapse", "weight": P["J_in"], "delay": delay}
    nest.Connect(noise, E + I, syn_spec=ex)
    nest.Connect(E, E + I, {"rule": "fixed_indegree", "indegree": P["CE"]}, ex)
    nest.Connect(I, E + I, {"rule": "fixed_indegree", "indegree": P["CI"]}, inh)
    return [("E", E), ("I", I)]


def build_microcircuit(nest, N_scaling, K_scaling=1.0, poisson_input=True):
    """The microcircuit as NEST's Potjans_2014 example; returns the list of populations."""
    from distsim.networks.microcircuit_params import derive

    P = derive(N_scaling=N_scaling, K_scaling=K_scaling, poisson_input=poisson_input)
    res = nest.resolution
    pops = []
    for i, name in enumerate(P["populations"]):
        params = dict(P["neuron_params"])
        params["I_e"] = float(P["DC_amp"][i])
        pop = nest.Create("iaf_psc_exp", int(P["num_neurons"][i]), params=params)
        pop.V_m = nest.random.normal(mean=float(P["V0_mean"][i]), std=float(P["V0_std"][i]))
        pops.append((name, pop))
    for i, (_, tgt) in enumerate(pops):
        for j, (_, src) in enumerate(pops):
            n_syn = int(P["num_synapses"][i][j])
            if n_syn <= 0:
                continue
            w_mean = float(P["weight_matrix_mean"][i][j])
            w_sd = abs(w_mean * P["weight_rel_std"])
            w_min, w_max = (0.0, np.inf) if w_mean >= 0 else (-np.inf, 0.0)
            d_mean = float(P["delay_matrix_mean"][i][j])
            d_sd = d_mean * P["delay_rel_std"]
            syn = {"synapse_model": "static_synapse",
                   "weight": nest.math.redraw(nest.random.normal(mean=w_mean, std=w_sd), min=w_min, max=w_max),
                   "delay": nest.math.redraw(nest.random.normal(mean=d_mean, std=d_sd), min=res - 0.5 * res, max=np.inf)}
            nest.Connect(src, tgt, {"rule": "fixed_total_number", "N": n_syn,
                                    "allow_autapses": True, "allow_multapses": True}, syn)
    if poisson_input:
        for i, (_, pop) in enumerate(pops):
            pg = nest.Create("poisson_generator", params={"rate": float(P["poisson_rates"][i])})
            nest.Connect(pg, pop, "all_to_all", {"weight": P["weight_ext"], "delay": P["delay_poisson"]})
    return pops


def build_coba(nest):
    """distsim's built-in ``coba`` at its defaults, built by tests/nest_builders.build_in_nest
    (recording off); returns the list of populations."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
    from nest_builders import build_in_nest

    from distsim.networks.coba import coba

    nodes = build_in_nest(nest, coba(record_spikes=False))
    return [("E", nodes["E"]), ("I", nodes["I"])]


def main(argv=None):
    """Run one NEST reference simulation and print its JSON summary line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["brunel", "microcircuit", "coba"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--t-presim", type=float, default=0.0)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--order", type=int, default=2500)
    ap.add_argument("--g", type=float, default=5.0)
    ap.add_argument("--eta", type=float, default=2.0)
    ap.add_argument("--N-scaling", type=float, default=0.1)
    ap.add_argument("--K-scaling", type=float, default=1.0)
    ap.add_argument("--record", help="write recorded spikes to this .npz")
    a = ap.parse_args(argv)
    import nest

    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = 0.1
    nest.local_num_threads = a.threads
    nest.rng_seed = a.seed
    t0 = time.perf_counter()
    if a.model == "brunel":
        pops = build_brunel(nest, a.order, a.g, a.eta)
    elif a.model == "coba":
        pops = build_coba(nest)
    else:
        pops = build_microcircuit(nest, a.N_scaling, a.K_scaling)
    recs = []
    if a.record:
        for name, pop in pops:
            sr = nest.Create("spike_recorder", params={"start": a.t_presim})
            nest.Connect(pop, sr)
            recs.append((name, pop, sr))
    nest.Prepare()  # connection infrastructure is finalised here: part of the build
    nest.Cleanup()
    build = time.perf_counter() - t0
    n_syn = nest.num_connections
    t1 = time.perf_counter()
    if a.t_presim > 0:
        nest.Simulate(a.t_presim)
    t2 = time.perf_counter()
    nest.Simulate(a.t_sim)
    t3 = time.perf_counter()
    out = {"simulator": "NEST " + nest.__version__, "threads": a.threads,
           "n_neurons": int(sum(len(p) for _, p in pops)), "n_synapses": int(n_syn),
           "build_time_s": build, "presim_time_s": t2 - t1, "sim_time_s": t3 - t2,
           "rtf": (t3 - t2) / (a.t_sim * 1e-3), "peak_rss_bytes": peak_rss_bytes(),
           "n_spikes": int(nest.local_spike_counter), "t_sim_ms": a.t_sim}  # spikes of the last Simulate
    if a.record:
        arrays = {}
        first = min(int(p[0].global_id) for _, p in pops)
        for name, pop, sr in recs:
            ev = sr.events
            arrays[f"{name}_gids"] = np.asarray(ev["senders"], np.int64) - first
            arrays[f"{name}_times"] = np.asarray(ev["times"], np.float64)
            arrays[f"{name}_range"] = np.array([int(pop[0].global_id) - first, int(pop[-1].global_id) - first + 1])
        np.savez(a.record, **arrays)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
