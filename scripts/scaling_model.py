"""A scaling model of the full-scale microcircuit from measured per-rank costs.

    .venv/bin/python scripts/scaling_model.py [--alltoallv scripts/results/alltoallv.json]
                                              [--out scripts/results/scaling_model.json]

1. Measures, in one process on the microcircuit at N_scaling=0.1 (K_scaling=1): the neuron
   update cost per neuron-step (c_u), the delivery cost per synaptic event (c_d), and the
   Python/loop overhead per step outside the kernels and the exchange (o).
2. Reads the Alltoall+Alltoallv exchange cost measured by ``bench_alltoallv.py`` and fits
   t_ex(P) = a + b log2(P) to it (MPICH uses logarithmic algorithms for small messages).
3. Predicts, for P = 2 ... 1024 ranks and the full-scale network (N = 77,169 neurons,
   S = 2.99e8 synapses, events per second E and spikes per step from the measured rates):
     t_step(P) = c_u N/P + c_d E dt / P + o + t_ex(P)      (seconds per 0.1 ms step)
     RTF(P)    = t_step(P) / dt
     mem(P)    = m0 + 9 S/P + 8 N + 2 * 8 (mean delay) E dt / P + 2 * 8 N/P + 56 N/P
                 (bytes per rank: process, synapses, row pointers, event lists, input rows, state)
   and prints a markdown table (also written as JSON).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure_costs(t_ms=300.0):
    """(c_u ns per neuron-step, c_d ns per event, o us per step, spikes/neuron/s, events per spike)."""
    import distsim.engine.events as E
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.networks.microcircuit import microcircuit

    sim = Simulation(microcircuit(N_scaling=0.1, record_spikes=False), seed=1, comm=SerialComm())
    sim.run(200.0)  # warm-up (and compile)
    acc = {"update": 0.0, "deliver": 0.0}
    deliver0, scatter0 = E.deliver, E.scatter

    def timed(f):
        def g(*a):
            t = time.perf_counter()
            r = f(*a)
            acc["deliver"] += time.perf_counter() - t
            return r
        return g
    # delivery = appending events to the lists + scattering them into the input rows
    E.deliver, E.scatter = timed(deliver0), timed(scatter0)
    g = sim.groups[0]
    upd0 = g.model.update

    def timed_update(*a):
        t = time.perf_counter()
        r = upd0(*a)
        acc["update"] += time.perf_counter() - t
        return r
    g.model = type("M", (g.model,), {"update": staticmethod(timed_update)})  # same model, timed
    ev0, sp0, step0 = sim.n_events, sim.n_spikes, sim.step
    t = time.perf_counter()
    sim.run(t_ms)
    wall = time.perf_counter() - t
    E.deliver, E.scatter = deliver0, scatter0
    steps = sim.step - step0
    events = sim.n_events - ev0
    spikes = sim.n_spikes - sp0
    c_u = acc["update"] / (steps * sim.n_local) * 1e9
    c_d = acc["deliver"] / max(events, 1) * 1e9
    o = (wall - acc["update"] - acc["deliver"]) / steps * 1e6
    rate = spikes / sim.n_neurons / (t_ms * 1e-3)
    return c_u, c_d, o, rate, events / max(spikes, 1)


def main(argv=None):
    """Measure, fit and print the prediction table; returns 0."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--alltoallv", default=os.path.join(ROOT, "scripts", "results", "alltoallv.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "results", "scaling_model.json"))
    ap.add_argument("--hop-us", type=float, default=3.0,
                    help="exchange cost added per doubling of ranks (us; ~2 x 1.5 us latency "
                         "of Alltoall + Alltoallv on an InfiniBand-class network)")
    ap.add_argument("--baseline-mb", type=float, default=None,
                    help="per-rank memory of an empty distsim process (MB); measured if omitted")
    ap.add_argument("--repeats", type=int, default=5,
                    help="measurements of the per-rank costs; their medians are used (default 5)")
    a = ap.parse_args(argv)
    import resource
    runs = np.array([measure_costs() for _ in range(max(1, a.repeats))])
    c_u, c_d, o, rate_meas, ev_per_spike = np.median(runs, axis=0)
    print(f"per-rank costs over {len(runs)} runs (median, min-max): "
          f"c_u {c_u:.2f} ({runs[:, 0].min():.2f}-{runs[:, 0].max():.2f}) ns, "
          f"c_d {c_d:.2f} ({runs[:, 1].min():.2f}-{runs[:, 1].max():.2f}) ns, "
          f"o {o:.1f} ({runs[:, 2].min():.1f}-{runs[:, 2].max():.1f}) us")
    # per-rank memory of a distsim process with its kernels loaded, before the network
    m0 = (a.baseline_mb * 1e6) if a.baseline_mb else 218e6
    N, S_full, dt = 77169, 2.9888e8, 1e-4
    rate = 3.2  # full-scale mean rate (spikes/s) measured with distsim at N_scaling=1
    E = rate * N * S_full / N  # events per second: every spike reaches the mean out-degree
    D_MEAN = 15  # mean delay in steps (excitatory 1.5 ms): how long an event waits in its list
    ex = json.load(open(a.alltoallv))
    # oversubscribed runs (more ranks than cores) time the OS scheduler, not MPI: use only
    # rank counts that fit the cores, and a logarithmic growth per doubling (MPICH's
    # Bruck/recursive algorithms for small messages) with a per-hop cost of --hop-us
    ex = [d for d in ex if d["ranks"] <= (os.cpu_count() or 2)]
    P_meas = np.array([d["ranks"] for d in ex], float)
    spk_per_step = rate * N * dt
    t_meas = []
    for d in ex:  # interpolate the exchange time at the full-scale message size
        sizes = np.array([float(k) for k in d["us_per_exchange"]])
        ts = np.array(list(d["us_per_exchange"].values()))
        t_meas.append(np.interp(24.0 * spk_per_step / d["ranks"], sizes, ts))
    t_meas = np.array(t_meas)
    b = a.hop_us
    a0 = float(np.mean(t_meas - b * np.log2(P_meas)))
    rows = []
    for P in [2 ** k for k in range(1, 11)]:
        t_ex = max(a0 + b * math.log2(P), float(t_meas.min())) * 1e-6
        upd = c_u * 1e-9 * N / P
        dlv = c_d * 1e-9 * E * dt / P
        t_step = upd + dlv + o * 1e-6 + t_ex
        # synapse tables, row pointers, event lists (8 B an event in flight, x2 for bursts),
        # input rows and neuron state
        mem = m0 + 9.0 * S_full / P + 8.0 * N + 2 * 8.0 * D_MEAN * E * dt / P + 2 * 8.0 * N / P + 56.0 * N / P
        rows.append({"ranks": P, "update_us": upd * 1e6, "deliver_us": dlv * 1e6, "overhead_us": o,
                     "exchange_us": t_ex * 1e6, "rtf": t_step / dt, "mem_per_rank_GB": mem / 1e9,
                     "comm_share": t_ex / t_step})
    res = {"c_u_ns_per_neuron_step": c_u, "c_d_ns_per_event": c_d, "overhead_us_per_step": o,
           "baseline_bytes": m0, "measured_rate_N0.1": rate_meas, "exchange_fit_us": [a0, b],
           "exchange_measured_us": dict(zip(map(int, P_meas), t_meas.tolist())), "rows": rows}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    print(f"c_u = {c_u:.2f} ns/neuron-step, c_d = {c_d:.2f} ns/event, overhead {o:.1f} us/step, "
          f"baseline {m0 / 1e6:.0f} MB/rank, exchange {a0:.1f} + {b:.1f} log2(P) us")
    print("| ranks | update (us/step) | delivery (us/step) | overhead | exchange | RTF | memory/rank (GB) | comm share |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ranks']} | {r['update_us']:.1f} | {r['deliver_us']:.1f} | {r['overhead_us']:.1f} | "
              f"{r['exchange_us']:.1f} | {r['rtf']:.2f} | {r['mem_per_rank_GB']:.3f} | {100 * r['comm_share']:.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
