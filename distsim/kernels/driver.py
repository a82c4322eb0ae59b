"""The one generic slice driver (pure numba): runs any declared neuron model over a slice.

A model (``distsim.models``) supplies ONE numba function for its dynamics, in one of two
forms:

- ``neuron(j, S, p, x) -> multiplicity`` advances neuron ``j`` by one step and returns 0 (no
  spike), 1 (a spike) or k (a population node's k spikes). The driver loops over the
  neurons; when the whole group shares its parameters it builds ``p`` once per step, so a
  small branch-free function vectorises (iaf models, ~1 ns per neuron). Use this form for
  short branch-free updates.
- ``block(n, S, P, shared, x, spk)`` advances all n neurons by one step and writes their
  multiplicities into ``spk``; parameters are P's arrays at index ``0 if shared else j``.
  Use this form for updates with branches or inner loops (gif_psc_exp): bind every array
  (``V = S.V``) BEFORE the loop over neurons. Taking an array out of a tuple inside the
  loop costs two atomic reference-count operations per neuron whenever numba cannot prune
  them (any branch), which made gif_psc_exp 5x slower in the per-neuron form.

Arguments:

- ``S``: the group's state, a named tuple of arrays (one entry per neuron, index ``j``;
  2-D arrays ``[neuron, component]``), updated in place;
- ``p``: this neuron's parameters, a named tuple of scalars (rows for list parameters):
  the model's NEST parameters, flags and derived constants (``calibrate``); ``P``: the same
  fields as arrays (length 1 when shared);
- ``x``: the step's input, :data:`StepIn`: ``s`` (step), ``rex`` / ``rin`` (network input
  of the step, pA or mV, zero-based views of the input rows; read only: the driver clears
  them), ``pex`` / ``pin`` (the step's Poisson input) and ``keys`` (per-neuron random
  stream keys, models with noise of their own).

:func:`run_group` does everything else, the same for every model, in NEST's order: Poisson
draws of the step, the model's update, clearing the step's input rows, then at the end of
the step the current input (pA, read into the state variable the model names
``current_input``, acting from the next step), the spike records (stamp s + 1, with their
multiplicity) and the recorder samples.

The model's function is found at compile time from the type of ``S`` (:func:`neurons_step`,
an overload keyed by the model's state class), not passed as an argument: numba can cache a
function specialised on argument types but not one that takes another function as an
argument. So :func:`run_group` is one cached function with one specialisation per model, and
any numba code can call it with grouped arguments (see ``distsim.engine``).

Do not mark these overloads ``inline="always"``: numba 0.60's IR inliner, inlining a model
function through an overload, dropped its stores into arrays taken from named tuples (the
input rows were never cleared, synaptic currents not updated). Numba-level inlining of
the model function into the plain ``njit`` loop of :func:`register_neuron` is safe and is
checked by tests/unit/test_driver_bit_identity.py; LLVM inlines the rest.
"""
import glob
import hashlib
import os
from collections import namedtuple

import numpy as np
from numba import njit, prange
from numba.core import caching as _caching
from numba.extending import overload

from .neurons import _poisson_step

#: the input of one step as the model function sees it (see the module docstring)
StepIn = namedtuple("StepIn", "s rex rin pex pin keys")

#: everything :func:`run_group` needs of one group, built once (engine.simulation.Group):
#: local range [lo, hi), shared (all parameters length 1), S (state), P (parameter arrays,
#: per neuron or length 1), cur (the state array current input goes to), rec_vars (the
#: recordable state arrays, in the model's ``recordables`` order), keys, pg
#: (:data:`PoissonBlocks`), and scratch arrays pex, pin (Poisson input), spk (multiplicities)
GroupArgs = namedtuple("GroupArgs", "lo hi shared S P cur rec_vars keys pg pex pin spk")

#: a group's Poisson input blocks (see kernels.neurons._poisson_step) and the CDF tables
PoissonBlocks = namedtuple("PoissonBlocks", "j0 j1 kptr iptr tab w start stop keys idx tables")

#: a recorder request of one slice: local indices, variable codes (indices into rec_vars),
#: sample buffer [row, variable-major columns], interval (steps), first free row
Rec = namedtuple("Rec", "idx codes buf interval row")

_NEURONS = {}  # state named-tuple class -> the model's neurons loop (see register_neuron)


def register_block(state_cls, fn):
    """Make ``fn(n, S, P, shared, x, spk)`` (a model's loop over its neurons for one step)
    the update of groups whose state is a ``state_cls`` tuple."""
    _NEURONS[state_cls] = fn


