"""Projection of the distsim PyNN backend: PyNN's connectors mapped onto distsim's rules
(the connections are drawn by distsim, from streams keyed by the seed: any number of MPI
processes gives the same network, but not NEST's or another backend's connections)."""
from pyNN import common, connectors, errors
from pyNN.random import RandomDistribution
from pyNN.space import Space

from . import simulator
from .populations import Population
from .standardmodels import StaticSynapse


def _rule(connector, same):
    """(distsim rule, its parameters) of a PyNN connector."""
    auto = {"allow_autapses": bool(getattr(connector, "allow_self_connections", True))} if same else {}
    if isinstance(connector, connectors.AllToAllConnector):
        return "all_to_all", auto
    if isinstance(connector, connectors.OneToOneConnector):
        return "one_to_one", {}
    if isinstance(connector, connectors.FixedProbabilityConnector):
        return "pairwise_bernoulli", dict(auto, p=connector.p_connect)
    if isinstance(connector, connectors.FixedNumberPreConnector) and isinstance(connector.n, int):
        return "fixed_indegree", dict(auto, indegree=connector.n, allow_multapses=bool(connector.with_replacement))
    if isinstance(connector, connectors.FixedTotalNumberConnector) and connector.with_replacement:
        return "fixed_total_number", dict(auto, n_total=int(connector.n))
    raise NotImplementedError(f"{type(connector).__name__} (with these arguments) is not available in distsim")


def _value(lazy, scale, sign=1.0, default=None):
    """A distsim value (number or distribution) of a synaptic parameter, times ``scale * sign``."""
    base = lazy.base_value if hasattr(lazy, "base_value") else lazy
    if getattr(lazy, "operations", None):
        raise NotImplementedError("distsim: weights and delays must be numbers or RandomDistributions")
    if base is None:
        return default
    k = scale * sign
    if isinstance(base, RandomDistribution):
        p = base.parameters
        if base.name == "uniform":
            lo, hi = sorted((p["low"] * k, p["high"] * k))
            return {"dist": "uniform", "low": lo, "high": hi}
        if base.name in ("normal", "normal_clipped"):
            d = {"dist": "normal", "mean": p["mu"] * k, "std": abs(p["sigma"] * k)}
            if base.name == "normal_clipped":
                lo, hi = sorted((p["low"] * k, p["high"] * k))
                d.update({"min": lo, "max": hi})
            return d
        raise NotImplementedError(f"distsim: RandomDistribution {base.name!r} for weights or delays")
    return float(base) * k


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        pre, post = self.pre, self.post
        if not (isinstance(pre, Population) and isinstance(post, Population)):
            raise NotImplementedError("distsim: projections between whole Populations only "
                                      "(not PopulationViews or Assemblies)")
        if type(self.synapse_type) is not StaticSynapse:
            raise NotImplementedError(f"{type(self.synapse_type).__name__} is not available in distsim")
        rule, kw = _rule(connector, pre is post)
        sp = self.synapse_type.native_parameters
        # PyNN's sign convention: inhibitory weights are negative for current-based cells and
        # positive (a conductance) for conductance-based ones; distsim's are negative for both
        inhibitory = self.receptor_type == "inhibitory"
        base = getattr(sp["weight"], "base_value", None)
        if inhibitory and not post.conductance_based and isinstance(base, (int, float)) and base > 0:
            raise errors.ConnectionError("Weights must be negative for current-based, inhibitory synapses")
        sign = -1.0 if inhibitory and post.conductance_based else 1.0
        st = simulator.state
        w = _value(sp["weight"], post.celltype.weight_scale, sign)
        d = _value(sp["delay"], 1.0, default=st.min_delay)
        self._index = st.network().connect(pre._dpop, post._dpop, rule, weight=w, delay_ms=d, **kw)

    def __len__(self):
        raise NotImplementedError("distsim: the number of connections of a projection is not available yet")
