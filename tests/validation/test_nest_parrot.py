"""parrot_neuron side by side with NEST 3.10: spike generators behind parrots (one train per
node, repeated times giving multiplicity, a Poisson-free chain parrot -> parrot and a neuron
driven through a parrot) give the same spike times and V_m."""
import numpy as np
import pytest

import distsim
from distsim.comm import SerialComm

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

H = 0.1
TRAINS = [[1.0, 2.0, 2.0, 7.3], [], [0.1, 3.3, 3.4, 9.9]]


def test_parrots_fed_by_spike_generators_equal_nest():
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = H
    gens = nest.Create("spike_generator", len(TRAINS), params=[{"spike_times": t} for t in TRAINS])
    parrots = nest.Create("parrot_neuron", len(TRAINS))
    second = nest.Create("parrot_neuron", len(TRAINS))
    nrn = nest.Create("iaf_psc_exp", params={"V_m": -70.0})
    nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": H})
    nest.Connect(parrots, second, "one_to_one", syn_spec={"delay": 0.5})
    nest.Connect(parrots, nrn, "all_to_all", syn_spec={"delay": 1.0, "weight": 300.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(parrots + second, rec)
    vm = nest.Create("voltmeter", params={"interval": H})
    nest.Connect(vm, nrn)
    nest.Simulate(15.0)
    ev = rec.events
    first_gid = parrots[0].global_id
    nest_ids = np.asarray(ev["senders"]) - first_gid
    nest_t = np.asarray(ev["times"])
    o = np.lexsort((nest_t, nest_ids))

    net = distsim.Network(dt_ms=H, seed=1, comm=SerialComm())
    P = net.create_spike_source("P", TRAINS)
    Q = net.create("Q", "parrot_neuron", len(TRAINS))
    N = net.create("N", "iaf_psc_exp", 1, V_m=-70.0)
    net.connect(P, Q, "one_to_one", weight=1.0, delay_ms=0.5)
    net.connect(P, N, "all_to_all", weight=300.0, delay_ms=1.0)
    P.record("spikes")
    Q.record("spikes")
    N.record("V_m", interval_ms=H)
    net.run(15.0)
    g, t = net.get_spikes()
    assert g.size == 16  # each of the 8 given spikes twice: first and second parrots
    assert np.array_equal(g, nest_ids[o])
    np.testing.assert_allclose(t, nest_t[o], rtol=0, atol=1e-12)
    _, ts, v = N.get_samples()
    nt = np.asarray(vm.events["times"])  # NEST samples up to 14.9 ms, distsim up to 15.0
    assert np.allclose(ts[:nt.size], nt)
    np.testing.assert_allclose(v[:nt.size, 0], np.asarray(vm.events["V_m"]), rtol=1e-14, atol=1e-12)
    assert v[:nt.size, 0].max() > -65.0  # the parrots' spikes reached the neuron
