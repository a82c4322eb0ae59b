"""The in-process Python API in one page (README "Python API"); runs serially or as
``mpirun -n N python -m mpi4py scripts/api_example.py`` with the same output.

A small E/I network with Poisson drive and a spike source population: run 200 ms, raise
the excitatory neurons' I_e, run 200 ms more, read the rates of both halves, reset and
run again. Rank 0 prints one JSON line (``--out FILE.h5`` also writes the HDF5 file that
``distsim run -o`` would write).
"""
import argparse
import json

import numpy as np

import distsim


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="also write this HDF5 file")
    args = ap.parse_args(argv)

    net = distsim.Network(dt_ms=0.1, seed=args.seed, output=args.out, overwrite=True)
    E = net.create("E", "iaf_psc_exp", 400, tau_syn_ex=0.5, tau_syn_in=0.5,
                   V_m={"dist": "uniform", "low": -70.0, "high": -55.0})
    I = net.create("I", "iaf_psc_exp", 100, tau_syn_ex=0.5, tau_syn_in=0.5)
    S = net.create_spike_source("S", [[50.0, 50.0, 120.0]] * 10)  # 10 sources, the same train
    net.connect(E, E, "fixed_indegree", indegree=40, weight=87.8, delay_ms=1.5)
    net.connect(E, I, "fixed_indegree", indegree=40, weight=87.8, delay_ms=1.5)
    net.connect(I, E, "fixed_indegree", indegree=10, weight=-351.2, delay_ms=0.8)
    net.connect(I, I, "fixed_indegree", indegree=10, weight=-351.2, delay_ms=0.8)
    net.connect(S, E, "all_to_all", weight=50.0, delay_ms=1.0)
    net.add_device("poisson_generator", [E, I], rate_Hz=8000.0, weight=87.8)
    E.record("spikes")
    I.record("spikes")
    S.record("spikes")
    E.record("V_m", interval_ms=1.0, neuron_ids=[0, 1, 2])

    def rates(t0, t1):
        out = {}
        for p in (E, I):
            ids, t = p.get_spikes()
            out[p.name] = float(np.sum((t > t0) & (t <= t1))) / p.size / ((t1 - t0) * 1e-3)
        return out

    net.run(200.0)
    E.set(I_e=150.0)  # pA, from the next step on
    net.run(200.0)
    first = rates(0.0, 200.0), rates(200.0, 400.0)
    ids, t, v = E.get_samples("V_m")
    trains = S.spiketrains()
    g, ts = net.get_spikes()
    summary = {"rates_before": first[0], "rates_after": first[1], "n_spikes": int(g.size),
               "spikes_sha": distsim_hash(g, ts), "V_m_mean": float(v.mean()),
               "source_train_ms": trains[0].tolist(), "n_ranks": net.comm.size}
    net.close()  # finishes the HDF5 file, if any
    net.reset()  # t = 0, initial state; I_e stays 150 pA
    net.run(200.0)
    summary["rates_after_reset"] = rates(0.0, 200.0)
    summary["t_ms"] = net.t
    if net.comm.rank == 0:
        print(json.dumps(summary, sort_keys=True))


def distsim_hash(gids, times):
    """A short digest of the gathered spikes (equal for any number of ranks)."""
    import hashlib
    h = hashlib.sha256(np.ascontiguousarray(gids, np.int64).tobytes() + np.ascontiguousarray(times).tobytes())
    return h.hexdigest()[:16]


if __name__ == "__main__":
    main()