def register_neuron(state_cls, fn):
    """Make ``fn`` (the model's per-neuron function) the update of groups whose state is a
    ``state_cls`` tuple: builds the model's loop over neurons around it."""

    @njit
    def loop(n, S, P, shared, x, spk):
        if shared:  # parameters hoisted into registers (~1 ns/neuron for iaf models)
            p = params_at(P, 0)
            for j in range(n):
                spk[j] = fn(j, S, p, x)
        else:
            for j in range(n):
                spk[j] = fn(j, S, params_at(P, j), x)

    _NEURONS[state_cls] = loop


_UNSTABLE = {}  # state named-tuple class -> its instability flag (see register_unstable)


def register_unstable(state_cls, name):
    """Groups whose state is a ``state_cls`` tuple mark a numerically unstable neuron with
    a negative ``name`` state variable (models.base.NeuronModel.unstable_flag)."""
    _UNSTABLE[state_cls] = name


def group_unstable(g):
    """True when a neuron of group ``g`` (:data:`GroupArgs`) is marked unstable (its model's
    ``unstable_flag`` < 0); always False for models without the flag. Callable from numba
    only."""
    raise NotImplementedError("group_unstable is compiled by numba")


@overload(group_unstable)
def _group_unstable(g):
    fields = getattr(g, "fields", None)
    if fields is None or "S" not in fields:
        return None
    name = _UNSTABLE.get(getattr(g.types[fields.index("S")], "instance_class", None))
    if name is None:
        return lambda g: False
    src = (f"def impl(g):\n    a = g.S.{name}\n    for j in range(a.shape[0]):\n        if a[j] < 0:\n"
           f"            return True\n    return False\n")
    ns = {}
    exec(src, ns)  # the flag's field by name: numba has no getattr with a string
    return ns["impl"]


def neurons_step(n, S, P, shared, x, spk):
    """Advance the n neurons of a group by one step with the model's function (chosen by
    S's type), writing their spike multiplicities into spk. Callable from numba only."""
    raise NotImplementedError("neurons_step is compiled by numba")


@overload(neurons_step)
def _neurons_step(n, S, P, shared, x, spk):
    fn = _NEURONS.get(getattr(S, "instance_class", None))
    if fn is None:
        return None

    def impl(n, S, P, shared, x, spk):
        fn(n, S, P, shared, x, spk)
    return impl


def params_at(P, k):
    """The named tuple of P's entries k (P a named tuple of arrays): scalars, or rows of 2-D
    arrays. Callable from numba only."""
    raise NotImplementedError("params_at is compiled by numba")


@overload(params_at)
def _params_at(P, k):
    cls = getattr(P, "instance_class", None)
    if cls is None:
        return None
    src = "def impl(P, k):\n    return cls(" + ", ".join(f"P[{i}][k]" for i in range(len(P))) + ")\n"
    ns = {"cls": cls}
    exec(src, ns)  # one constructor per arity: numba has no tuple comprehension
    return ns["impl"]


class _DriverSources:
    """Mixin for numba cache locators of this file's functions: their compiled code contains
    the models' functions (distsim/models, distsim/kernels), so the cache key is the hash of
    all those sources, not of this file alone. numba's own key would keep a stale run_group
    after an edit to a model file and give wrong numbers; and the index name carries the
    hash, so an index naming a model class that no longer exists is never unpickled."""

    _stamp = None

    @classmethod
    def from_function(cls, py_func, py_file):
        """This locator for functions of this file, else None."""
        if os.path.abspath(py_file) != os.path.abspath(__file__):
            return None
        return super().from_function(py_func, py_file)

    @staticmethod
    def sources_digest():
        """SHA-256 (hex) of every source file under distsim/kernels and distsim/models."""
        if _DriverSources._stamp is None:
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            h = hashlib.sha256()
            for f in sorted(glob.glob(os.path.join(root, "kernels", "*.py"))
                            + glob.glob(os.path.join(root, "models", "*.py"))):
                h.update(os.path.basename(f).encode())
                with open(f, "rb") as fh:
                    h.update(fh.read())
            _DriverSources._stamp = h.hexdigest()
        return _DriverSources._stamp

    def get_source_stamp(self):
        """The digest of the model and kernel sources."""
        return self.sources_digest()

    def get_disambiguator(self):
        """Line number plus the source digest: one index file per source version."""
        return f"{self._lineno}-{self.sources_digest()[:16]}"


