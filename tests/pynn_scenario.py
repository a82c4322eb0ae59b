"""A small PyNN script run with any backend (``sim``): distsim.pynn serially, under mpirun,
and pyNN.nest for the deterministic part. ``python tests/pynn_scenario.py`` (under mpirun
too) prints the gathered result as JSON on rank 0."""
import json
import sys

import numpy as np


def run(sim, poisson=True, change=True, **setup_kw):
    """Spike sources (array, Poisson) into current- and conductance-based cells, a parameter
    change between runs; returns {name: spike trains / signals as lists} on rank 0."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=7, **setup_kw)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[2.0, 7.0, 12.0], [4.0], [9.5, 20.0]]), label="src")
    cuba = sim.Population(3, sim.IF_curr_exp(tau_m=12.0, cm=0.5, i_offset=0.1), label="cuba")
    coba = sim.Population(3, sim.IF_cond_exp(tau_m=15.0, tau_syn_E=2.0), label="coba")
    alpha = sim.Population(3, sim.IF_curr_alpha(tau_syn_E=1.0), label="alpha")
    sim.Projection(src, cuba, sim.OneToOneConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    sim.Projection(src, coba, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.08, delay=0.5))
    sim.Projection(src, alpha, sim.AllToAllConnector(), sim.StaticSynapse(weight=-1.0, delay=2.0),
                   receptor_type="inhibitory")
    sim.DCSource(amplitude=0.4, start=5.0, stop=20.0).inject_into(alpha)
    sim.StepCurrentSource(times=[3.0, 8.0, 8.05, 25.0], amplitudes=[0.3, 0.1, 0.6, 0.0]).inject_into(coba[1:])
    cuba.initialize(v=-60.0)
    for p in (src, cuba, coba, alpha):
        p.record("spikes")
    cuba.record("v")
    coba.record(["v", "gsyn_exc"])
    alpha.record("v")
    if poisson:
        poi = sim.Population(4, sim.SpikeSourcePoisson(rate=200.0), label="poi")
        sim.Projection(poi, cuba, sim.FixedProbabilityConnector(0.5), sim.StaticSynapse(weight=0.5, delay=1.0))
        poi.record("spikes")
    sim.run(15.0)
    if change:
        cuba.set(i_offset=0.9)
    sim.run(15.0)
    out = {}
    pops = [src, cuba, coba, alpha] + ([poi] if poisson else [])
    for p in pops:
        seg = p.get_data().segments[0]
        if sim.rank() == 0:
            trains = sorted(seg.spiketrains, key=lambda t: t.annotations["source_index"])
            out[p.label + ".spikes"] = [np.asarray(t.magnitude).tolist() for t in trains]
            for sig in seg.analogsignals:
                order = np.argsort(sig.array_annotations["channel_index"])
                out[f"{p.label}.{sig.name}"] = np.asarray(sig.magnitude)[:, order].tolist()
    sim.end()
    return out


if __name__ == "__main__":
    import distsim.pynn as sim
    result = run(sim, poisson="--no-poisson" not in sys.argv)
    if sim.rank() == 0:
        print(json.dumps(result, sort_keys=True))
