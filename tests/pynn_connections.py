"""distsim.pynn connection features on any number of processes: PopulationView and Assembly
endpoints, FromList and FixedNumberPost connectors (drawn by PyNN, exchanged between ranks),
connection access (get list/array, len, a Connection's weight set before the run),
STDPMechanism, ACSource, and get_data with every cell's data on every rank (signal columns
in id order). ``run(sim)`` returns a dict; as a script rank 0 prints one JSON line
with every rank's result."""
import json

import numpy as np


def run(sim):
    from pyNN.random import NumpyRNG
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=5)
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[[2.0, 12.0], [4.0], [6.0, 16.0], [8.0]]), label="src")
    a = sim.Population(5, sim.IF_curr_exp(), label="a")
    b = sim.Population(3, sim.IF_curr_alpha(), label="b")
    c = sim.Population(3, sim.IF_cond_exp(), label="c")
    both = a + b  # an Assembly
    out = {}
    # FromList from a view onto an Assembly (a's and b's cells), weights per connection
    conns = [(0, 0, 0.5, 1.0), (1, 6, 0.02, 0.5), (1, 2, 0.7, 2.0), (0, 7, 0.03, 1.5), (1, 6, 0.01, 0.5)]
    p1 = sim.Projection(src[[1, 3]], both, sim.FromListConnector(conns, column_names=["weight", "delay"]),
                        sim.StaticSynapse())
    # FixedNumberPost with a parallel-safe RNG: the same on any number of processes
    p2 = sim.Projection(src, a[1:4], sim.FixedNumberPostConnector(2, rng=NumpyRNG(seed=3, parallel_safe=True)),
                        sim.StaticSynapse(weight=0.3, delay=1.0))
    # a rule projection (distsim draws it), then one connection changed before the run
    p3 = sim.Projection(a, c, sim.FixedProbabilityConnector(0.5), sim.StaticSynapse(weight=0.01, delay=0.7),
                        receptor_type="inhibitory")
    w3 = p3.get("weight", format="list", gather="all")
    out["p3.before"] = sorted(map(list, w3))
    p3.set(weight=np.arange(a.size * c.size, dtype=float).reshape(a.size, c.size) * 0.001 + 0.005)
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=15.0, A_plus=0.01, A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0), weight=1.0, delay=1.0)
    a[0:2].set(i_offset=np.array([2.0, 1.8]))  # a[0] and a[1] fire regularly: STDP between them
    p4 = sim.Projection(a[0:1], a[1:2], sim.AllToAllConnector(), stdp)
    ac = sim.ACSource(start=5.0, stop=25.0, amplitude=0.4, offset=0.1, frequency=50.0, phase=30.0)
    b[2:3].inject(ac)
    for p in (p1, p2):
        out[p.label + ".list"] = sorted(map(list, p.get(["weight", "delay"], format="list", gather="all")))
    out["sizes"] = [p1.size(), p2.size(), p3.size()]
    a.record(["spikes", "v"])
    b.record("v")
    c.record("gsyn_inh")
    sim.run(60.0)
    out["p4.weight"] = [list(c) for c in p4.get("weight", format="list", gather="all")]
    out["a.spikes"] = [np.asarray(t.magnitude).tolist() for t in a.get_data().segments[0].spiketrains]
    out["a.v"] = np.asarray(a.get_data().segments[0].filter(name="v")[0].magnitude).round(9).tolist()
    out["c.gsyn_inh"] = np.asarray(c.get_data().segments[0].filter(name="gsyn_inh")[0].magnitude).round(12).tolist()
    out["p3.after"] = sorted(map(list, p3.get("weight", format="list", gather="all")))
    out["b.v"] = np.asarray(b.get_data().segments[0].filter(name="v")[0].magnitude).round(9).tolist()
    sim.end()
    return out


if __name__ == "__main__":
    import distsim.pynn as sim
    from distsim.comm import get_comm
    text = json.dumps(run(sim), sort_keys=True)
    texts = get_comm().allgather(text)  # every rank's data (one line from rank 0: no interleaving)
    if get_comm().rank == 0:
        print(json.dumps({"ranks": [json.loads(t) for t in texts]}, sort_keys=True))
