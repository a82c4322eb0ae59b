"""PyNN's MPI trouble cases on distsim.pynn (PyNN issues 836, 767, 249): a population with
fewer cells than processes, recording a SpikeSourceArray, spike trains gathered in id
order, and ``Population.set(spike_times=...)`` between runs. Prints JSON on rank 0; run
under mpirun with any number of processes for the same output."""
import json

import numpy as np

import distsim.pynn as sim

sim.setup(timestep=0.1, rng_seed=11)
src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 3.0], [2.0]]), label="src")
one = sim.Population(1, sim.IF_curr_exp(i_offset=2.0), label="one")
big = sim.Population(7, sim.IF_curr_exp(), label="big")
sim.Projection(src, big, sim.AllToAllConnector(), sim.StaticSynapse(weight=4.0, delay=1.0))
sim.Projection(one, big, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.5))
for p in (src, one, big):
    p.record("spikes")
sim.run(10.0)
src.set(spike_times=[[12.0, 14.0], [15.5, 16.0, 18.0]])
sim.run(15.0)
out = {}
for p in (src, one, big):
    trains = p.get_data().segments[0].spiketrains
    if sim.rank() == 0:
        out[p.label] = [[float(t.annotations["source_index"]), np.asarray(t.magnitude).tolist()] for t in trains]
if sim.rank() == 0:
    print(json.dumps(out, sort_keys=True))
sim.end()
