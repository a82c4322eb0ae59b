"""parrot_neuron: repeats the spikes it receives (NEST), e.g. to make spike generators a
population that can be recorded and connected like neurons.

Every step it emits as many spikes (one record with that multiplicity) as reached it
(excitatory input) in that step: an input spike in step s leaves the parrot stamped s + 1,
the end of that step, as NEST's parrot_neuron does. NEST ignores the weight of a connection
into a parrot and counts spikes; distsim sums weights, so connect to a parrot with weight 1
(``distsim.Network.create_spike_source`` does) -- the count is the rounded sum of
excitatory input. Inhibitory (negative) input is ignored. No parameters; recordable: ``n_events``
(spikes emitted in the last step).
"""
import numpy as np
from numba import njit

from .base import NeuronModel, Var


@njit(inline="always", cache=True)
def parrot_neuron_neuron(j, S, p, x):
    """Spikes of neuron j this step: the (rounded) excitatory input count."""
    n = x.rex[j] + x.pex[j]
    k = np.int64(n + 0.5) if n >= 0.5 else np.int64(0)
    S.n_events[j] = k
    return k


class ParrotNeuron(NeuronModel):
    """parrot_neuron (NEST): no parameters, repeats its input spikes."""

    name = "parrot_neuron"
    weight_unit = "spikes (use 1)"
    params = {}
    recordables = {"n_events": "spikes"}  # spikes emitted in the last step
    record_from_state = {"n_events": "n_events"}
    emits_multiplicity = True
    state = {"n_events": Var("spikes"), "i0": Var("pA")}  # i0: current input, no effect
    derived = ()
    neuron = parrot_neuron_neuron
    relations = ()

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """No parameters, no relations."""

    @classmethod
    def known_params(cls):
        """None (NEST's parrot_neuron has no parameters)."""
        return []