class _DriverUserDirLocator(_DriverSources, _caching.UserProvidedCacheLocator):
    """NUMBA_CACHE_DIR set (distsim sets it unless numba was imported first)."""


class _DriverInTreeLocator(_DriverSources, _caching.InTreeCacheLocator):
    """NUMBA_CACHE_DIR not set: numba's __pycache__ beside this file."""


for _loc in (_DriverInTreeLocator, _DriverUserDirLocator):  # user dir first
    if _loc not in _caching.CacheImpl._locator_classes:
        _caching.CacheImpl._locator_classes.insert(0, _loc)


def slice_fields(t, a, b):
    """The named tuple of t's arrays restricted to rows a..b-1 (views, the same types).
    Callable from numba only."""
    raise NotImplementedError("slice_fields is compiled by numba")


@overload(slice_fields)
def _slice_fields(t, a, b):
    cls = getattr(t, "instance_class", None)
    if cls is None:
        return None
    src = ("def impl(t, a, b):\n    return cls("
           + ", ".join(f"t[{i}][a:b]" for i in range(len(t))) + ")\n")
    ns = {"cls": cls}
    exec(src, ns)  # one constructor per arity, as params_at
    return ns["impl"]


#: a group's parts for threads (:func:`run_group_threads`): bounds int64[T+1] (part c is
#: the group's neurons bounds[c] .. bounds[c+1]-1, ascending), scratch output records
#: (local index, stamp, multiplicity: int64[n x slice length], part c from bounds[c] x
#: slice length) and count int64[T] (records of each part)
ThreadParts = namedtuple("ThreadParts", "bounds idx stamp mult count")


@njit
def _advance(g, a, b, t0, nsteps, R, rings, out_idx, out_stamp, out_mult, n_out, rec):
    """Advance neurons a..b-1 of group g (indices within the group) over steps
    t0 .. t0+nsteps-1 (see :func:`run_group`), writing their output records from position
    n_out. Everything it reads or writes belongs to these neurons (their state, input
    rows, Poisson input, recorder columns), so parts of a group can run at once on
    threads, and each neuron's arithmetic is the same whatever the parts are.
    Returns (new output count, next free sample row). Not cached itself: compiled into
    run_group and run_group_threads."""
    lo = g.lo
    n = b - a
    la = lo + a
    lb = lo + b
    pb = g.pg
    shared = g.shared
    # zero-based views of this part's rows: the model's loop vectorises as on a whole group
    S = slice_fields(g.S, a, b)
    P = g.P if shared else slice_fields(g.P, a, b)
    keys = g.keys[a:b] if g.keys.shape[0] > 0 else g.keys
    pex = g.pex[a:b]
    pin = g.pin[a:b]
    spk = g.spk[a:b]
    cur = g.cur[a:b]
    ring_cur = rings[2]
    rec_row = rec.row
    nrec = rec.idx.shape[0]
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, a, b, pb.j0, pb.j1, pb.kptr, pb.iptr, pb.tab, pb.w, pb.start, pb.stop,
                      pb.keys, pb.idx, pb.tables, g.pex, g.pin)
        x = StepIn(s, rings[0][slot, la:lb], rings[1][slot, la:lb], pex, pin, keys)
        neurons_step(n, S, P, shared, x, spk)
        rex = x.rex
        rin = x.rin
        for j in range(n):  # the step's network input is used: clear its rows
            rex[j] = 0.0
            rin[j] = 0.0
        # end of step: current input for the next step (NEST order), spikes, samples
        if ring_cur.shape[0] > 0:
            rc = ring_cur[slot, la:lb]
            for j in range(n):
                cur[j] = rc[j]
                rc[j] = 0.0
        for j in range(n):
            if spk[j] != 0:
                out_idx[n_out] = la + j
                out_stamp[n_out] = s + 1
                out_mult[n_out] = spk[j]
                n_out += 1
        if nrec > 0 and (s + 1) % rec.interval == 0:
            for v in range(rec.codes.shape[0]):
                arr = g.rec_vars[rec.codes[v]]
                for k in range(nrec):
                    i = rec.idx[k]
                    if la <= i < lb:
                        rec.buf[rec_row, v * nrec + k] = arr[i - lo]
            rec_row += 1
    return n_out, rec_row


