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

from numba import njit
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


@njit(cache=True)
def run_group(g, t0, nsteps, R, rings, out, n_out, rec):
    """Advance group ``g`` (:data:`GroupArgs`) over steps t0 .. t0+nsteps-1.

    rings: (network input ex, in, current input) rows ``[R, n_local]`` (row s % R in step s,
    cleared when read); out: (local index, stamp, multiplicity) output arrays, filled from
    position n_out; rec: :data:`Rec`. Returns (new output count, next free sample row)."""
    lo = g.lo
    hi = g.hi
    n = hi - lo
    S = g.S
    pb = g.pg
    ring_cur = rings[2]
    out_idx, out_stamp, out_mult = out
    rec_row = rec.row
    nrec = rec.idx.shape[0]
    spk = g.spk
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, n, pb.j0, pb.j1, pb.kptr, pb.iptr, pb.tab, pb.w, pb.start, pb.stop,
                      pb.keys, pb.idx, pb.tables, g.pex, g.pin)
        # zero-based row views: the loop below vectorises
        x = StepIn(s, rings[0][slot, lo:hi], rings[1][slot, lo:hi], g.pex, g.pin, g.keys)
        neurons_step(n, S, g.P, g.shared, x, spk)
        rex = x.rex
        rin = x.rin
        for j in range(n):  # the step's network input is used: clear its rows
            rex[j] = 0.0
            rin[j] = 0.0
        # end of step: current input for the next step (NEST order), spikes, samples
        if ring_cur.shape[0] > 0:
            cur = g.cur
            for j in range(n):
                cur[j] = ring_cur[slot, lo + j]
                ring_cur[slot, lo + j] = 0.0
        for j in range(n):
            if spk[j] != 0:
                out_idx[n_out] = lo + j
                out_stamp[n_out] = s + 1
                out_mult[n_out] = spk[j]
                n_out += 1
        if nrec > 0 and (s + 1) % rec.interval == 0:
            for v in range(rec.codes.shape[0]):
                arr = g.rec_vars[rec.codes[v]]
                for k in range(nrec):
                    rec.buf[rec_row, v * nrec + k] = arr[rec.idx[k] - lo]
            rec_row += 1
    return n_out, rec_row


def typed_entry(args):
    """The compiled entry point of :func:`run_group` for the types of ``args`` (compiled or
    loaded from the cache on first use). Calling it skips numba's per-call type dispatch,
    which for a tuple of ~50 arrays costs about 0.5 ms (it types every array in Python); a
    group's argument types never change, so the engine looks this up once per group."""
    from numba import typeof
    sig = tuple(typeof(a) for a in args)
    fn = run_group
    if not type(args[0].S).__module__.startswith("distsim."):
        # a model declared outside distsim: numba's cache index would name its classes, and
        # every later process sharing the cache would have to import them to read it
        global _run_group_uncached
        if _run_group_uncached is None:
            _run_group_uncached = njit(run_group.py_func)
        fn = _run_group_uncached
    fn.compile(sig)
    return fn.overloads[sig].entry_point


_run_group_uncached = None  # run_group without the cache, for models outside distsim
