"""Projection of the distsim PyNN backend.

Two ways onto distsim's projections:

* whole Populations with a connector distsim has as a rule (all-to-all, one-to-one,
  FixedProbability, FixedNumberPre with an integer n, FixedTotalNumber with replacement) and
  weights/delays that are numbers or uniform/normal/normal_clipped RandomDistributions: the
  connector becomes that rule, drawn by distsim (from streams keyed by the seed: any number
  of MPI processes gives the same network, but not NEST's or another backend's connections);
* anything else (PopulationViews and Assemblies as pre or post, FromList, FixedNumberPost,
  distance-dependent connectors, weights or delays given by functions, expressions or other
  distributions): PyNN's connector draws the connections as for every backend (each rank for
  its own postsynaptic cells), the ranks exchange them (one allgather, so every rank
  describes the same network), and each (source population, target population) pair becomes a
  distsim ``from_list`` projection.

Connections can be read (``connections``, ``get``, ``len``, ``save``) at any time and
changed (``set``, a Connection's weight or delay) before the first run: a rule projection is
then written out as its list. Weights are kept in PyNN's units here and converted per target
population (nA -> pA, uS -> nS, inhibitory conductances negative as distsim and NEST want).
"""
import numpy as np
from pyNN import common, connectors, errors
from pyNN.random import RandomDistribution
from pyNN.space import Space

from . import simulator
from .populations import Population
from .standardmodels import StaticSynapse


def _rule(connector, same):
    """(distsim rule, its parameters) of a PyNN connector, or None (PyNN draws it)."""
    auto = {"allow_autapses": bool(getattr(connector, "allow_self_connections", True))} if same else {}
    if type(connector) is connectors.AllToAllConnector:
        return "all_to_all", auto
    if type(connector) is connectors.OneToOneConnector:
        return "one_to_one", {}
    if type(connector) is connectors.FixedProbabilityConnector:
        return "pairwise_bernoulli", dict(auto, p=connector.p_connect)
    if type(connector) is connectors.FixedNumberPreConnector and isinstance(connector.n, int):
        return "fixed_indegree", dict(auto, indegree=connector.n, allow_multapses=bool(connector.with_replacement))
    if type(connector) is connectors.FixedTotalNumberConnector and connector.with_replacement:
        return "fixed_total_number", dict(auto, n_total=int(connector.n))
    return None


def _value(lazy, scale, sign=1.0, default=None):
    """A distsim value (number or distribution) of a synaptic parameter, times ``scale * sign``;
    NotImplementedError if distsim cannot draw it (then PyNN does)."""
    base = lazy.base_value if hasattr(lazy, "base_value") else lazy
    if getattr(lazy, "operations", None):
        raise NotImplementedError("operations")
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
        raise NotImplementedError(base.name)
    if isinstance(base, (int, float, np.integer, np.floating)) and not isinstance(base, bool):
        return float(base) * k
    raise NotImplementedError(type(base).__name__)


def _pop_of(gids):
    """Index (in state.populations) of the population of each gid."""
    pops = simulator.state.populations
    firsts = np.array([int(p.first_id) for p in pops], dtype=np.int64)
    return np.searchsorted(firsts, gids, side="right") - 1


