"""The in-process Python API: build a network, run it for a while, change it, run again.

    import distsim
    net = distsim.Network(dt_ms=0.1, seed=1)
    E = net.create("E", "iaf_psc_exp", 800, I_e=376.0, V_m={"dist": "uniform", "low": -70.0, "high": -55.0})
    net.connect(E, E, "fixed_indegree", indegree=80, weight=20.0, delay_ms=1.5)
    net.add_device("poisson_generator", E, rate_Hz=8000.0, weight=20.0)
    E.record("spikes")
    E.record("V_m", interval_ms=1.0, neuron_ids=[0, 1])
    net.run(100.0)
    E.set(I_e=400.0)                     # takes effect in the next run
    net.run(100.0)
    gids, times_ms = net.get_spikes()    # every rank, sorted by (gid, time)
    net.reset()                          # back to t = 0, initial state

Every call is collective under MPI: every rank runs the same script and makes the same
calls in the same order, as with ``distsim run``; each rank builds only its own neurons and
synapses. The network is built (collectively) at the first call that needs it (``run``,
``get`` of a state variable, ``build``); populations, projections and devices can be added
only before that. Everything is the :mod:`distsim.spec` network underneath (NEST model and
parameter names, connection rules and devices as in a parameter file; the same validation
and the same named errors) and the engine's :class:`~distsim.engine.Simulation`: a network
built here runs bit-identically to the same network from a TOML file with ``distsim run``,
for any number of ranks.

Between runs, :meth:`Population.set` changes parameters (the model's derived constants are
recomputed; the state is kept) and state variables (``V_m`` and the model's other state
variables, NEST's ``SetStatus``); :meth:`Population.get` reads them. :meth:`Network.reset`
returns to t = 0 with the initial state: what is reset and what is kept is listed there.

Recorded data are kept in memory on the rank that owns each neuron and gathered on request
(``gather="all"``: every rank gets the arrays; ``gather=0``: rank 0 only, others None;
``gather=None``: this rank's own, no communication). With ``output="out.h5"`` the run is
also written as ``distsim run -o`` writes it (SONATA layout, one file from all ranks);
call :meth:`Network.close` (or use ``with``) to finish the file.
"""
import numpy as np

from .spec import Device, Population as _SpecPopulation, Projection, SpecError, validate
from .spec import Network as _SpecNetwork
from .spec.errors import unknown_name
from .spec.times import grid_steps

__all__ = ["Network", "Population"]

GATHER_ALL = "all"


def _root(gather, comm):
    """(collective?, root) of a ``gather`` argument: ("all" -> every rank, int -> that rank,
    None -> no communication)."""
    if gather is None:
        return False, None
    if gather == GATHER_ALL:
        return True, None
    if isinstance(gather, (int, np.integer)) and not isinstance(gather, bool) and 0 <= gather < comm.size:
        return True, int(gather)
    raise SpecError("gather", gather, f"must be 'all', a rank in [0, {comm.size - 1}] or None (this rank only)")


