"""stdp_pl_synapse_hom: STDP with power-law potentiation (Morrison et al. 2007), parameters
shared by all synapses of the projection, NEST 3.10 semantics (models/stdp_pl_synapse_hom.h).

Per presynaptic spike at t (the whole delay d dendritic): for each postsynaptic spike
t_post in (t_last - d, t - d], w <- w + lambda w^mu K_plus exp((t_last - (t_post + d))/tau_plus);
then w <- max(0, w - lambda alpha w K_minus(t - d)) with K_minus the target's trace just
before t - d (tau_minus: a parameter of the target neuron); the spike is delivered with w;
K_plus <- K_plus exp((t_last - t)/tau_plus) + 1, t_last <- t.

Storage per synapse: uint32 target + float64 weight (12 bytes; the delay once per projection
when it is a constant); K_plus and t_last per source neuron, the spike history per target.
"""
from ..spec.errors import SpecError
from .base import KIND_STDP_PL_HOM, SynapseModel, SynParam, weight_range


class StdpPlSynapseHom(SynapseModel):
    """stdp_pl_synapse_hom with NEST's parameters and defaults."""

    name = "stdp_pl_synapse_hom"
    kind = KIND_STDP_PL_HOM
    uses_post_history = True
    params = {
        "tau_plus": SynParam(20.0, "ms", "positive", "time constant of the presynaptic trace K_plus"),
        "lambda": SynParam(0.1, "", "finite", "learning rate"),
        "alpha": SynParam(1.0, "", "finite", "asymmetry of depression to facilitation"),
        "mu": SynParam(0.4, "", "finite", "weight dependence exponent of potentiation"),
    }
    constants = ("tau_plus", "lambda", "alpha", "mu")

    @classmethod
    def check_weight(cls, field, weight, p):
        lo, _ = weight_range(weight)
        if lo < 0:
            raise SpecError(field, weight.to_raw(), "must be >= 0: stdp_pl_synapse_hom takes w^mu "
                                                    "(excitatory weights only)")