class Connection(common.Connection):
    """One connection of a Projection (a view on the projection's arrays): presynaptic and
    postsynaptic index (within the Projection's pre and post), weight, delay and the synapse
    model's parameters (PyNN units); weight and delay can be set before the first run."""

    def __init__(self, projection, k):
        self._prj = projection
        self._k = k

    @property
    def presynaptic_index(self):
        return int(self._prj._local()["i"][self._k])

    @property
    def postsynaptic_index(self):
        return int(self._prj._local()["j"][self._k])

    def _get(self, name):
        return float(self._prj._local()[name][self._k])

    weight = property(lambda self: self._get("weight"), lambda self, v: self._prj._set_one(self._k, "weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._prj._set_one(self._k, "delay", v))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        loc = self._prj._local()
        if name in loc:
            return float(loc[name][self._k])
        raise AttributeError(name)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, n) for n in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        st = simulator.state
        self._net = st.network()
        self._pieces = []  # (distsim projection index, pre Population, post Population)
        self._full = None  # every connection (same on every rank): dict of arrays, PyNN units
        self._synapse = self._distsim_synapse()
        tau_minus = getattr(self.synapse_type, "tau_minus", None)
        if tau_minus is not None:  # a parameter of the postsynaptic neurons (NEST's archiving node)
            for p in self._post_populations():
                p._dpop.set(tau_minus=tau_minus())
        for p in self._post_populations():
            self._check_sign(p)
        rule = None
        if isinstance(self.pre, Population) and isinstance(self.post, Population):
            rule = _rule(connector, self.pre is self.post)
        if rule is not None:
            try:
                self._connect_rule(*rule)
                return
            except NotImplementedError:
                pass  # values distsim does not draw: PyNN draws them
        self._connect_list(connector)

    # ------------------------------------------------------------ construction
    def _post_populations(self):
        post = self.post
        if isinstance(post, Population):
            return [post]
        if isinstance(post, common.Assembly):
            return [p.grandparent if hasattr(p, "grandparent") else p for p in post.populations]
        return [post.grandparent]

    def _sign(self, post_pop):
        """-1 for inhibitory conductances (distsim, as NEST, wants them negative), else 1."""
        return -1.0 if self.receptor_type == "inhibitory" and post_pop.conductance_based else 1.0

    def _check_sign(self, post_pop):
        sp = self.synapse_type.native_parameters
        base = getattr(sp["weight"], "base_value", None)
        if self.receptor_type == "inhibitory" and not post_pop.conductance_based and \
                isinstance(base, (int, float)) and base > 0:
            raise errors.ConnectionError("Weights must be negative for current-based, inhibitory synapses")

    def _distsim_synapse(self):
        """None (static) or the projection's distsim synapse table (STDP) from the synapse
        type (see standardmodels.STDPMechanism)."""
        if type(self.synapse_type) is StaticSynapse:
            return None
        make = getattr(self.synapse_type, "distsim_synapse", None)
        if make is None:
            raise NotImplementedError(f"{type(self.synapse_type).__name__} is not available in distsim")
        return make

    def _synapse_for(self, post_pop):
        if self._synapse is None:
            return None
        return self._synapse(post_pop.celltype.weight_scale, self._sign(post_pop))

    def _connect_rule(self, rule, kw):
        pre, post = self.pre, self.post
        sp = self.synapse_type.native_parameters
        st = simulator.state
        w = _value(sp["weight"], post.celltype.weight_scale, self._sign(post))
        d = _value(sp["delay"], 1.0, default=st.min_delay)
        syn = self._synapse_for(post)
        extra = {"synapse": syn} if syn is not None else {}
        pid = self._net.connect(pre._dpop, post._dpop, rule, weight=w, delay_ms=d, **kw, **extra)
        self._pieces.append((pid, pre, post))

    def _connect_list(self, connector):
        """PyNN's connector draws this rank's connections (``_convergent_connect``); every
        rank gets all of them; one from_list projection per population pair."""
        self._drawn = []
        connector.connect(self)
        drawn, self._drawn = self._drawn, None
        local = {k: (np.concatenate([c[k] for c in drawn]) if drawn else np.empty(0)) for k in ("pre", "post", "weight", "delay")}
        st = simulator.state
        if st.num_processes > 1:
            parts = st.comm.allgather(local)
            local = {k: np.concatenate([p[k] for p in parts]) for k in local}
        order = np.argsort(local["post"], kind="stable")  # a target's connections come from one rank
        full = {k: v[order] for k, v in local.items()}
        full["pre"] = full["pre"].astype(np.int64)
        full["post"] = full["post"].astype(np.int64)
        self._write_pieces(full, new=True)

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        """Called by PyNN's connectors for each local postsynaptic cell."""
        if location_selector is not None:
            raise NotImplementedError("distsim has no multicompartment models")
        pre_ids = np.asarray(self.pre.all_cells[np.asarray(presynaptic_indices, dtype=int)], dtype=np.int64)
        n = pre_ids.size
        post_id = int(self.post.all_cells[postsynaptic_index])
        out = {"pre": pre_ids, "post": np.full(n, post_id, np.int64)}
        for k in ("weight", "delay"):
            v = connection_parameters.get(k)
            if v is None:
                v = simulator.state.min_delay if k == "delay" else 0.0
            out[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        others = {k: v for k, v in connection_parameters.items() if k not in ("weight", "delay")}
        self._check_homogeneous(others)
        self._drawn.append(out)

    def _check_homogeneous(self, params):
        """distsim's plastic synapses share their parameters within a projection."""
        for k, v in params.items():
            a = np.asarray(v, dtype=float)
            if a.size and np.any(a != a.flat[0]):
                raise NotImplementedError(f"distsim: synapse parameter {k} must be the same for every "
                                          "connection of a projection")

    def _write_pieces(self, full, new=False):
        """Describe ``full`` (every connection: pre/post gids, weight and delay in PyNN units)
        as from_list projections, one per population pair (new ones, or replacing this
        projection's pieces)."""
        st = simulator.state
        pops = st.populations
        sp, tp = _pop_of(full["pre"]), _pop_of(full["post"])
        pairs = sorted(set(zip(sp.tolist(), tp.tolist())))
        if not new:
            old = {(pops.index(a), pops.index(b)): pid for pid, a, b in self._pieces}
            if set(old) - set(pairs):
                raise NotImplementedError("distsim: a connection list may not lose a population pair")
        pieces = []
        for a, b in pairs:
            m = (sp == a) & (tp == b)
            pre_pop, post_pop = pops[a], pops[b]
            k = post_pop.celltype.weight_scale * self._sign(post_pop)
            conns = {"source": (full["pre"][m] - int(pre_pop.first_id)).tolist(),
                     "target": (full["post"][m] - int(post_pop.first_id)).tolist(),
                     "weight": (full["weight"][m] * k).tolist(), "delay_ms": full["delay"][m].tolist()}
            syn = self._synapse_for(post_pop)
            if new or (a, b) not in old:
                extra = {"synapse": syn} if syn is not None else {}
                pid = self._net.connect(pre_pop._dpop, post_pop._dpop, "from_list", connections=conns, **extra)
            else:
                pid = old[(a, b)]
                self._replace(pid, conns)
            pieces.append((pid, pre_pop, post_pop))
        self._pieces = pieces
        self._full = full

    def _replace(self, pid, conns):
        net = self._net

        def change():
            pr = net.spec.projections[pid]
            pr.rule, pr.connections = "from_list", conns
            pr.indegree = pr.n_total = pr.p = None
            pr.weight, pr.delay_ms = 1.0, net.dt_ms
        net._edit_spec(change)

    # ------------------------------------------------------------ connection access
    def _built(self):
        return self._net.sim is not None

    def _materialize(self):
        """Every connection (all ranks' targets), PyNN units: generated from the description as
        the build generates it."""
        if self._full is not None:
            return self._full
        from ..connectivity import projection_connections
        net = self._net
        parts = []
        for pid, pre_pop, post_pop in self._pieces:
            s, t, w, d = projection_connections(net.spec, net.seed, pid)
            k = post_pop.celltype.weight_scale * self._sign(post_pop)
            parts.append({"pre": s, "post": t, "weight": w / k, "delay": d * net.dt_ms})
        self._full = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
                      for k in ("pre", "post", "weight", "delay")}
        return self._full

    def _local(self):
        """This rank's connections (targets on this rank): dict of arrays i, j (indices in
        pre and post), weight, delay, the synapse parameters, and ``_full`` (index in the full
        list, before the build). After the build, weights of plastic synapses are read from
        the running network."""
        st = simulator.state
        if self._built():
            cache = getattr(self, "_local_cache", None)
            if cache is not None and cache[0] == (self._net.sim.step, id(self._net.sim)):
                return cache[1]
            parts = [self._local_piece(pid, post_pop) for pid, _, post_pop in self._pieces]
            loc = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
                   for k in ("pre", "post", "weight", "delay")}
            loc["_full"] = np.full(loc["pre"].size, -1)
        else:
            full = self._materialize()
            m = full["post"] % st.num_processes == st.mpi_rank
            loc = {k: v[m] for k, v in full.items()}
            loc["_full"] = np.flatnonzero(m)
        loc["i"] = np.asarray(self.pre.id_to_index(loc["pre"].astype(np.int64)), dtype=float) \
            if loc["pre"].size else np.empty(0)
        loc["j"] = np.asarray(self.post.id_to_index(loc["post"].astype(np.int64)), dtype=float) \
            if loc["post"].size else np.empty(0)
        loc["presynaptic_index"], loc["postsynaptic_index"] = loc["i"], loc["j"]
        for name, value in self._synapse_parameters().items():
            loc[name] = np.full(loc["pre"].size, value)
        if self._built():
            self._local_cache = ((self._net.sim.step, id(self._net.sim)), loc)
        return loc

    def _local_piece(self, pid, post_pop):
        from ..connectivity import projection_connections
        net, sim = self._net, self._net.sim
        s, t, w, d = projection_connections(sim.net, net.seed, pid, sim.rank, sim.size)
        if sim.plastic is not None:
            for tab in sim.plastic.tables:
                if tab.pid == pid:  # the table's order is the generation order
                    w = tab.w.copy()
        else:
            w = w.astype(np.float32).astype(np.float64)  # static weights are float32 in distsim
        k = post_pop.celltype.weight_scale * self._sign(post_pop)
        return {"pre": s, "post": t, "weight": w / k, "delay": d * net.dt_ms}

    def _synapse_parameters(self):
        """The synapse model's parameters (native names, one value per projection)."""
        if self._synapse is None:
            return {}
        ps = self.synapse_type.native_parameters
        out = {}
        for name in ps.keys():
            if name in ("weight", "delay"):
                continue
            v = ps[name]
            v.shape = (1,)
            try:
                out[name] = float(np.asarray(v.evaluate(simplify=True)).flat[0])
            except (TypeError, ValueError):
                pass
        return out

    def __len__(self):
        """Number of connections on this rank (those onto its cells)."""
        return int(self._local()["pre"].size)

    @property
    def connections(self):
        """This rank's connections, as Connection objects."""
        return [Connection(self, k) for k in range(len(self))]

    def __getitem__(self, i):
        return Connection(self, i)

    def _get_attributes_as_list(self, names):
        loc = self._local()
        cols = [loc[n] for n in names]
        return [tuple(float(c[k]) for c in cols) for k in range(loc["pre"].size)]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        op = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        loc = self._local()
        out = []
        for name in names:
            a = np.full((self.pre.size, self.post.size), np.nan)
            for i, j, v in zip(loc["i"].astype(int), loc["j"].astype(int), loc[name]):
                a[i, j] = v if np.isnan(a[i, j]) else op(a[i, j], v)
            out.append(a)
        return out

    def _set_one(self, k, name, value):
        """A Connection's weight or delay (before the first run)."""
        loc = self._local()
        if self._built():
            raise NotImplementedError("distsim: connections can be changed only before the first run")
        full = dict(self._full)
        full[name] = full[name].copy()
        full[name][loc["_full"][k]] = float(value)
        self._write_pieces(full)

    def _set_attributes(self, parameter_space):
        """Projection.set (native names; before the first run): weight and delay per
        connection; the synapse model's parameters must stay one value per projection."""
        if self._built():
            raise NotImplementedError("distsim: connections can be changed only before the first run")
        full = dict(self._materialize())
        parameter_space.evaluate(simplify=False)
        i = np.asarray(self.pre.id_to_index(full["pre"]), dtype=int)
        j = np.asarray(self.post.id_to_index(full["post"]), dtype=int)
        for name, value in parameter_space.items():
            a = np.asarray(value)
            vals = np.broadcast_to(a, (self.pre.size, self.post.size))[i, j] if a.ndim else np.full(i.size, float(a))
            if name in ("weight", "delay"):
                full[name] = np.asarray(vals, dtype=float).copy()
            else:
                raise NotImplementedError(f"distsim: setting the synapse parameter {name} of a projection")
        self._write_pieces(full)