class Population:
    """A population of a :class:`Network` (returned by :meth:`Network.create`): ``size``
    neurons of a NEST-named model with global ids ``first_gid .. first_gid + size - 1``;
    node ids (``0 .. size - 1``) are the neurons' indices within the population."""

    def __init__(self, net, name):
        self._net = net
        self.name = name

    @property
    def _spec(self):
        return self._net.spec.population(self.name)

    @property
    def model(self):
        """The NEST model name."""
        return self._spec.model

    @property
    def size(self):
        """Number of neurons."""
        return self._spec.n

    def __len__(self):
        return self.size

    @property
    def first_gid(self):
        """Global id of node 0."""
        return self._net.spec.gid_ranges()[self.name][0]

    @property
    def local_node_ids(self):
        """Node ids (int64, increasing) of the neurons on this rank."""
        from .partition import local_gids
        a, b = self._net.spec.gid_ranges()[self.name]
        return local_gids(a, b, self._net.comm.rank, self._net.comm.size) - a

    def __repr__(self):
        return f"Population({self.name!r}, {self.model!r}, {self.size})"

    # ------------------------------------------------------------ parameters and state
    def _model(self):
        from .models import MODELS
        return MODELS[self.model]

    def set(self, **values):
        """Set parameters and state variables by NEST name (collective: every rank, same
        values). A value is a number, a distribution as in a parameter file (``{"dist":
        "normal", "mean": ..., "std": ...}``, drawn per neuron from a stream keyed by the
        seed, population, name and call, so any number of ranks gives the same values) or an
        array with one value per neuron (node order); flags take True/False.

        Before the build a number or distribution goes into the network description (as if
        written in the parameter file, ``V_m`` being the initial value), and per-neuron
        arrays are applied right after the build (state values as initial values). After it, a
        parameter (``tau_m``, ``I_e``...) changes from the next run on, and a state variable
        (``V_m``, ``I_syn_ex``...) is set now (NEST's ``SetStatus``); what :meth:`Network.reset`
        returns to is unchanged (see :meth:`initialize`). Invalid values raise the SpecError
        a parameter file would (``populations[E].params.tau_m = -1.0: must be > 0 (ms)``),
        before anything changes. Returns None."""
        net = self._net
        if self.name in net._sources:
            net._set_source(self.name, values)
            return
        m = self._model()
        per_neuron = [k for k, v in values.items()
                      if isinstance(v, (np.ndarray, list, tuple)) and k not in m.list_params]
        if net.sim is None and not per_neuron:
            net._edit_spec(lambda: self._spec.params.update(values))
            return
        if net.sim is None:  # one value per neuron: applied right after the build, in order
            net._pending.append((self.name, dict(values)))
            return
        self._apply(values, initial=False)

    def _apply(self, values, initial):
        """``set`` after the build (``initial``: state values also become initial ones)."""
        sim = self._net.sim
        m = self._model()
        params = {k: v for k, v in values.items() if k in m.params or k in m.bool_params}
        state = {k: v for k, v in values.items() if k not in params}
        unknown = [k for k in state if sim._state_key(m, k) is None]
        if unknown:  # the parameter error names every settable name
            params.update({k: state.pop(k) for k in unknown})
        if params:
            sim.set_params(self.name, params)
        for k in sorted(state):
            sim.set_state(self.name, k, state[k], initial=initial)

    def initialize(self, **values):
        """Set initial values of state variables (``V_m``...; as :meth:`set`): the values
        the network starts from and :meth:`Network.reset` returns to. After the build they
        are also set now. Collective. Returns None."""
        net = self._net
        if net.sim is None and set(values) <= {"V_m"} and \
                not any(isinstance(v, (np.ndarray, list, tuple)) for v in values.values()):
            net._edit_spec(lambda: self._spec.params.update(values))
            return
        if net.sim is None:
            net._pending.append((self.name, dict(values)))
            return
        sim = net.build()
        for k in sorted(values):
            sim.set_state(self.name, k, values[k], initial=True)

    def get(self, name, gather=GATHER_ALL):
        """Values of parameter or state variable ``name`` (NEST name) of every neuron, in
        node order (float64 array of ``size``; 2-D for list parameters); ``gather``: "all"
        (every rank), a rank (that rank, others None) or None (this rank's neurons only, in
        node order: see :attr:`local_node_ids`). Builds the network if needed. Collective
        unless ``gather`` is None."""
        net = self._net
        sim = net.build()
        coll, root = _root(gather, net.comm)
        gids, vals = sim.get_values(self.name, name)
        if not coll:
            return vals
        parts = net.comm.allgather((gids, vals)) if root is None else net.comm.gather((gids, vals), root=root)
        if parts is None or (root is not None and net.comm.rank != root):
            return None
        g = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts], axis=0)
        return v[np.argsort(g, kind="stable")]

    # ------------------------------------------------------------ recording
    def record(self, variables="spikes", interval_ms=1.0, neuron_ids=None):
        """Record ``"spikes"`` and/or state variables (``"V_m"``, or a list such as
        ``["V_m", "g_ex"]``; a multimeter sampling every ``interval_ms``), of every neuron or
        of ``neuron_ids`` (node ids) only. Before the build only. Returns None."""
        if isinstance(variables, str):
            variables = [variables]
        variables = list(variables)
        net = self._net
        if "spikes" in variables:
            variables.remove("spikes")
            if self.name not in net._spike_recorded:
                net.add_device("spike_recorder", self, neuron_ids=neuron_ids)
                net._spike_recorded.add(self.name)
        if variables:
            old = net._multimeter.get(self.name)
            if old is not None:  # one multimeter per population: extend it
                dv = net.spec.devices[old]
                rf = list(dv.params["record_from"]) + [v for v in variables if v not in dv.params["record_from"]]

                def change():
                    dv.params.update(record_from=rf, interval_ms=interval_ms)
                    dv.neuron_ids = neuron_ids
                net._edit_spec(change)
            else:
                net._multimeter[self.name] = net.add_device("multimeter", self, record_from=variables,
                                                            interval_ms=interval_ms, neuron_ids=neuron_ids)

    def get_spikes(self, gather=GATHER_ALL):
        """(node_ids int64, times_ms float64) of this population's recorded spikes sorted by
        (node id, time); see :meth:`Network.get_spikes` for ``gather``."""
        out = self._net.get_spikes([self], gather=gather)
        if out is None:
            return None
        return out[0] - self.first_gid, out[1]

    def spiketrains(self, gather=GATHER_ALL):
        """One float64 array of spike times (ms, increasing) per neuron, in node order (list
        of ``size`` arrays); see :meth:`Network.get_spikes` for ``gather`` (None: every
        neuron's list entry, filled for this rank's neurons only)."""
        out = self.get_spikes(gather)
        if out is None:
            return None
        ids, t = out
        cut = np.searchsorted(ids, np.arange(self.size + 1))
        return [t[cut[i]:cut[i + 1]] for i in range(self.size)]

    def get_samples(self, variable="V_m", gather=GATHER_ALL):
        """(node_ids int64, times_ms float64, values float64[time, node]) of a recorded
        variable, columns in node order; see :meth:`Network.get_spikes` for ``gather``."""
        net = self._net
        sim = net.build()
        name = sim.report_name(self.name, variable)
        if name not in sim.report_variables():
            raise SpecError(f"populations[{self.name}].record", variable,
                            f"is not recorded; recorded: {sorted(self._recorded_variables())}")
        coll, root = _root(gather, net.comm)
        if not coll:
            gids, st, vals = net.memory.local_samples(name, sim.voltmeter_columns()[name])
            return gids - self.first_gid, st * sim.dt, vals
        out = net.memory.gather_samples(net.comm, name, root=root)
        if out is None:
            return None
        gids, st, vals = out
        return gids - self.first_gid, st * sim.dt, vals

    def _recorded_variables(self):
        i = self._net._multimeter.get(self.name)
        return self._net.spec.devices[i].params["record_from"] if i is not None else []


