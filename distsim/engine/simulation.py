"""Build and run a validated Network on every rank of a communicator."""
import math
import os
import resource
import sys
import time
import zlib

import numpy as np

from ..comm import get_comm
from ..connectivity import build_synapses
from .events import EventLists
from .exchange import SpikeExchange
from .plastic import Plasticity
from ..kernels.delivery import sort_spikes
from ..kernels.finite import first_nonfinite
from ..kernels.driver import GroupArgs, PoissonBlocks, Rec
from ..kernels.poisson import stack_tables
from ..kernels.threads import ENV as THREADS_ENV, default_threads, max_threads, use_threads
from ..kernels.rng import TAG_ESCAPE, TAG_INIT, draw_per_gid, keys_per_gid
from ..models import MODELS
from ..partition import local_gids, local_range, n_local
from ..spec import SpecError, validate
from ..spec.errors import check_keys, unknown_key, unknown_name
from ..spec.nest_time import device_time_steps, spike_generator_stamps, step_current_stamps
from ..spec.values import Value, bounds, parse_value

class Group:
    """Consecutive populations of one model (and one voltmeter) on this rank: one kernel call
    per slice for all of them. Local indices [lo, hi); parameter and state arrays span the
    whole block, population ``k`` occupying ``[pop_lo[k] - lo, pop_hi[k] - lo)``. The
    kernel arguments (:attr:`args`) hold these very arrays: change state in place
    (``state[var][...] = ...``, as checkpoint.restore does), never rebind it."""

    def __init__(self, pops, model, bounds):
        self.pops = pops
        self.model = model
        self.bounds = bounds  # per population: (lo, hi, gids)
        self.lo = bounds[0][0]
        self.hi = bounds[-1][1]
        self.p = {}
        self.cal = {}
        self.state = {}
        self.rec = None  # (rec_idx local indices, interval steps, device index) of a voltmeter
        self.rec_vars = ("V_m",)  # the voltmeter's variables (buffer columns variable-major)
        self.rec_codes = np.zeros(1, np.int64)  # their codes (model.recordable_codes)
        self.keys = None  # per-neuron random stream keys (models with noise of their own)
        self.dt = 0.1
        self.args = None  # the driver's grouped kernel arguments (kernels.driver.GroupArgs)
        self.kernel = None  # the driver's compiled entry point for these argument types
        self.threads = 1  # threads that share the update (kernels.driver.run_group_threads)
        self.tparts = None  # their parts of the group (kernels.driver.ThreadParts)
        self.kernel_threads = None  # the compiled entry point of run_group_threads

    def kernel_args(self, pg):
        """Build :attr:`args` (kernels.driver.GroupArgs) from the state, parameter and
        derived arrays (the same arrays, not copies) and the Poisson blocks ``pg``
        (PoissonBlocks, scratch ex, scratch in, scratch multiplicities)."""
        m = self.model
        vals = dict(self.p, **self.cal)
        P = m.Params(**{k: vals[k] for k in m.param_fields()})
        shared = all(a.shape[0] == 1 for a in P)
        rec_vars = tuple(self.state[m.record_from_state[v]] for v in m.recordables)
        keys = self.keys if self.keys is not None else np.zeros(0, np.uint64)
        blocks, pex, pin, spk = pg
        self.args = GroupArgs(self.lo, self.hi, shared, m.State(**self.state), P,
                              self.state[m.current_input], rec_vars, keys, blocks, pex, pin, spk)

    def pop_state(self, k):
        """dict variable -> view of population k's part of the state arrays."""
        a, b = self.bounds[k][0] - self.lo, self.bounds[k][1] - self.lo
        return {var: arr[a:b] for var, arr in self.state.items()}


class NonFiniteState(RuntimeError):
    """A neuron's membrane potential (its model's first recordable) became NaN or infinite.
    Raised on every rank at once, after every rank stopped at the end of the same slice
    (the stop rides in the spike exchange): the output recorded so far can be flushed and
    closed collectively. ``info``: dict gid, population, model, variable, value, t_ms (the
    end of the slice in which the check found it), t_from_ms (its start), rank."""

    def __init__(self, message, info):
        super().__init__(message)
        self.info = info


def _nonfinite_message(info):
    """The error text of :class:`NonFiniteState` for ``info``."""
    return (f"non-finite state: {info['variable']} = {info['value']} of gid {info['gid']} "
            f"(population {info['population']}, model {info['model']}, rank {info['rank']}) at "
            f"t = {info['t_ms']:g} ms (found at the end of the slice ({info['t_from_ms']:g}, "
            f"{info['t_ms']:g}] ms; the state is checked once per slice); every rank stopped there. "
            f"The integration diverged: use a smaller dt_ms or weaker input (smaller weights, "
            f"rates or I_e); NEST would go on with NaN")


def _check_threads(threads):
    """The thread count (int >= 1) from ``threads`` or, when None, ``DISTSIM_THREADS``;
    SpecError when it is not an integer >= 1 or above what numba can start here."""
    if threads is None:
        try:
            threads = default_threads()
        except ValueError as e:
            raise SpecError(THREADS_ENV, os.environ.get(THREADS_ENV), "must be an integer >= 1") from e
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise SpecError("threads", threads, "must be an integer >= 1")
    if threads > max_threads():
        raise SpecError("threads", int(threads), f"must be at most NUMBA_NUM_THREADS = {max_threads()} (the "
                                                  "threads numba may start in this process); set "
                                                  "NUMBA_NUM_THREADS (or DISTSIM_THREADS) before starting "
                                                  "Python to allow more")
    return int(threads)


