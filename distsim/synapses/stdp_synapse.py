"""stdp_synapse: pair-based STDP with a multiplicative/additive weight dependence (Guetig et
al. 2003), NEST 3.10 semantics (models/stdp_synapse.h).

Per presynaptic spike at t (delivered at t + d; the whole delay d is dendritic):
1. facilitation: for each postsynaptic spike t_post in (t_last - d, t - d], in order,
   w <- facilitate(w, K_plus exp((t_last - (t_post + d)) / tau_plus)) with
   facilitate(w, k) = min(Wmax, Wmax (w/Wmax + lambda (1 - w/Wmax)^mu_plus k));
2. depression with the postsynaptic trace K_minus just before t - d (tau_minus is a
   parameter of the target neuron): w <- max(0, Wmax (w/Wmax - alpha lambda (w/Wmax)^mu_minus K_minus));
3. the spike is delivered with weight w; K_plus <- K_plus exp((t_last - t)/tau_plus) + 1,
   t_last <- t (K_plus starts at 0, t_last at 0 ms).

Storage: the parameters are the projection's (one value each); per synapse only the weight
(float64) and target; K_plus and t_last per source neuron (the same for all synapses of a
source in a projection); the spike history per target neuron.
"""
from ..spec.errors import SpecError
from .base import KIND_STDP, SynapseModel, SynParam, weight_range


class StdpSynapse(SynapseModel):
    """stdp_synapse with NEST's parameters and defaults."""

    name = "stdp_synapse"
    kind = KIND_STDP
    uses_post_history = True
    params = {
        "tau_plus": SynParam(20.0, "ms", "positive", "time constant of the presynaptic trace K_plus"),
        "lambda": SynParam(0.01, "", "finite", "step size"),
        "alpha": SynParam(1.0, "", "finite", "asymmetry of depression to facilitation"),
        "mu_plus": SynParam(1.0, "", "finite", "weight dependence exponent, facilitation"),
        "mu_minus": SynParam(1.0, "", "finite", "weight dependence exponent, depression"),
        "Wmax": SynParam(100.0, "weight unit", "finite", "maximum weight (same sign as the weight)"),
    }
    constants = ("tau_plus", "lambda", "alpha", "mu_plus", "mu_minus", "Wmax")

    @classmethod
    def check_relations(cls, field, p):
        if p["Wmax"] == 0.0:
            raise SpecError(f"{field}.Wmax", p["Wmax"], "must be nonzero (weights are scaled by it)")

    @classmethod
    def check_weight(cls, field, weight, p):
        lo, hi = weight_range(weight)
        if p["Wmax"] > 0 and lo < 0:
            raise SpecError(field, weight.to_raw(), f"must be >= 0: Wmax = {p['Wmax']} > 0 and NEST "
                                                    "requires weight and Wmax of the same sign")
        if p["Wmax"] < 0 and hi >= 0:
            raise SpecError(field, weight.to_raw(), f"must be < 0: Wmax = {p['Wmax']} < 0 and NEST "
                                                    "requires weight and Wmax of the same sign")
