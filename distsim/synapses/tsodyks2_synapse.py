"""tsodyks2_synapse: short-term depression and facilitation (Tsodyks & Markram 1997,
Fuhrmann et al. 2002, Maass & Markram 2002 eqs. 4-5), NEST 3.10 semantics
(models/tsodyks2_synapse.h).

Per presynaptic spike at t, if there was one before (at t_last, h = t - t_last):
x <- 1 + (x - x u - 1) exp(-h/tau_rec), u <- U + u (1 - U) exp(-h/tau_fac) (tau_fac = 0: no
facilitation, u <- U); the spike is delivered with weight x u w. The initial u and x are
parameters (NEST's defaults u = U = 0.5, x = 1).

Storage: U, u, x, tau_rec, tau_fac are the projection's, so u, x and t_last evolve the same
for every synapse of a source: they are kept per source neuron; per synapse only target and
weight.
"""
from .base import KIND_TSODYKS2, SynapseModel, SynParam


class Tsodyks2Synapse(SynapseModel):
    """tsodyks2_synapse with NEST's parameters and defaults."""

    name = "tsodyks2_synapse"
    kind = KIND_TSODYKS2
    params = {
        "U": SynParam(0.5, "", "unit_open", "increment of the release probability u"),
        "u": SynParam(0.5, "", "unit", "initial release probability"),
        "x": SynParam(1.0, "", "unit", "initial fraction of available resources"),
        "tau_rec": SynParam(800.0, "ms", "positive", "recovery time constant"),
        "tau_fac": SynParam(0.0, "ms", "nonneg", "facilitation time constant (0: none)"),
    }
    constants = ("U", "tau_rec", "tau_fac")