def _ident(*parts):
    """Stable small integer for a name (stream keys must not depend on Python's hash seed)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def peak_rss_bytes():
    """Peak resident memory of this process (bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Simulation:
    """A network built on this rank; :meth:`run` advances it.

    ``recorder`` receives spikes and samples (see ``distsim.recording``); ``progress`` makes
    rank 0 print simulated time, real-time factor and time left. ``threads``: numba threads
    of this rank that share the neuron update and the delivery (None: ``DISTSIM_THREADS``,
    else 1; see ``kernels.threads``); results do not depend on it.

    ``loop``: "compiled" (default; environment ``DISTSIM_LOOP``) runs many slices in one
    numba call (``engine.loop``) and returns to Python only at boundaries the user sees;
    "python" runs one slice at a time in Python (:meth:`_slice`, the reference path; also
    used for models that check their state in Python after every slice, see
    :meth:`uses_compiled_loop`). Both give the same spikes and samples bit for bit.
    ``chunk_ms``: the longest stretch of simulated time (ms) one compiled call runs before
    Python sees the run again (progress lines, signals); default 10 ms (environment
    ``DISTSIM_CHUNK_MS``). Flushes, checkpoints and the end of a run are boundaries anyway.
    """

    def __init__(self, net, seed=12345, comm=None, recorder=None, progress=False, loop=None,
                 chunk_ms=None, threads=None):
        validate(net)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
            raise SpecError("seed", seed, "must be an integer in [0, 2**63)")
        self.threads = _check_threads(threads)
        self.net = net
        self.seed = int(seed)
        self.comm = comm if comm is not None else get_comm()
        self.rank, self.size = self.comm.rank, self.comm.size
        self.dt = float(net.dt_ms)
        self.recorder = recorder
        self.progress = progress
        self.step = 0  # next step to simulate
        self.n_events = 0
        self.n_spikes = 0  # spikes of this rank's neurons
        self.stop_requested = False  # set on this rank (e.g. by SIGTERM)
        self.stopped = False  # every rank agreed to stop at the end of the current slice
        self.failure = None  # NonFiniteState message once a run stopped on a non-finite state
        self._nonfinite = None  # (local index, slice start step) of this rank's first non-finite V_m
        self.loop = loop or os.environ.get("DISTSIM_LOOP", "compiled")
        if self.loop not in ("compiled", "python"):
            raise SpecError("loop", self.loop, "must be 'compiled' or 'python'")
        chunk_ms = float(chunk_ms if chunk_ms is not None else os.environ.get("DISTSIM_CHUNK_MS", 10.0))
        if not chunk_ms > 0:
            raise SpecError("chunk_ms", chunk_ms, "must be > 0 ms")
        self.chunk_ms = chunk_ms
        self._compiled = None  # engine.loop state, built on the first compiled run
        t_start = time.perf_counter()
        self._build()
        self.comm.barrier()
        self.build_time_s = time.perf_counter() - t_start
        self.sim_time_s = 0.0
        self.steps_run = 0  # steps simulated by this object (not those before a restore)

    # ---------------------------------------------------------------- build
    def _build(self):
        net, rank, size = self.net, self.rank, self.size
        self.n_neurons = net.n_neurons
        self.n_local = n_local(self.n_neurons, rank, size)
        self.gid_ranges = net.gid_ranges()
        vm_of = {}
        for di, dv in enumerate(net.devices):
            if dv.type in ("voltmeter", "multimeter"):
                for t in dv.targets:
                    if t in vm_of:
                        raise SpecError(f"devices[{di}].targets", t, "at most one voltmeter per population")
                    vm_of[t] = di
        self.groups = []
        blocks = []
        for pop in net.populations:
            a, b = self.gid_ranges[pop.name]
            lo, hi = local_range(a, b, rank, size)
            bnd = (lo, hi, local_gids(a, b, rank, size))
            if blocks and blocks[-1][0][-1].model == pop.model and vm_of.get(blocks[-1][0][-1].name) == vm_of.get(pop.name):
                blocks[-1][0].append(pop)
                blocks[-1][1].append(bnd)
            else:
                blocks.append(([pop], [bnd]))
        for pops, bnds in blocks:
            g = Group(pops, MODELS[pops[0].model], bnds)
            self._init_group(g)
            self.groups.append(g)
        self.syn = build_synapses(net, self.seed, rank, size,
                                  progress=_BuildProgress(net) if self.progress and rank == 0 else None)
        # plastic projections (distsim.synapses) keep their own tables (engine.plastic)
        self.plastic = Plasticity(self) if any(pr.synapse is not None for pr in net.projections) else None
        if self.plastic is not None and self.threads > 1:
            raise SpecError("threads", self.threads, "must be 1 for a network with plastic synapses "
                            "(plastic delivery is not threaded yet)")
        dmin, dmax = self.syn.delay_range()
        if self.plastic is not None:
            pmin, pmax = self.plastic.delay_range()
            if pmin is not None:
                dmin, dmax = min(dmin, pmin) if dmin is not None else pmin, max(dmax or 0, pmax)
        big = 2 ** 31
        dmin = self.comm.allreduce_min(dmin if dmin is not None else big)
        dmax = self.comm.allreduce_max(dmax if dmax is not None else 0)
        if dmin == big:  # no synapses anywhere: slice length only sets the exchange cadence
            dmin = max(1, int(round(1.0 / self.dt)))
            dmax = dmin
        self.min_delay, self.max_delay = int(dmin), int(dmax)
        self._build_devices()
        # network spikes wait in per-arrival-step event lists (R_ev of them: the longest delay
        # plus one slice) and are scattered into the input rows of a slice at its start;
        # devices inject into those rows then too, so one slice of rows (R) is enough
        self.R = self.min_delay
        self.R_ev = self.max_delay + self.min_delay
        n = self.n_local
        self.ring_ex = np.zeros((self.R, n))
        self.ring_in = np.zeros((self.R, n))
        # with threads: each owns a part of the targets, its event lists, and a part of
        # every group's neurons (the two partitions need not agree; see engine contract)
        self.events = EventLists(self.R_ev, self.syn, self.n_local, self.threads)
        for g in self.groups:
            g.threads = self.threads
        # current input (dc/step/ac/noise generators) only when there is such a device: no rows else
        self.ring_cur = np.zeros((self.R if self.current_devs or self.current_kernels else 0, n))
        self.out_idx = np.empty(max(n, 1) * self.min_delay, dtype=np.int64)
        self.out_stamp = np.empty_like(self.out_idx)
        self.out_mult = np.ones_like(self.out_idx)  # multiplicity of each output record
        self.exchange = SpikeExchange(self.comm, self.out_idx.size)  # the spike exchange protocol
        self._no_rec = Rec(np.empty(0, np.int64), np.zeros(1, np.int64), np.empty((0, 0)), 1, 0)
        self.n_synapses = self.comm.allreduce_sum(self.syn.n + (self.plastic.n if self.plastic else 0))
        if self.plastic is not None:
            self.plastic.min_delay = self.min_delay
        self.has_multiplicity = any(MODELS[p.model].emits_multiplicity for p in net.populations)
        # the state at step 0, for reset(): copies, so later runs do not change it
        self.initial_state = {id(g): {k: v.copy() for k, v in g.state.items()} for g in self.groups}
        self.n_param_sets = 0  # parameter changes after the build (names their random streams)
        self._param_ranges = {}  # population -> {parameter: (min, max)} after set_params

    def _init_group(self, g):
        model = g.model
        g.dt = self.dt
        for key, par in model.params.items():
            g.p[key] = np.concatenate([self._param_array(pop, b[2], key, pop.params.get(key, Value(0, par.default)))
                                       for pop, b in zip(g.pops, g.bounds)])
        for key, default in model.bool_params.items():
            g.p[key] = np.concatenate([np.full(b[2].size, float(pop.params.get(key, default)))
                                       for pop, b in zip(g.pops, g.bounds)])
        for key, lp in model.list_params.items():
            # [neuron, component], zero-padded to the group's longest list (time constants
            # padded with 1 ms: a padded component never gets a jump, so it stays zero)
            lists = [model.list_value(pop.params, key) for pop in g.pops]
            width = max(len(x) for x in lists)
            pad = 1.0 if lp.rule == "positive" else 0.0
            g.p[key] = np.concatenate([np.tile(np.array(list(x) + [pad] * (width - len(x)), np.float64),
                                               (b[2].size, 1)).reshape(b[2].size, width)
                                       for x, b in zip(lists, g.bounds)])
        V0 = []
        for pop, b in zip(g.pops, g.bounds):
            v0 = pop.params.get("V_m")  # NEST: V_m starts at E_L unless given (or the model's own default)
            if v0 is None and model.V_m_default is not None:
                v0 = Value(0, model.V_m_default)
            V0.append(self._param_array(pop, b[2], "V_m", v0) if v0 is not None
                      else self._param_array(pop, b[2], "E_L", pop.params.get(
                          "E_L", Value(0, model.params["E_L"].default if "E_L" in model.params else 0.0))))
        g.cal = model.calibrate(g.p, self.dt)
        if set(g.cal) != set(model.derived):
            raise RuntimeError(f"{model.name}.calibrate returned {sorted(g.cal)}, declared {model.derived}")
        g.state = model.init_state(g.hi - g.lo, np.concatenate(V0), g.p, g.cal)
        if model.needs_keys:
            gids = np.concatenate([b[2] for b in g.bounds])
            g.keys = keys_per_gid(self.seed, TAG_ESCAPE, 0, gids)
        # when the whole group shares every parameter, each is passed as one element (and the
        # kernels stream no parameter arrays); otherwise every parameter is passed per neuron
        self._collapse(g)

    def _param_array(self, pop, gids, key, value, stream=None):
        """float64 array of one parameter over a population's local neurons ``gids``; a
        distribution is drawn per gid from the stream ``stream`` (default: the build's, named by
        population and parameter)."""
        if value.is_constant:
            return np.full(gids.size, value.a, dtype=np.float64)
        out = np.empty(gids.size, dtype=np.float64)
        kind, a, b, lo, hi = value.as_array_spec()
        ident = _ident(pop.name, key) if stream is None else _ident(pop.name, key, *stream)
        draw_per_gid(int(kind), a, b, lo, hi, self.seed, TAG_INIT, ident, gids, out)
        return out

    @staticmethod
    def _collapse(g):
        """Pass every parameter as one element when the whole group shares all of them (the
        kernels then hoist them into registers and vectorise), else per neuron (in place)."""
        arrays = [a for d in (g.p, g.cal) for a in d.values()]
        if g.model.collapse_shared and all(
                a.shape[0] >= 1 and np.all(a == a[:1]) for a in arrays):
            for d in (g.p, g.cal):
                for key, arr in d.items():
                    d[key] = arr[:1].copy()

    def _targets(self, dv):
        """Local (group, local indices) targeted by a device, one entry per population."""
        out = []
        for g in self.groups:
            for pop, (lo, hi, gids) in zip(g.pops, g.bounds):
                if pop.name not in dv.targets:
                    continue
                a, _ = self.gid_ranges[pop.name]
                offs = gids - a
                if dv.neuron_ids is not None:
                    mask = np.isin(offs, np.asarray(dv.neuron_ids, dtype=np.int64))
                elif dv.n_per_population is not None:
                    mask = offs < dv.n_per_population
                else:
                    mask = np.ones(offs.size, dtype=bool)
                out.append((g, gids[mask] // self.size))
        return out

    @staticmethod
    def report_name(pop, var):
        """Name of the recording of variable ``var`` of population ``pop``: the population's
        name for V_m, ``"<pop>:<var>"`` for any other variable."""
        return pop if var == "V_m" else f"{pop}:{var}"

    def voltmeter_columns(self):
        """dict report name (see :meth:`report_name`) -> int64 gids of the neurons recorded
        on this rank (every recorded population and variable, in population order, possibly
        empty)."""
        out = {}
        for g in self.groups:
            if g.rec is None:
                continue
            idx = g.rec[0]
            for pop, (lo, hi, _) in zip(g.pops, g.bounds):
                m = (idx >= lo) & (idx < hi)
                for var in g.rec_vars:
                    out[self.report_name(pop.name, var)] = idx[m] * self.size + self.rank
        return out

    def report_variables(self):
        """dict report name -> (variable, unit) of every recording (see voltmeter_columns)."""
        out = {}
        for g in self.groups:
            if g.rec is not None:
                for pop in g.pops:
                    for var in g.rec_vars:
                        out[self.report_name(pop.name, var)] = (var, g.model.recordables[var])
        return out

    def _build_devices(self):
        """Every device builds itself (``distsim.devices``), in device order; then each
        group gets its kernel arguments."""
        from ..devices import DEVICES
        ctx = _DeviceBuild(self.groups)
        self.spike_gens = []  # (arrival steps int64[], weight, local idx int64[])
        self.current_devs = []  # (change steps int64[], amplitudes float64[], idx): see _current_schedule
        self.current_kernels = []  # (kernel, args): kernel(ring_cur, t0, M, args) adds a slice's currents
        self.spike_rec_mask = np.zeros(self.n_local, dtype=bool)
        self.spike_recorders = []
        self.dev_max_delay = 0
        for di, dv in enumerate(self.net.devices):
            DEVICES[dv.type].build(self, di, dv, self._targets(dv), ctx)
        flat, width = stack_tables(ctx.tables)
        for g in self.groups:
            g.kernel_args(_poisson_blocks(ctx.poisson[id(g)], flat, width, g.hi - g.lo))

    # ---------------------------------------------------------------- run
    def request_stop(self):
        """Ask for a stop at the end of the current slice (safe from a signal handler); the
        request reaches every rank with the next spike exchange, so all stop at one step."""
        self.stop_requested = True
        if self._compiled is not None:
            self._compiled.flags[0] = 1  # engine.loop.F_STOP_REQ: read at every slice

    def uses_compiled_loop(self):
        """True when :meth:`run` uses the compiled loop: ``loop == "compiled"``, the
        communicator's slot exchange has a compiled form (``comm.compiled``; a test double
        may not), and no model of the network replaces ``update`` (a model's Python code
        after every slice; a declared instability check, ``NeuronModel.unstable_flag`` as
        aeif_cond_exp's, runs inside the compiled loop).
        Plastic projections (``engine.plastic``) and the ac/noise current kernels
        (``kernels.currents``) run inside the compiled loop. Not yet inside it, so run by
        the Python path: more than one thread (the threaded kernels run one parallel region
        each in Python)."""
        from ..models.base import NeuronModel
        base = NeuronModel.__dict__["update"].__func__
        return (self.loop == "compiled" and hasattr(self.exchange._op, "compiled") and self.threads == 1
                and all(getattr(g.model.update, "__func__", None) is base for g in self.groups))

    def run(self, t_ms, checkpoint_every_ms=None, on_checkpoint=None):
        """Simulate ``t_ms`` more milliseconds (a multiple of dt). Returns self.

        ``on_checkpoint(sim)`` is called on every rank after the slice that crosses each
        multiple of ``checkpoint_every_ms`` of simulated time, and when a stop was requested;
        after a requested stop ``run`` returns early with ``self.stopped`` True.

        Once per min-delay slice every group's V_m (its model's first recordable) is checked:
        when a neuron's became NaN or infinite every rank stops after that slice and raises
        :class:`NonFiniteState` (no checkpoint is taken of that state; the recorder has the
        slice's data); the simulation then runs again only after :meth:`reset` or
        :meth:`load_state`.
        """
        n_steps = int(round(t_ms / self.dt))
        if n_steps < 0 or abs(n_steps * self.dt - t_ms) > 1e-9 * max(1.0, t_ms):
            raise SpecError("t_sim_ms", t_ms, f"must be a non-negative multiple of dt_ms = {self.dt}")
        return self.run_until(self.step + n_steps, checkpoint_every_ms, on_checkpoint)

    def run_until(self, end, checkpoint_every_ms=None, on_checkpoint=None):
        """Simulate up to step ``end`` (absolute); see :meth:`run`. Returns self."""
        n_steps = end - self.step
        if self.failure is not None:
            raise RuntimeError(f"this simulation stopped on a {self.failure}; reset() or load_state() "
                               "before running it again")
        every = None
        if checkpoint_every_ms:
            every = max(1, int(round(checkpoint_every_ms / self.dt)))
        use_threads(self.threads)
        wall0 = time.perf_counter()
        if self.recorder is not None:
            self.recorder.begin(self)
        try:
            if self.uses_compiled_loop():
                self._run_compiled(end, n_steps, every, on_checkpoint, wall0)
            else:
                self._run_python(end, n_steps, every, on_checkpoint, wall0)
        finally:  # also when a NonFiniteState stops the run (the output's /meta reports it)
            self.sim_time_s += time.perf_counter() - wall0
            self.steps_run += self.step - (end - n_steps)
        return self

    def _run_python(self, end, n_steps, every, on_checkpoint, wall0):
        """run_until's loop over slices in Python (``_slice``)."""
        last_print = wall0
        while self.step < end:
            M = min(self.min_delay, end - self.step)
            nb = _recorder_boundary(self.recorder)  # e.g. a weight snapshot: a slice ends there
            if nb is not None and self.step < nb:
                M = min(M, nb - self.step)
            self._slice(self.step, M)
            prev = self.step
            self.step += M
            if self.recorder is not None:
                self.recorder.after_slice(self, self.step)
            if self.stopped:
                self._raise_if_nonfinite()  # collective: no checkpoint of a NaN state
            if on_checkpoint is not None and (self.stopped or (every and self.step // every > prev // every)):
                on_checkpoint(self)
            if self.stopped:
                break
            last_print = self._progress_tick(end, n_steps, wall0, last_print)

    def _run_compiled(self, end, n_steps, every, on_checkpoint, wall0):
        """run_until's loop over chunks of compiled slices (``engine.loop.run_slices``)."""
        from . import loop as L
        C = self._compiled
        if C is None:
            C = self._compiled = _CompiledLoop(self)
        last_print = wall0
        chunk = max(1, int(round(self.chunk_ms / self.dt)))
        rec = self.recorder
        while self.step < end:
            t0 = self.step
            b = min(end, t0 + chunk)
            if every:
                b = min(b, (t0 // every + 1) * every)
            nb = _recorder_boundary(rec)
            if nb is not None:
                b = min(b, nb)
            b = max(b, t0 + 1)
            # a slice ends exactly at the recorder's boundary (a weight snapshot: the weights of
            # the spikes delivered up to that step), as on the Python path (_run_python)
            stop = min(end, nb) if nb is not None and nb > t0 else end
            status, step = C.run(self, t0, stop, b, rec is not None)
            self.step = step
            if status == L.UNSTABLE:  # the slice from `step` made a neuron unstable: raise as _slice does
                if rec is not None:
                    C.hand_over(self, rec, t0, step)
                g = self.groups[int(C.flags[L.F_UNSTABLE])]
                g.model.check_stable(g, step, min(self.min_delay, end - step))
                raise RuntimeError(f"{g.model.name}: numerical instability between steps {step} and "
                                   f"{step + self.min_delay}")  # (check_stable raises first)
            if status == L.GROW:
                self.exchange.resize_to(_grown(self.exchange.capacity, int(C.flags[L.F_NMAX])))
            elif status == L.SHRINK:
                self.exchange.resize_to(max(self.exchange.initial_capacity, self.exchange.capacity // 2))
            if C.flags[L.F_STOPPED]:
                self.stopped = True
            if C.flags[L.F_NONFINITE]:
                self._nonfinite = (int(C.flags[L.F_NONFINITE]) - 1, int(C.flags[L.F_NONFINITE_STEP]))
            if rec is not None:
                C.hand_over(self, rec, t0, step)
                rec.after_slice(self, step)
            if self.stopped:
                self._raise_if_nonfinite()  # collective: no checkpoint of a NaN state
            if on_checkpoint is not None and (self.stopped or (every and step // every > t0 // every)):
                on_checkpoint(self)
            if self.stopped:
                break
            last_print = self._progress_tick(end, n_steps, wall0, last_print)

    def _raise_if_nonfinite(self):
        """After a stop (every rank, the same slice): raise :class:`NonFiniteState` on every
        rank if any rank found a non-finite V_m; the earliest (step, gid) is named, the same
        for any number of ranks. Sets :attr:`failure`. Collective; returns None otherwise."""
        mine = None
        if self._nonfinite is not None:
            li, start = self._nonfinite
            g = next(g for g in self.groups if g.lo <= li < g.hi)
            pop = next(p for p, (lo, hi, _) in zip(g.pops, g.bounds) if lo <= li < hi)
            var = next(iter(g.model.recordables))
            mine = {"gid": int(li * self.size + self.rank), "population": pop.name, "model": g.model.name,
                    "variable": var, "value": float(g.args.rec_vars[0][li - g.lo]),
                    "t_ms": self.step * self.dt, "t_from_ms": start * self.dt, "rank": self.rank}
        found = [x for x in self.comm.allgather(mine) if x is not None]
        if not found:
            return
        info = min(found, key=lambda x: x["gid"])  # every rank found it in this slice
        self.stopped = True
        self.failure = _nonfinite_message(info)
        raise NonFiniteState(self.failure, info)

    def _progress_tick(self, end, n_steps, wall0, last_print):
        """Print a progress line on rank 0 (with ``progress``) when 2 s of wall time passed
        since ``last_print`` or the run reached ``end``; returns the new last print time."""
        if self.progress and self.rank == 0:
            now = time.perf_counter()
            if now - last_print > 2.0 or self.step == end:
                self._print_progress(end, n_steps, now - wall0)
                return now
        return last_print

    def _print_progress(self, end, n_steps, wall):
        done = n_steps - (end - self.step)
        sim_ms = done * self.dt
        rtf = wall / (sim_ms * 1e-3) if sim_ms > 0 else float("nan")
        eta = (end - self.step) * self.dt * 1e-3 * rtf
        print(f"[distsim] t = {self.step * self.dt:9.1f} ms of {end * self.dt:.1f} ms "
              f"({100.0 * done / max(n_steps, 1):5.1f}%)  real-time factor {rtf:7.2f}  "
              f"time left {eta:7.1f} s", file=sys.stderr, flush=True)

    def _inject_devices(self, t0, M):
        R = self.R
        for arr, w, idx in self.spike_gens:
            a, b = np.searchsorted(arr, [t0, t0 + M])
            ring = self.ring_ex if w >= 0 else self.ring_in
            for s in arr[a:b]:
                ring[s % R, idx] += w
        for ch, amp, idx in self.current_devs:
            if idx.size == 0 or ch.size == 0:
                continue
            s = np.arange(t0, t0 + M)
            # amplitude set at step ch[k] applies from there on (read as input of that step)
            k = np.searchsorted(ch, s, side="right") - 1
            a = np.where(k >= 0, amp[np.maximum(k, 0)], 0.0)
            nz = a != 0.0
            for si, ai in zip(s[nz], a[nz]):
                self.ring_cur[si % R, idx] += ai
        for kernel, args in self.current_kernels:  # ac/noise generators (kernels.currents)
            if args.idx.size:
                kernel(self.ring_cur, t0, M, args)

    def _slice(self, t0, M):
        self.events.scatter(t0, M, self.ring_ex, self.ring_in, self.R)
        self._inject_devices(t0, M)
        n_out = 0
        rings = (self.ring_ex, self.ring_in, self.ring_cur)
        out = (self.out_idx, self.out_stamp, self.out_mult)
        samples = []
        for g in self.groups:
            if g.hi == g.lo and g.rec is None:
                continue
            if g.rec is not None:
                rec_idx, interval, di = g.rec
                n_rows = (t0 + M) // interval - t0 // interval
                buf = np.empty((n_rows, rec_idx.size * len(g.rec_vars)))
                rec = Rec(rec_idx, g.rec_codes, buf, interval, 0)
            else:
                rec = self._no_rec
            n_out, _ = g.model.update(g, t0, M, self.R, rings, out, n_out, rec)
            if g.rec is not None:
                stamps = (np.arange(t0 // interval + 1, (t0 + M) // interval + 1) * interval)
                samples.append((g, rec_idx, stamps, buf))
        # spikes emitted (a population node's record counts as its multiplicity)
        self.n_spikes += int(self.out_mult[:n_out].sum()) if self.has_multiplicity else n_out
        if self._nonfinite is None:  # once per slice (kernels.finite), as the compiled loop does
            for g in self.groups:
                j = first_nonfinite(g.args.rec_vars[0]) if g.hi > g.lo else -1
                if j >= 0:
                    self._nonfinite = (g.lo + j, t0)
                    break
        self._exchange_and_deliver(n_out)
        if self.recorder is not None:
            local_idx = self.out_idx[:n_out]
            stamps = self.out_stamp[:n_out]
            gids = local_idx * self.size + self.rank
            m = self.spike_rec_mask[local_idx]
            if self.has_multiplicity:  # a record of multiplicity k is k spikes
                mult = self.out_mult[:n_out][m]
                self.recorder.spikes(np.repeat(gids[m], mult), np.repeat(stamps[m], mult))
            else:
                self.recorder.spikes(gids[m], stamps[m])
            for g, rec_idx, st, buf in samples:
                nrec = rec_idx.size
                for pop, (lo, hi, _) in zip(g.pops, g.bounds):
                    cols = np.flatnonzero((rec_idx >= lo) & (rec_idx < hi))
                    for v, var in enumerate(g.rec_vars):
                        self.recorder.samples(self.report_name(pop.name, var),
                                              rec_idx[cols] * self.size + self.rank, st,
                                              buf[:, v * nrec + cols])

    def _exchange_and_deliver(self, n_out):
        """Send this slice's n_out spikes (out_idx, out_stamp, out_mult) to every rank and
        receive every rank's in one collective (``engine.exchange``; a stop request rides
        along), then deliver them into the event lists in (stamp, gid) order (plastic synapses
        after static ones, their targets' histories first updated with this slice's spikes)."""
        if self.plastic is not None:
            self.plastic.record_post(self.out_idx[:n_out], self.out_stamp[:n_out])
        g, st, mult, stop = self.exchange.exchange(self.out_idx, self.out_stamp, self.out_mult, n_out,
                                                   self.stop_requested or self._nonfinite is not None)
        if stop:
            self.stopped = True
        if g.size:
            order = sort_spikes(g, st, self.n_neurons)
            self.n_events += self.events.deliver(g, st, mult, order, self.syn)
            if self.plastic is not None:
                self.n_events += self.plastic.deliver(g, st, order, self.events)

    # ---------------------------------------------------------------- info
    def info(self):
        """Run facts summed over ranks: build/sim time (s), RTF, synapses, peak RSS (bytes)."""
        t_ms = self.step * self.dt
        return {
            "n_neurons": self.n_neurons,
            "n_synapses": int(self.n_synapses),
            "n_ranks": self.size,
            "n_threads": self.threads,
            "dt_ms": self.dt,
            "t_sim_ms": t_ms,
            "build_time_s": self.comm.allreduce_max(self.build_time_s),
            "sim_time_s": self.comm.allreduce_max(self.sim_time_s),
            # wall time over the simulated time of this object's runs (after a restore: the resumed part)
            "rtf": self.comm.allreduce_max(self.sim_time_s) / (self.steps_run * self.dt * 1e-3)
            if self.steps_run > 0 else float("nan"),
            "peak_rss_bytes": int(self.comm.allreduce_sum(peak_rss_bytes())),
            "synapse_bytes": int(self.comm.allreduce_sum(self.syn.nbytes + (self.plastic.nbytes if self.plastic else 0))),
            "n_events": int(self.comm.allreduce_sum(self.n_events)),
            "n_spikes": int(self.comm.allreduce_sum(self.n_spikes)),
            "min_delay_steps": self.min_delay,
            "max_delay_steps": self.max_delay,
        }

    # ---------------------------------------------------------------- public state API
    def state_dict(self):
        """This rank's dynamic state by gid (what a checkpoint stores). Returns a dict:
        ``step`` (next step), ``ring_slots`` (number of event lists), ``state``
        {population: {variable: array over the population's neurons on this rank in gid order
        (``partition.local_gids``)}}, ``pending`` {kind: (slot, gid, value)} (the events on
        their way, ``EventLists.records``) and ``ring_cur`` (current-input rows, pA, [rows,
        local neurons]). Arrays may be views of the live state: copy to keep them."""
        out = {"step": self.step, "ring_slots": self.R_ev,
               "state": {pop.name: g.pop_state(k) for g in self.groups for k, pop in enumerate(g.pops)},
               "pending": self.events.records(self.rank, self.size),
               "ring_cur": self.ring_cur[:, : self.n_local]}
        if self.plastic is not None:  # weights, traces, histories (engine.plastic.add_state)
            self.plastic.add_state(out, self.groups)
        return out

    def load_state(self, state):
        """Set this rank's dynamic state from a dict shaped like :meth:`state_dict` (possibly
        written by another number of ranks; ``pending``: this rank's events, each target's in
        list order). Returns None."""
        self._compiled = None  # the compiled loop holds the old arrays: rebuild it at the next run
        if self.failure is not None:  # a run that stopped on a non-finite state may go on now
            self.stopped = False
        self.failure = self._nonfinite = None
        for g in self.groups:
            for k, pop in enumerate(g.pops):
                for var, view in g.pop_state(k).items():
                    _fit_columns(view, state["state"][pop.name][var], f"{pop.name}.{var}")
        self.events.load(state["pending"], self.rank, self.size)
        if self.plastic is not None:  # collective (the per-source state is gathered)
            self.plastic.load_state(state, self.groups, self.comm)
        self.ring_cur[:, : self.n_local] = state["ring_cur"]
        self.step = int(state["step"])

    def set_recorder(self, recorder):
        """Give the spikes and samples of the following slices to ``recorder`` (None: record
        nothing). Returns None."""
        self.recorder = recorder

    def reset_counts(self):
        """Count spikes and synaptic events from zero again (after a warm-up). Returns None."""
        self.n_spikes = self.n_events = 0

    # ---------------------------------------------------------------- between runs
    def _locate(self, pop):
        """(group, population index in it, slice of its neurons in the group's arrays, local
        gids) of population ``pop`` on this rank (every population is in a group on every
        rank, with no local neurons possibly)."""
        for g in self.groups:
            for k, p in enumerate(g.pops):
                if p.name == pop:
                    lo, hi, gids = g.bounds[k]
                    return g, k, slice(lo - g.lo, hi - g.lo), gids
        raise unknown_name("population", pop, [p.name for p in self.net.populations], "population")

    @staticmethod
    def _state_key(model, name):
        """The state array of variable ``name``: a recordable's NEST name (``V_m``) or a state
        variable's own name; None if neither."""
        if name in model.record_from_state:
            return model.record_from_state[name]
        return name if name in model.state else None

    def get_values(self, pop, name):
        """(gids, values) of parameter or state variable ``name`` (NEST name: ``tau_m``,
        ``V_m``, ``I_syn_ex``...) of population ``pop``'s neurons on this rank, in gid order;
        ``values`` is a copy (2-D [neuron, component] for list parameters). No communication.
        SpecError naming the population for an unknown name."""
        g, k, sl, gids = self._locate(pop)
        m = g.model
        n = g.hi - g.lo
        if name in m.params or name in m.bool_params or name in m.list_params:
            a = g.p[name]
            if a.shape[0] != n:  # shared by the whole group: one element
                return gids.copy(), np.repeat(a[:1], gids.size, axis=0)
            return gids.copy(), a[sl].copy()
        key = self._state_key(m, name)
        if key is None:
            allowed = set(m.params) | set(m.bool_params) | set(m.list_params) | set(m.record_from_state) | set(m.state)
            raise unknown_key(f"populations[{pop}]", name, allowed, f"parameter or state variable of {m.name}")
        return gids.copy(), g.state[key][sl].copy()

    def _local_values(self, pop, gids, name, field_, value, n, stream, check):
        """float64 values over local ``gids`` of ``value``: a number or distribution (drawn
        per gid from stream ``stream``) or an array of one value per neuron of the population
        (``n``; each rank takes its own). ``check(field, Value)`` validates (a constant made
        of each array's smallest and largest element). Returns (values, (min, max))."""
        if isinstance(value, (np.ndarray, list, tuple)):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise SpecError(field_, value, f"must be a number, a distribution or {n} numbers") from None
            if arr.shape != (n,):
                raise SpecError(field_, f"array of shape {arr.shape}", f"must have one value per neuron ({n})")
            lo, hi = (float(arr.min()), float(arr.max())) if n else (0.0, 0.0)
            for x in ((lo, hi) if not np.isnan(arr).any() else (float("nan"),)):
                check(field_, Value(0, x))
            a, _ = self.gid_ranges[pop.name]
            return arr[gids - a], (lo, hi)
        v = parse_value(field_, value)
        check(field_, v)
        return self._param_array(pop, gids, name, v, stream=stream), bounds(v)

    def set_params(self, pop, values):
        """Set parameters of population ``pop`` between runs (every rank, the same call).
        ``values``: dict NEST name -> number, distribution (as in a parameter file; drawn per
        gid from a stream of its own for each call, so any number of ranks gives the same
        values) or array with one value per neuron of the population; flags take True/False.
        Validated as a parameter file is (same SpecError, e.g. ``populations[E].params.tau_m =
        -1.0: must be > 0 (ms)``, relations such as V_reset < V_th included) before anything
        changes; then the model's derived constants are recomputed. State is not touched (set
        ``V_m`` with :meth:`set_state`). Returns None."""
        self._compiled = None  # the compiled loop holds the old arrays: rebuild it at the next run
        g, k, sl, gids = self._locate(pop)
        m, spop = g.model, g.pops[k]
        f = f"populations[{pop}].params"
        check_keys(f, values, list(m.params) + list(m.bool_params), f"parameter of {m.name} that can be set "
                                                                       "between runs")
        rng = self._param_ranges.get(pop)
        if rng is None:
            rng = {key: bounds(v) for key, v in spop.params.items()
                   if key not in m.list_params and key not in m.bool_params}
        rng = dict(rng)
        self.n_param_sets += 1
        local = {}
        for key in sorted(values):
            v = values[key]
            if key in m.bool_params:
                if not isinstance(v, (bool, np.bool_)):
                    raise SpecError(f"{f}.{key}", v, "must be true or false")
                local[key] = np.full(gids.size, float(v))
                continue
            local[key], rng[key] = self._local_values(spop, gids, key, f"{f}.{key}", v, spop.n,
                                                      ("set", self.n_param_sets), m.params[key].check)
        m.check_relations(f, rng, self.dt)
        self._param_ranges[pop] = rng
        n = g.hi - g.lo
        for d in (g.p, g.cal):  # shared (one element): one per neuron again
            for key, a in d.items():
                if a.shape[0] != n:
                    d[key] = np.repeat(a[:1], n, axis=0)
        for key, arr in local.items():
            g.p[key][sl] = arr
        cal = m.calibrate(g.p, self.dt)
        g.cal = {key: cal[key] for key in m.derived}
        self._collapse(g)
        g.kernel_args((g.args.pg, g.args.pex, g.args.pin, g.args.spk))

    def set_state(self, pop, name, value, initial=False):
        """Set state variable ``name`` (``V_m`` or another of the model's state variables) of
        population ``pop`` (every rank, the same call): a number, a distribution (drawn per gid
        from a stream of its own for each call) or one value per neuron of the population.
        ``initial``: also make it the value :meth:`reset` returns to. Returns None."""
        self._compiled = None  # the compiled loop holds the old arrays: rebuild it at the next run
        g, k, sl, gids = self._locate(pop)
        m, spop = g.model, g.pops[k]
        key = self._state_key(m, name)
        f = f"populations[{pop}].state"
        if key is None or g.state[key].ndim != 1 or g.state[key].dtype != np.float64:
            allowed = [v for v in set(m.record_from_state) | set(m.state)
                       if self._state_key(m, v) in g.state and g.state[self._state_key(m, v)].ndim == 1
                       and g.state[self._state_key(m, v)].dtype == np.float64]
            raise unknown_key(f, name, allowed, f"settable state variable of {m.name}")
        self.n_param_sets += 1

        def finite(field_, v):
            lo, hi = bounds(v)
            if v.kind != 1 and not (math.isfinite(lo) and math.isfinite(hi)):
                raise SpecError(field_, v.to_raw(), f"must be finite ({m.recordables.get(name, m.state[key].unit)})")

        vals, _ = self._local_values(spop, gids, name, f"{f}.{name}", value, spop.n,
                                     ("state", self.n_param_sets), finite)
        g.state[key][sl] = vals
        if initial:
            self.initial_state[id(g)][key][sl] = vals

    def set_device_params(self, index, params):
        """Change parameters of stimulator ``net.devices[index]`` between runs (every rank, the
        same call): ``params`` as in a parameter file (e.g. ``rate_Hz``, ``spike_times_ms``,
        ``amplitude_pA``), validated as there (SpecError naming ``devices[i](type).key``)
        before anything changes. The device acts with its new parameters from the current
        step on: a Poisson generator draws at the new rate, a current generator follows its
        new schedule, and a spike generator emits the spikes of its new train stamped after
        now, while the spikes it emitted before (in flight, by their delay) still arrive.
        Its activity window and times are NEST's, relative to t = 0 as always. Returns None."""
        self._compiled = None  # the compiled loop holds the old arrays: rebuild it at the next run
        import copy as _copy
        from ..spec.network import STIMULATORS, _validate_device
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.net.devices):
            raise SpecError("device", index, f"must be a device index in [0, {len(self.net.devices) - 1}]")
        old = self.net.devices[index]
        if old.type not in STIMULATORS:
            raise SpecError(f"devices[{index}]({old.type})", old.type,
                            f"only stimulators ({', '.join(STIMULATORS)}) can be changed between runs")
        dv = _copy.deepcopy(old)
        dv.params.update(params)
        names = {p.name for p in self.net.populations}
        sizes = {p.name: p.n for p in self.net.populations}
        _validate_device(self.net, index, dv, names, sizes, self.dt)
        k = sum(1 for d in self.net.devices[:index] if d.type == "spike_generator")
        in_flight = None
        if old.type == "spike_generator":  # spikes emitted before now, arriving from now on
            arr, w, idx = self.spike_gens[k]
            d_old = int(round(old.params["delay_ms"] / self.dt))
            in_flight = arr[(arr >= self.step) & (arr < self.step + d_old)]
        self.net.devices[index] = dv
        self._build_devices()
        if in_flight is not None:
            arr, w, idx = self.spike_gens[k]
            d_new = int(round(dv.params["delay_ms"] / self.dt))
            arr = np.sort(np.concatenate([in_flight, arr[arr >= self.step + d_new]]), kind="stable")
            self.spike_gens[k] = (arr, w, idx)

    def reset(self):
        """Back to step 0 with the initial state (as built, or as changed by ``set_state(...,
        initial=True)``): state variables, pending events, current input, stop flag and
        counters. Kept: connections, devices, and parameters (of neurons and devices) as last
        set. Random streams are
        addressed by step, so the runs after a reset repeat those of a fresh build with the
        same parameters bit for bit. Returns None."""
        self._compiled = None  # the compiled loop holds the old arrays: rebuild it at the next run
        for g in self.groups:
            for key, v in self.initial_state[id(g)].items():
                g.state[key][...] = v
        self.events._empty()  # empty lists; the thread partition of the targets is kept
        self._build_devices()  # every device from t = 0, with its parameters as last set
        self.ring_ex[...] = 0.0
        self.ring_in[...] = 0.0
        self.ring_cur[...] = 0.0
        self.step = 0
        self.n_spikes = self.n_events = 0
        self.stopped = self.stop_requested = False
        self.failure = self._nonfinite = None



def _fit_columns(view, src, name):
    """``view[...] = src`` where a 2-D state variable ``[neuron, component]`` may have another
    number of components in ``src``: its width is the longest of the neurons of a group on
    one rank (gif_pop_psc_exp's history bins: a rank holding none of a population's nodes has
    width 1), so it differs between ranks and rank counts. A neuron's own components come
    first and the rest are zero: missing columns are zero, surplus columns must be zero."""
    src = np.asarray(src)
    if view.ndim < 2 or src.ndim != view.ndim or src.shape[1:] == view.shape[1:]:
        view[...] = src
        return
    w = view.shape[1]
    if src.shape[1] > w:
        if np.any(src[:, w:] != 0):
            raise ValueError(f"state {name}: {src.shape[1]} components given, this group holds {w} "
                             "and the surplus ones are not zero")
        view[...] = src[:, :w]
    else:
        view[:, :src.shape[1]] = src
        view[:, src.shape[1]:] = 0


def _grown(capacity, n_max):
    from .exchange import grown_capacity
    return grown_capacity(capacity, n_max)


def _recorder_boundary(rec):
    """The next step at which ``rec`` must see ``after_slice`` (its ``boundary()``), or None."""
    f = getattr(rec, "boundary", None) if rec is not None else None
    return f() if f is not None else None


class _CompiledLoop:
    """What the compiled loop (``engine.loop.run_slices``) of one Simulation keeps between
    calls: the device arrays, the groups' arguments, the stop/count flags, the sample and
    spike buffers, and the compiled entry point."""

    def __init__(self, sim):
        from . import loop as L
        from ..kernels.currents import current_tables
        self.L = L
        self.flags = np.zeros(L.N_FLAGS, np.int64)
        self.flags[L.F_STOP_REQ] = int(sim.stop_requested)
        i64 = lambda x: np.ascontiguousarray(x, dtype=np.int64)  # noqa: E731
        sg = sim.spike_gens
        cd = sim.current_devs
        cum = lambda parts: i64(np.concatenate([[0], np.cumsum([p.size for p in parts])]))  # noqa: E731
        cat = lambda parts, dt: (np.concatenate(parts).astype(dt) if parts else np.empty(0, dt))  # noqa: E731
        self.dev = L.LoopDevices(cat([a for a, _, _ in sg], np.int64), cum([a for a, _, _ in sg]),
                                 np.array([w for _, w, _ in sg], np.float64),
                                 cat([i for _, _, i in sg], np.int64), cum([i for _, _, i in sg]),
                                 cat([c for c, _, _ in cd], np.int64), np.ascontiguousarray(
                                     cat([a for _, a, _ in cd], np.float64)),
                                 cum([c for c, _, _ in cd]), cat([i for _, _, i in cd], np.int64),
                                 cum([i for _, _, i in cd]), current_tables(sim.current_kernels))
        self.groups = tuple(g.args for g in sim.groups)
        self.empty_rec = [Rec(np.empty(0, np.int64), g.rec_codes, np.empty((0, 0)), 1, 0) for g in sim.groups]
        self.rows = np.zeros(len(sim.groups), np.int64)
        self.spk_g = np.empty(1024, np.int64)
        self.spk_s = np.empty(1024, np.int64)
        self.n_rec = 0
        self.syn = (sim.syn.row_ptr, sim.syn.tgt, sim.syn.w, sim.syn.d)
        self.pl = self._plastic(sim)
        self.cached = all(type(g.args.S).__module__.startswith("distsim.") for g in sim.groups)
        self.fn = None
        self.recs = None

    def _plastic(self, sim):
        """engine.loop.LoopPlastic of the simulation's plastic projections (one placeholder
        table and no history without any)."""
        from ..kernels.plastic import placeholder_args
        P = sim.plastic
        if P is None:
            z = np.zeros(0, np.int64)
            return self.L.LoopPlastic((placeholder_args(),), z, np.zeros(0), False, np.int64(0), float(sim.dt))
        return self.L.LoopPlastic(P.loop_args(), P.k_at, P.k_val, bool(P.any_history), np.int64(P.min_delay),
                                  float(P.dt))

    @staticmethod
    def _history(sim):
        """The plastic histories (kernels.plastic), or empty ones of the same types."""
        if sim.plastic is not None:
            return sim.plastic.H
        i2, f2, i1, f1 = np.zeros((0, 0), np.int64), np.zeros((0, 0)), np.zeros(0, np.int64), np.zeros(0)
        return (i2, f2, i2, i1, i1, f1, i1, i1, i1, f1)

    def _recs(self, sim, t0, last, recording):
        """Rec per group with rows for the samples of steps t0..last-1 (empty if not recording)."""
        out = []
        for g, empty in zip(sim.groups, self.empty_rec):
            if g.rec is None or not recording:
                out.append(empty)
                continue
            rec_idx, interval, _ = g.rec
            n_rows = last // interval - t0 // interval
            out.append(Rec(rec_idx, g.rec_codes, np.empty((n_rows, rec_idx.size * len(g.rec_vars))),
                           interval, 0))
        return tuple(out)

    def run(self, sim, t0, end, boundary, recording):
        """One compiled call from step t0; returns (status, next step)."""
        L = self.L
        M = sim.min_delay
        last = min(end, t0 + -(-(boundary - t0) // M) * M)  # the latest step this call reaches
        self.recs = self._recs(sim, t0, last, recording)
        self.rows[:] = 0
        x = sim.exchange
        self.flags[L.F_QUIET] = x._quiet
        self.flags[L.F_STOP_REQ] = int(sim.stop_requested)
        n0 = self.flags[L.F_SPIKES], self.flags[L.F_EVENTS], self.flags[L.F_SECOND]
        ev = sim.events
        single, multiple = ev.thread0_pools()  # the loop runs one thread (uses_compiled_loop)
        args = (self.groups, self.recs, self.rows, self.dev, (sim.ring_ex, sim.ring_in, sim.ring_cur),
                (sim.out_idx, sim.out_stamp, sim.out_mult), single, multiple, sim.R_ev,
                x.compiled(), self.syn, self.pl, self._history(sim), sim.spike_rec_mask, self.spk_g, self.spk_s, self.flags,
                int(t0), int(end), int(boundary), int(M), int(sim.R), int(sim.n_neurons),
                int(sim.size), int(sim.rank), bool(sim.has_multiplicity), bool(recording))
        if self.fn is None:
            self.fn = L.typed_loop(args, self.cached)
        status, step, single, multiple, self.spk_g, self.spk_s, self.n_rec, H = self.fn(*args)
        ev.set_thread0_pools(single, multiple)  # possibly grown inside the call
        if sim.current_kernels:  # the ac_generators' oscillators, one state with the Python path's
            from ..kernels.currents import store_oscillators
            store_oscillators(self.dev.cur, sim.current_kernels)
        if sim.plastic is not None:
            sim.plastic.H = H  # possibly grown inside the call
        sim.n_spikes += int(self.flags[L.F_SPIKES] - n0[0])
        sim.n_events += int(self.flags[L.F_EVENTS] - n0[1])
        x.n_second_rounds += int(self.flags[L.F_SECOND] - n0[2])
        x._quiet = int(self.flags[L.F_QUIET])
        return int(status), int(step)

    def hand_over(self, sim, recorder, t0, step):
        """Give the recorder the spikes and samples of the last call (steps t0..step-1)."""
        n = self.n_rec
        recorder.spikes(self.spk_g[:n].copy(), self.spk_s[:n].copy())
        self.n_rec = 0
        for g, rec in zip(sim.groups, self.recs):
            if g.rec is None:
                continue
            rec_idx, interval, _ = g.rec
            stamps = np.arange(t0 // interval + 1, step // interval + 1) * interval
            buf = rec.buf[:stamps.size]
            nrec = rec_idx.size
            for pop, (lo, hi, _) in zip(g.pops, g.bounds):
                cols = np.flatnonzero((rec_idx >= lo) & (rec_idx < hi))
                for v, var in enumerate(g.rec_vars):
                    recorder.samples(sim.report_name(pop.name, var), rec_idx[cols] * sim.size + sim.rank,
                                     stamps, buf[:, v * nrec + cols])


class _DeviceBuild:
    """What the devices of one build share: Poisson CDF tables (and the index of each mean)
    and, per group, its Poisson blocks in device order."""

    def __init__(self, groups):
        self.tables, self.table_of = [], {}
        self.poisson = {id(g): [] for g in groups}

    @staticmethod
    def indices(targets):
        """Local indices (int64) of a device's targets [(group, local indices)]."""
        return np.concatenate([t[1] for t in targets]) if targets else np.empty(0, np.int64)


class _BuildProgress:
    """Prints (rank 0, stderr) which projection the synapse build is at, at most every 2 s
    and only once the build has taken more than 2 s: long builds show progress, short
    ones stay quiet."""

    def __init__(self, net):
        self.net = net
        self.t0 = self.last = time.perf_counter()

    def __call__(self, stage, i, n):
        now = time.perf_counter()
        if now - self.last < 2.0:
            return
        self.last = now
        pr = self.net.projections[i]
        print(f"[distsim] build: {stage} synapses, projection {i + 1}/{n} ({pr.source} -> {pr.target}, "
              f"{pr.rule}), {now - self.t0:.0f} s", file=sys.stderr, flush=True)


def _poisson_blocks(blocks, tables, width, n):
    """Kernel arguments for a group's Poisson blocks [(j indices, keys, table, weight, start,
    stop)]: contiguous index runs become ranges, others index lists (kernels.driver.
    PoissonBlocks); plus the scratch arrays of the driver (Poisson input ex/in, spike
    multiplicities)."""
    j0, j1, kptr, iptr, tab, w, start, stop, keys, idx = ([] for _ in range(10))
    nk = ni = 0
    for js, ks, t, wt, a, b in blocks:
        if js.size == 0:
            continue
        contiguous = js.size == js[-1] - js[0] + 1
        j0.append(int(js[0]) if contiguous else 0)
        j1.append(int(js[-1]) + 1 if contiguous else js.size)
        iptr.append(-1 if contiguous else ni)
        if not contiguous:
            idx.append(js)
            ni += js.size
        kptr.append(nk)
        keys.append(ks)
        nk += ks.size
        tab.append(t * width)
        w.append(wt)
        start.append(a)
        stop.append(b)
    i64 = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    return (PoissonBlocks(i64(j0), i64(j1), i64(kptr), i64(iptr), i64(tab), np.array(w, dtype=np.float64),
                          i64(start), i64(stop),
                          np.concatenate(keys) if keys else np.empty(0, np.uint64),
                          np.concatenate(idx).astype(np.int64) if idx else np.empty(0, np.int64),
                          tables),
            np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64))


_FAR = 2 ** 62  # "never" in steps


def _window_steps(p, tps):
    """(t_min, t_max) in steps of a validated stimulator's origin_ms + start_ms and origin_ms +
    stop_ms (t_max may be inf), NEST's Device::pre_run_hook."""
    origin = device_time_steps(p["origin_ms"], tps)
    return origin + device_time_steps(p["start_ms"], tps), origin + device_time_steps(p["stop_ms"], tps)


def _spike_arrivals(p, dt, tps, t_min, t_max, d):
    """int64 steps in which a spike_generator's spikes reach their targets (sorted). NEST emits
    a spike of absolute stamp S = origin + stamp iff S >= 1 (S <= 0 is in the past at the first
    step) and t_min < S <= t_max; it reaches the target in the target's step S - 1 + d."""
    origin = device_time_steps(p["origin_ms"], tps)
    stamps = spike_generator_stamps("spike_times_ms", p["spike_times_ms"], dt, tps,
                                    p["allow_offgrid_times"], p["shift_now_spikes"], origin)
    lo = max(1, t_min + 1)
    out = [origin + s - 1 + d for s in stamps
           if np.isfinite(s) and lo <= origin + s and origin + s <= t_max]
    return np.array(out, dtype=np.int64)


def _current_schedule(kind, p, dt, tps, t_min, t_max, d):
    """(change steps int64[], amplitudes float64[]) of a current generator: from input row
    ``ch[k]`` on (the row the neuron reads at the end of that step) the current is
    ``amp[k]`` pA, before ``ch[0]`` it is 0. NEST sends in steps e >= 0 with
    t_min < e + 2 <= t_max the amplitude set by the last change with stamp <= e + 1 (a
    step_current_generator's stamps are absolute, >= 1); what is sent in step e arrives in
    row e + d."""
    lo = max(0, t_min - 1)  # first sending step
    hi = t_max - 1 if np.isfinite(t_max) else _FAR  # one past the last sending step
    if hi <= lo:
        return np.zeros(0, np.int64), np.zeros(0)
    if kind == "dc_generator":
        ch, amp = [lo, hi], [p["amplitude_pA"], 0.0]
    else:
        stamps = step_current_stamps("amplitude_times_ms", p["amplitude_times_ms"], dt, tps,
                                     p["allow_offgrid_times"])
        vals = p["amplitude_values_pA"]
        # amplitude in sending step e: the last change with stamp <= e + 1
        ch, amp = [lo], [0.0]
        for s, v in zip(stamps, vals):
            if not np.isfinite(s):
                break
            e = s - 1
            if e <= lo:
                amp[0] = v
            elif e < hi:
                ch.append(e)
                amp.append(v)
        ch.append(hi)
        amp.append(0.0)
    ch = np.array(ch, dtype=np.int64)
    keep = ch < _FAR
    return ch[keep] + d, np.array(amp)[keep]