class Network:
    """A network built and run in this process (one per rank under MPI; every call is
    collective). ``dt_ms``: resolution; ``seed``: the run's seed (every random stream is
    keyed by it, never by the rank); ``comm``: a distsim communicator (default: MPI
    COMM_WORLD when mpi4py is there, else serial); ``output``: also write an HDF5 file as
    ``distsim run -o`` does (``overwrite``, ``flush_interval_ms`` as there); ``progress``:
    rank 0 prints progress."""

    def __init__(self, dt_ms=0.1, seed=12345, comm=None, name="network", output=None, overwrite=False,
                 flush_interval_ms=100.0, progress=False):
        from .comm import get_comm
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
            raise SpecError("seed", seed, "must be an integer in [0, 2**63)")
        self.comm = comm if comm is not None else get_comm()
        self.seed = int(seed)
        self.spec = _SpecNetwork([], dt_ms=dt_ms, name=name)
        self.output = output
        self.overwrite = overwrite
        self.flush_interval_ms = flush_interval_ms
        self.progress = progress
        self.sim = None  # the engine Simulation, once built
        self.memory = None  # recording.MemoryRecorder of this rank, once built
        self.hdf5 = None  # recording.hdf5.HDF5Recorder, with an output file
        self._lock = None
        self._spike_recorded = set()
        self._multimeter = {}  # population -> index of its multimeter device
        self._sources = {}  # spike source population -> indices of the devices feeding it
        self._pending = []  # (population, values) set per neuron before the build

    @property
    def dt_ms(self):
        """The resolution (ms)."""
        return self.spec.dt_ms

    # ------------------------------------------------------------ building the description
    def _edit_spec(self, change):
        """Apply ``change()`` to the description and validate it (SpecError as for a parameter
        file); on an error the description is restored. Only before the build."""
        if self.sim is not None:
            raise SpecError("network", self.spec.name, "is built (at the first run): populations, projections, "
                                                       "devices and recordings can only be added before")
        import copy
        saved = copy.deepcopy(self.spec)
        try:
            change()
            if self.spec.populations:
                validate(self.spec)
        except Exception:
            self.spec.__dict__.update(saved.__dict__)
            raise

    def _pop_name(self, p, field_):
        name = p.name if isinstance(p, Population) else p
        if name not in [q.name for q in self.spec.populations]:
            raise unknown_name(field_, name, [q.name for q in self.spec.populations], "population")
        return name

    def create(self, name, model, n, params=None, positions=None, **kw_params):
        """Add ``n`` neurons of NEST model ``model`` called ``name`` (gids follow the earlier
        populations'); parameters by NEST name (``params`` dict and/or keywords; numbers or
        distributions; ``V_m`` is the initial membrane potential); ``positions`` as in a
        parameter file (spatial networks). Returns the :class:`Population`."""
        params = dict(params or {}, **kw_params)
        self._edit_spec(lambda: self.spec.populations.append(
            _SpecPopulation(name, model, n, params, positions=positions)))
        return Population(self, name)

    def create_spike_source(self, name, spike_times, n=None, **device_params):
        """A population of spike sources that can be connected and recorded like neurons:
        ``parrot_neuron`` nodes, each fed by a ``spike_generator`` (weight 1, delay dt).
        ``spike_times``: one list of times (ms) for every node (``n`` of them, default 1),
        or one list per node. As in NEST with a parrot behind a spike generator, a spike
        given at time t leaves the population at t + dt. ``device_params``: further
        spike_generator parameters (``allow_offgrid_times``, ``start_ms``...).
        Returns the :class:`Population`."""
        per_node = len(spike_times) > 0 and all(isinstance(x, (list, tuple, np.ndarray)) for x in spike_times)
        if per_node:
            if n is not None and n != len(spike_times):
                raise SpecError(f"populations[{name}].spike_times", f"{len(spike_times)} lists",
                                f"must be one list per node (n = {n})")
            n = len(spike_times)
        elif n is None:
            n = 1
        pop = self.create(name, "parrot_neuron", n)
        params = dict(weight=1.0, delay_ms=self.dt_ms, **device_params)
        try:
            if per_node:
                devs = [self.add_device("spike_generator", pop, spike_times_ms=[float(t) for t in times],
                                        neuron_ids=[i], **params) for i, times in enumerate(spike_times)]
            else:
                devs = [self.add_device("spike_generator", pop, spike_times_ms=[float(t) for t in spike_times],
                                        **params)]
        except SpecError:
            self._edit_spec(lambda: self._drop_population(name))
            raise
        self._sources[name] = devs
        return pop

    def create_poisson_source(self, name, n, rate_Hz, **device_params):
        """``n`` independent Poisson spike trains at ``rate_Hz`` as a population
        (``parrot_neuron`` nodes fed by a ``poisson_generator`` of weight 1, delay dt; a
        spike leaves the population one step after the generator draws it).
        Returns the :class:`Population`."""
        pop = self.create(name, "parrot_neuron", n)
        try:
            devs = [self.add_device("poisson_generator", pop, rate_Hz=rate_Hz, weight=1.0,
                                    delay_ms=self.dt_ms, **device_params)]
        except SpecError:
            self._edit_spec(lambda: self._drop_population(name))
            raise
        self._sources[name] = devs
        return pop

    def set_device(self, index, **params):
        """Change a stimulator's parameters (``rate_Hz``, ``spike_times_ms``,
        ``amplitude_pA``...; device ``index`` as returned by :meth:`add_device`): before the
        build in the description, after it from now on (see
        ``Simulation.set_device_params``: a spike generator's spikes already in flight still
        arrive; its new spikes stamped after now are emitted). Collective. Returns None."""
        if self.sim is None:
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.spec.devices):
                raise SpecError("device", index, f"must be a device index in [0, {len(self.spec.devices) - 1}]")
            self._edit_spec(lambda: self.spec.devices[index].params.update(params))
        else:
            self.sim.set_device_params(index, params)

    def _set_source(self, name, values):
        """Population.set of a spike source population: ``spike_times`` (one list for every
        node, or one per node; ms) or ``rate_Hz`` go to the devices that feed it."""
        devs = self._sources[name]
        for key in sorted(values):
            v = values[key]
            if key in ("spike_times", "spike_times_ms"):
                per_node = len(v) > 0 and all(isinstance(x, (list, tuple, np.ndarray)) for x in v)
                if per_node and len(v) != len(devs):
                    raise SpecError(f"populations[{name}].spike_times", f"{len(v)} lists",
                                    f"must be one list per node ({len(devs)}), or one list for all" if len(devs) > 1
                                    else "must be one list (this source was created with one train for all nodes)")
                trains = v if per_node else [v] * len(devs)
                for i, t in zip(devs, trains):
                    self.set_device(i, spike_times_ms=[float(x) for x in t])
            elif key in ("rate_Hz", "start_ms", "stop_ms", "origin_ms"):
                for i in devs:
                    self.set_device(i, **{key: v})
            else:
                kinds = {self.spec.devices[i].type for i in devs}
                allowed = ["spike_times", "start_ms", "stop_ms", "origin_ms"] + (["rate_Hz"] if "poisson_generator" in kinds else [])
                from .spec.errors import unknown_key
                raise unknown_key(f"populations[{name}]", key, allowed, "parameter of a spike source")

    def _drop_population(self, name):
        self.spec.populations = [p for p in self.spec.populations if p.name != name]
        self.spec.devices = [d for d in self.spec.devices if name not in d.targets]

    def population(self, name):
        """The :class:`Population` called ``name``."""
        return Population(self, self._pop_name(name, "population"))

    @property
    def populations(self):
        """Every :class:`Population`, in gid order."""
        return [Population(self, p.name) for p in self.spec.populations]

    def connect(self, source, target, rule="all_to_all", weight=1.0, delay_ms=1.0, **rule_params):
        """Connect ``source`` to ``target`` (Populations or names) by one of distsim's rules
        (``fixed_indegree`` with ``indegree``, ``fixed_total_number`` with ``n_total``,
        ``pairwise_bernoulli`` with ``p``, ``all_to_all``, ``one_to_one``;
        ``allow_autapses``, ``allow_multapses``, spatial ``mask``); ``weight`` in the target
        model's unit and ``delay_ms`` as numbers or distributions. Returns the projection's
        index."""
        s, t = self._pop_name(source, "source"), self._pop_name(target, "target")
        self._edit_spec(lambda: self.spec.projections.append(
            Projection(s, t, rule, weight=weight, delay_ms=delay_ms, **rule_params)))
        return len(self.spec.projections) - 1

    def add_device(self, type, targets, params=None, name="", neuron_ids=None, n_per_population=None, **kw):
        """Attach a device (``poisson_generator``, ``dc_generator``, ``step_current_generator``,
        ``spike_generator``, ``spike_recorder``, ``multimeter``...) with its parameters
        (``params`` and/or keywords, as in a parameter file: ``rate_Hz``, ``weight``,
        ``delay_ms``...) to ``targets`` (a Population, a name, or a list of them). Returns the
        device's index. Recording is simpler with :meth:`Population.record`."""
        if isinstance(targets, (Population, str)):
            targets = [targets]
        names = [self._pop_name(t, "targets") for t in targets]
        params = dict(params or {}, **kw)
        self._edit_spec(lambda: self.spec.devices.append(
            Device(type, names, params, name=name,
                   neuron_ids=list(neuron_ids) if neuron_ids is not None else None,
                   n_per_population=n_per_population)))
        return len(self.spec.devices) - 1

    # ------------------------------------------------------------ build and run
    def build(self):
        """Build the network on every rank (collective; done by the first run otherwise).
        Returns the engine :class:`~distsim.engine.Simulation`."""
        if self.sim is not None:
            return self.sim
        from .engine import Simulation
        from .recording import MemoryRecorder, TeeRecorder
        if not self.spec.populations:
            raise SpecError("populations", [], "at least one population is required (Network.create)")
        validate(self.spec)
        self._check_same_on_every_rank()
        self.memory = MemoryRecorder()
        recorder = self.memory
        if self.output is not None:
            grid_steps("flush_interval_ms", self.flush_interval_ms, self.dt_ms, positive=True)
            from .recording.hdf5 import HDF5Recorder
            from .recording.identity import new_run_id
            from .recording.lock import acquire_output_lock
            run_id = new_run_id(self.comm)
            self._lock = acquire_output_lock(self.output, run_id, self.comm, field="output")
            self.hdf5 = HDF5Recorder(self.output, flush_interval_ms=self.flush_interval_ms,
                                     overwrite=self.overwrite, run_id=run_id)
            recorder = TeeRecorder([self.memory, self.hdf5])
        try:
            self.sim = Simulation(self.spec, seed=self.seed, comm=self.comm, recorder=recorder,
                                  progress=self.progress)
        except BaseException:
            self._release()
            raise
        pending, self._pending = self._pending, []
        for name, values in pending:  # at t = 0: state values are initial values too
            Population(self, name)._apply(values, initial=True)
        return self.sim

    def _check_same_on_every_rank(self):
        """SpecError on every rank unless every rank describes the same network (a script
        that, e.g., adds a device per local cell would otherwise build a different network on
        each rank). One allgather of the description's SHA-256."""
        from .recording.identity import spec_json, spec_sha256
        digests = self.comm.allgather(spec_sha256(spec_json(self.spec)))
        if len(set(digests)) > 1:
            bad = [r for r, d in enumerate(digests) if d != digests[0]]
            raise SpecError("network", self.spec.name,
                            f"differs between ranks (rank 0 and rank(s) {bad}): every rank must make the "
                            "same calls with the same values (do not loop over this rank's cells only)")

    @property
    def t(self):
        """Simulated time (ms) reached."""
        return self.sim.step * self.dt_ms if self.sim is not None else 0.0

    def run(self, t_ms):
        """Simulate ``t_ms`` more milliseconds (a multiple of dt, as NEST's ``Simulate``;
        refused otherwise). Builds the network first if needed. Collective. Returns self."""
        sim = self.build()
        n = grid_steps("t_ms", t_ms, self.dt_ms)
        sim.run_until(sim.step + n)
        return self

    def run_until(self, t_ms):
        """Simulate up to the absolute time ``t_ms`` (a multiple of dt, not before :attr:`t`).
        Collective. Returns self."""
        sim = self.build()
        end = grid_steps("t_ms", t_ms, self.dt_ms)
        if end < sim.step:
            raise SpecError("t_ms", t_ms, f"is before the current time {self.t} ms")
        sim.run_until(end)
        return self

    def reset(self):
        """Back to t = 0 (collective). Reset: every state variable to its initial value (as
        built from the description, or as set by :meth:`Population.initialize`), synaptic
        events on their way, current input, spike counts, and the recorded data (get them
        before). Kept: populations, connections (weights and delays), devices, recordings,
        and parameters as last set with :meth:`Population.set`. Random streams are
        addressed by step, so a run after a reset repeats that of a fresh network with the
        same parameters bit for bit. Refused while an HDF5 output is open (the file holds one
        run from t = 0): :meth:`close` it first. Returns self."""
        if self.hdf5 is not None and not self.hdf5.closed:
            raise SpecError("reset", self.output, "the HDF5 output holds one run from t = 0; close() it first")
        if self.sim is None:
            return self
        self.sim.reset()
        self.memory.clear()
        self.sim.set_recorder(self.memory)
        return self

    # ------------------------------------------------------------ data
    def get_spikes(self, populations=None, gather=GATHER_ALL):
        """(gids int64, times_ms float64) of the recorded spikes of ``populations`` (default:
        all recorded), sorted by (gid, time). A spike's time is the end of the step it was
        emitted in (as in the HDF5 file). ``gather``: "all" (every rank gets the arrays), a
        rank number (that rank only, others get None), or None (this rank's neurons only,
        no communication). Collective unless ``gather`` is None."""
        sim = self.build()
        coll, root = _root(gather, self.comm)
        if coll:
            out = self.memory.gather_spikes(self.comm, root=root)
            if out is None:
                return None
            g, s = out
        else:
            g, s = self.memory.local_spikes()
            order = np.lexsort((s, g))
            g, s = g[order], s[order]
        if populations is not None:
            if isinstance(populations, (Population, str)):
                populations = [populations]
            ranges = self.spec.gid_ranges()
            m = np.zeros(g.size, bool)
            for p in populations:
                a, b = ranges[self._pop_name(p, "populations")]
                m |= (g >= a) & (g < b)
            g, s = g[m], s[m]
        return g, s * sim.dt

    def info(self):
        """Run facts summed over ranks (``Simulation.info``; collective)."""
        return self.build().info()

    # ------------------------------------------------------------ end
    def close(self):
        """Finish the HDF5 output, if any (final flush, run facts in /meta, file closed;
        collective) and release its lock. The network stays usable (in memory).
        Returns None."""
        if self.hdf5 is not None and not self.hdf5.closed:
            try:
                self.hdf5.close(self.sim)
            finally:
                self._release()
            self.sim.set_recorder(self.memory)

    def _release(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self._release()
        return False