@njit(cache=True)
def run_group(g, t0, nsteps, R, rings, out, n_out, rec):
    """Advance group ``g`` (:data:`GroupArgs`) over steps t0 .. t0+nsteps-1.

    rings: (network input ex, in, current input) rows ``[R, n_local]`` (row s % R in step s,
    cleared when read); out: (local index, stamp, multiplicity) output arrays, filled from
    position n_out; rec: :data:`Rec`. Returns (new output count, next free sample row)."""
    return _advance(g, 0, g.hi - g.lo, t0, nsteps, R, rings, out[0], out[1], out[2], n_out, rec)


@njit(cache=True)
def run_group_threads(g, tp, t0, nsteps, R, rings, out, n_out, rec):
    """:func:`run_group` with the group's neurons split into parts (``tp``,
    :data:`ThreadParts`), one per thread. Each part advances its own neurons through all
    the steps (the slice's input is complete: every delay is at least the slice), into its
    own output records; these are then merged in (stamp, local index) order, the order of
    :func:`run_group`. Bit-identical to run_group for any number of parts."""
    # numba's parallel loops take only flat tuples that are arguments of the function (numba
    # issues 9098, 10139): hand over the group's fields, the loop rebuilds GroupArgs
    lo, hi, shared, S, P, cur, rec_vars, keys, pg, pex, pin, spk = g
    _run_parts(lo, hi, shared, S, P, cur, rec_vars, keys, pg, pex, pin, spk, tp.bounds, tp.idx,
               tp.stamp, tp.mult, tp.count, t0, nsteps, R, rings, rec)
    bounds = tp.bounds
    T = bounds.shape[0] - 1
    out_idx, out_stamp, out_mult = out
    pos = np.empty(T, np.int64)
    for c in range(T):
        pos[c] = bounds[c] * nsteps
    for s in range(t0 + 1, t0 + nsteps + 1):  # step by step, parts in index order
        for c in range(T):
            p = pos[c]
            e = bounds[c] * nsteps + tp.count[c]
            while p < e and tp.stamp[p] == s:
                out_idx[n_out] = tp.idx[p]
                out_stamp[n_out] = s
                out_mult[n_out] = tp.mult[p]
                n_out += 1
                p += 1
            pos[c] = p
    rec_row = rec.row
    if rec.idx.shape[0] > 0:  # the samples _advance took (the same count in every part)
        rec_row += (t0 + nsteps) // rec.interval - t0 // rec.interval
    return n_out, rec_row


@njit(parallel=True)
def _run_parts(lo, hi, shared, S, P, cur, rec_vars, keys, pg, pex, pin, spk, bounds, idx, stamp,
               mult, count, t0, nsteps, R, rings, rec):
    """Part c (``bounds``) on thread c (see :func:`run_group_threads`). Writes go to arrays
    that are arguments themselves or happen in called functions: numba lost writes made
    in a parallel loop into arrays of tuple arguments (numba issue 5872). Not cached
    itself."""
    for c in prange(bounds.shape[0] - 1):
        g = GroupArgs(lo, hi, shared, S, P, cur, rec_vars, keys, pg, pex, pin, spk)
        base = bounds[c] * nsteps
        e, r = _advance(g, bounds[c], bounds[c + 1], t0, nsteps, R, rings, idx, stamp, mult, base,
                        rec)
        count[c] = e - base


def thread_parts(n, T, nsteps):
    """:data:`ThreadParts` of a group of n neurons for T threads and slices of up to nsteps
    steps: T parts of n // T or n // T + 1 neurons."""
    bounds = np.array([c * n // T for c in range(T + 1)], dtype=np.int64)
    m = max(n * nsteps, 1)
    return ThreadParts(bounds, np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64),
                       np.zeros(T, np.int64))


def typed_entry(args, threads=False):
    """The compiled entry point of :func:`run_group` (``threads``: of
    :func:`run_group_threads`) for the types of ``args`` (compiled or
    loaded from the cache on first use). Calling it skips numba's per-call type dispatch,
    which for a tuple of ~50 arrays costs about 0.5 ms (it types every array in Python); a
    group's argument types never change, so the engine looks this up once per group."""
    from numba import typeof
    sig = tuple(typeof(a) for a in args)
    fn = run_group_threads if threads else run_group
    if not type(args[0].S).__module__.startswith("distsim."):
        # a model declared outside distsim: numba's cache index would name its classes, and
        # every later process sharing the cache would have to import them to read it
        if fn.py_func not in _uncached:
            _uncached[fn.py_func] = njit(fn.py_func)
        fn = _uncached[fn.py_func]
    fn.compile(sig)
    return fn.overloads[sig].entry_point


_uncached = {}  # run_group(_threads) without the cache, for models outside distsim
