"""Networks and scenarios of the in-process API (distsim.api), shared by tests/unit/test_api.py
(serial) and tests/mpi/test_api_mpi.py (the same scenarios on N ranks, compared with a
serial run)."""
import copy

import numpy as np

import distsim


def small_net(comm, seed=3, E_params=None, n_E=30, n_I=10, output=None):
    """Two neuron models, distributions, every rule kind, Poisson drive, a spike source
    population; spikes of every population and V_m of three E neurons recorded."""
    net = distsim.Network(dt_ms=0.1, seed=seed, comm=comm, output=output)
    E = net.create("E", "iaf_psc_exp", n_E, dict({"V_m": {"dist": "normal", "mean": -60.0, "std": 5.0},
                                                  "I_e": 200.0}, **(E_params or {})))
    I = net.create("I", "iaf_psc_alpha", n_I)
    net.connect(E, E, "fixed_indegree", indegree=5, weight={"dist": "normal", "mean": 60.0, "std": 6.0, "min": 0.0},
                delay_ms={"dist": "normal", "mean": 1.5, "std": 0.5, "min": 0.1})
    net.connect(E, I, "pairwise_bernoulli", p=0.3, weight=80.0, delay_ms=0.5)
    net.connect(I, E, "all_to_all", weight=-40.0, delay_ms=0.8)
    net.add_device("poisson_generator", [E, I], rate_Hz=9000.0, weight=30.0)
    S = net.create_spike_source("S", [[5.0, 7.5], [12.3], [12.3, 12.3]])
    net.connect(S, I, "all_to_all", weight=200.0, delay_ms=1.0)
    for p in (E, I, S):
        p.record("spikes")
    E.record("V_m", interval_ms=0.5, neuron_ids=[0, 3, n_E - 1])
    return net, E, I, S


def results(net, E):
    """What a scenario compares: gathered spikes, E's samples and its V_m now (every rank)."""
    g, t = net.get_spikes()
    ids, ts, v = E.get_samples()
    return {"gids": g, "times": t, "sample_ids": ids, "sample_times": ts, "samples": v, "V_m": E.get("V_m")}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def run_twice(comm):
    net, E, _, _ = small_net(comm)
    net.run(37.3)
    net.run(62.7)
    return results(net, E)


def run_once(comm):
    net, E, _, _ = small_net(comm)
    net.run(100.0)
    return results(net, E)


def set_between_runs(comm):
    """Run 50 ms, change E's tau_m, I_e (constant) and V_th (a distribution), run 50 ms more.
    Returns the results and the state at 50 ms (for a network built with the new values)."""
    net, E, _, _ = small_net(comm)
    net.run(50.0)
    state = copy.deepcopy(net.sim.state_dict())
    E.set(tau_m=7.0, I_e=260.0)
    net.run(50.0)
    return results(net, E), state


def reset_then_run(comm, change=None):
    """Run 60 ms, (optionally change parameters), reset, run 100 ms."""
    net, E, I, _ = small_net(comm)
    net.run(60.0)
    if change:
        change(E, I)
    net.reset()
    net.run(100.0)
    return results(net, E)


def tiny_populations(comm):
    """Populations of 1 and 2 neurons (fewer than ranks), a spike source of one node."""
    net = distsim.Network(dt_ms=0.1, seed=5, comm=comm)
    A = net.create("A", "iaf_psc_exp", 1, I_e=400.0)
    B = net.create("B", "iaf_psc_delta", 2)
    S = net.create_spike_source("S", [2.0, 4.0, 6.0])
    net.connect(A, B, "all_to_all", weight=20.0, delay_ms=1.0)
    net.connect(S, B, "all_to_all", weight=16.0, delay_ms=0.5)
    for p in (A, B, S):
        p.record("spikes")
    B.record("V_m", interval_ms=0.1)
    net.run(30.0)
    B.set(I_e=np.array([0.0, 390.0]))
    net.run(30.0)
    return results(net, B)


def sources_changed(comm):
    """Spike sources changed between runs (PyNN's ``Population.set(spike_times=...)``): a
    per-node source gets new trains, a Poisson source is switched on; a spike generator with
    a 3 ms delay has a spike in flight when its train changes; then reset and run again."""
    net = distsim.Network(dt_ms=0.1, seed=9, comm=comm)
    S = net.create_spike_source("S", [[5.0, 30.0], [12.0], []])
    P = net.create_poisson_source("P", 4, rate_Hz=0.0)
    D = net.create("D", "parrot_neuron", 1)
    dev = net.add_device("spike_generator", D, spike_times_ms=[19.0], weight=1.0, delay_ms=3.0)
    for p in (S, P, D):
        p.record("spikes")
    net.run(20.0)
    S.set(spike_times=[[25.0, 30.5], [], [21.0, 21.0]])
    P.set(rate_Hz=2000.0)
    net.set_device(dev, spike_times_ms=[25.0])
    net.run(20.0)
    out = {"trains_" + p.name: np.concatenate([np.full(len(t), i) for i, t in enumerate(p.spiketrains())] +
                                              [np.concatenate(p.spiketrains())])
           for p in (S, P, D)}
    net.reset()
    net.run(40.0)
    g, t = net.get_spikes()
    out["after_reset_gids"], out["after_reset_times"] = g, t
    return out
