"""What every neuron model declares: parameters with defaults, units and allowed ranges,
state variables, recordables, derived constants and its per-neuron numba update (see
``distsim.models`` for how a model file declares itself)."""
import math
import sys
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from ..kernels.rng import DIST_CONST
from ..spec.errors import SpecError
from ..spec.values import Value, bounds


_PARAM_RULE_TEXT = {
    "positive": "> 0 (a distribution needs min > 0)",
    "nonneg": ">= 0 (a distribution needs min >= 0)",
    "finite": "finite (or a distribution)",
    "lower": "a number or -inf",
    "count": "a constant integer >= 1",
    "kernel": "a constant integer >= 1, or -1 (automatic)",
}


@dataclass(frozen=True)
class Param:
    """One model parameter: NEST name, default, unit, and the allowed range."""

    default: float
    unit: str
    rule: str = "finite"  # "positive" (> 0), "nonneg" (>= 0), "finite", "lower" (finite or
    # -inf), "count" (a constant integer >= 1), "kernel" (a constant integer >= 1, or -1: auto)

    def describe(self):
        """The allowed range as text (what :meth:`check` enforces)."""
        return _PARAM_RULE_TEXT[self.rule]

    def check(self, field, value):
        """Raise SpecError unless every value the parameter can take is allowed."""
        lo, hi = bounds(value)
        if self.rule in ("count", "kernel"):
            ok = value.is_constant and float(value.a).is_integer()
            ok = ok and (value.a >= 1 or (self.rule == "kernel" and value.a == -1))
            if not ok:
                allowed = "an integer >= 1" + (" or -1 (automatic)" if self.rule == "kernel" else "")
                raise SpecError(field, value.to_raw(), f"must be {allowed} ({self.unit})")
            return
        if self.rule == "lower":
            if math.isnan(lo) or math.isnan(hi) or hi == math.inf:
                raise SpecError(field, value.to_raw(), f"must be a number or -inf ({self.unit})")
            return
        # a normal distribution may be unbounded: every draw is finite
        if value.kind != 1 and not (math.isfinite(lo) and math.isfinite(hi)):
            raise SpecError(field, value.to_raw(), f"must be finite ({self.unit})")
        extra = " (a distribution needs min to match)" if value.kind == 1 else ""
        if self.rule == "positive" and not lo > 0:
            raise SpecError(field, value.to_raw(), f"must be > 0 ({self.unit}){extra}")
        if self.rule == "nonneg" and not lo >= 0:
            raise SpecError(field, value.to_raw(), f"must be >= 0 ({self.unit}){extra}")


@dataclass(frozen=True)
class ListParam:
    """A parameter that is a list of numbers (one per component, e.g. adaptation kernels),
    the same for every neuron of a population; each element must satisfy ``rule``."""

    default: tuple
    unit: str
    rule: str = "finite"  # "positive" or "finite"

    def describe(self):
        """The allowed values as text (what :meth:`parse` enforces)."""
        return "a list of " + ("numbers > 0" if self.rule == "positive" else "finite numbers")

    def parse(self, field, raw):
        """The list as a tuple of floats; raises SpecError naming the bad element."""
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = [raw]
        if not isinstance(raw, (list, tuple)):
            raise SpecError(field, raw, f"must be a list of numbers ({self.unit})")
        out = []
        for i, v in enumerate(raw):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpecError(f"{field}[{i}]", v, f"must be a finite number ({self.unit})")
            if self.rule == "positive" and not v > 0:
                raise SpecError(f"{field}[{i}]", v, f"must be > 0 ({self.unit})")
            out.append(float(v))
        return tuple(out)


@dataclass(frozen=True)
class Var:
    """One state variable: unit, dtype, initial value (a number, or ``"V_m"``: the initial
    membrane potential of each neuron) and, for a 2-D variable ``[neuron, component]``, the
    list parameter whose length gives the number of components."""

    unit: str
    dtype: type = np.float64
    init: object = 0.0
    width: str = None


class NeuronModel:
    """Base class of the model declarations (see ``distsim.models``). A subclass sets
    ``name``, ``params``, ``weight_unit``, ``state``, ``derived``, ``neuron`` and implements
    ``calibrate``; the class creation builds its kernel tuple types and registers ``neuron``
    with the generic driver (``distsim.kernels.driver``)."""

    name = ""
    params = {}
    list_params = {}  # name -> ListParam
    list_pairs = ()  # (a, b): list parameters that must have the same length
    bool_params = {}  # name -> default
    weight_unit = ""
    recordables = {"V_m": "mV"}  # variable -> unit; the first (V_m) is checked for NaN/inf
    recordable_codes = {"V_m": 0}  # variable -> code the kernel samples by (multimeters)
    emits_multiplicity = False  # True: update writes a multiplicity per output record
    needs_keys = False  # True: the group gets per-neuron random stream keys (g.keys)
    collapse_shared = True  # False: parameters stay per neuron even when all are equal
    state = {}  # name -> Var, in kernel order; the names are the checkpoint's dataset names
    derived = ()  # names of calibrate()'s constants, in kernel order after the parameters
    record_from_state = {"V_m": "V"}  # recordable -> its 1-D float64 state variable
    current_input = "i0"  # state variable that current generators write (pA, next step on)
    V_m_default = None  # initial V_m (mV) when a population gives none; None: E_L (as most NEST models)
    # an integer state variable the kernel sets < 0 when a neuron became numerically unstable
    # (NEST: NumericalInstability): the run then stops with check_stable's error after that
    # slice's update, before its spikes are sent, in the Python and the compiled loop alike;
    # instability_text says what happened, instability_hint what to do
    unstable_flag = None
    instability_text = ""
    instability_hint = ""
    neuron = None  # numba function neuron(j, S, p, x) -> spike multiplicity (kernels.driver)
    block = None  # or: numba function block(n, S, P, shared, x, spk), the loop over neurons
    State = None  # named tuple classes of the kernel arguments, built from the declaration
    Params = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        fn = cls.__dict__.get("neuron")
        block = cls.__dict__.get("block")
        if fn is None and block is None:
            return
        cls.state_names = tuple(cls.state)
        mod = sys.modules[cls.__module__]
        # module-level classes: numba's cache pickles the kernel signature by reference
        cls.State = namedtuple(f"{cls.__name__}State", list(cls.state))
        cls.Params = namedtuple(f"{cls.__name__}Params", cls.param_fields())
        for t in (cls.State, cls.Params):
            t.__module__ = cls.__module__
            setattr(mod, t.__name__, t)
        cls.recordable_codes = {v: i for i, v in enumerate(cls.recordables)}
        if not cls.recordables or ("V_m" in cls.recordables and next(iter(cls.recordables)) != "V_m"):
            raise TypeError(f"{cls.name}: recordables must be non-empty with V_m first when it has "
                            "one (the engine checks the first recordable for NaN/inf every slice)")
        for v in cls.recordables:
            if cls.record_from_state.get(v) not in cls.state:
                raise TypeError(f"{cls.name}: recordable {v} needs a 1-D float64 state variable "
                                "(record_from_state)")
        if cls.current_input not in cls.state:
            raise TypeError(f"{cls.name}: current_input {cls.current_input!r} is not a state variable")
        from ..kernels.driver import register_block, register_neuron, register_unstable
        if cls.unstable_flag is not None:
            if cls.unstable_flag not in cls.state:
                raise TypeError(f"{cls.name}: unstable_flag {cls.unstable_flag!r} is not a state variable")
            register_unstable(cls.State, cls.unstable_flag)
        if block is not None:
            register_block(cls.State, block)
        else:
            register_neuron(cls.State, fn)

    @classmethod
    def param_fields(cls):
        """Names of the kernel's parameter tuple: NEST parameters, flags, list parameters,
        then the derived constants."""
        return list(cls.params) + list(cls.bool_params) + list(cls.list_params) + list(cls.derived)

    @classmethod
    def init_state(cls, n, V0, p, cal):
        """State arrays for n neurons from the ``state`` declaration (V0: initial V_m, mV)."""
        out = {}
        for k, var in cls.state.items():
            if var.init == "V_m":
                out[k] = V0.astype(np.float64).copy()
            elif var.width is not None:
                out[k] = np.full((n, p[var.width].shape[1]), var.init, dtype=var.dtype)
            else:
                out[k] = np.full(n, var.init, dtype=var.dtype)
        return out

    @classmethod
    def calibrate(cls, p, dt):
        """dict of the derived constants (arrays over the group) for step dt (ms)."""
        return {}

    @classmethod
    def update(cls, g, t0, nsteps, R, rings, out, n_out, rec):
        """Run group ``g`` (engine Group) over a slice with the generic driver; returns
        (output record count, next sample row)."""
        from ..kernels.driver import thread_parts, typed_entry
        T = getattr(g, "threads", 1)
        if T > 1:  # parts of the group on T threads (kernels.driver.run_group_threads)
            n = g.hi - g.lo
            if g.tparts is None or g.tparts.idx.shape[0] < n * nsteps:
                g.tparts = thread_parts(n, T, nsteps)
            args = (g.args, g.tparts, t0, nsteps, R, rings, out, n_out, rec)
            if g.kernel_threads is None:
                g.kernel_threads = typed_entry(args, threads=True)
            res = g.kernel_threads(*args)
        else:
            args = (g.args, t0, nsteps, R, rings, out, n_out, rec)
            if g.kernel is None:
                g.kernel = typed_entry(args)
            res = g.kernel(*args)
        if cls.unstable_flag is not None:
            cls.check_stable(g, t0, nsteps)
        return res

    @classmethod
    def check_stable(cls, g, t0, nsteps):
        """Raise RuntimeError naming the first neuron of group ``g`` whose ``unstable_flag``
        is set (after the slice of steps t0..t0+nsteps-1), as NEST reports a
        NumericalInstability; return None when there is none."""
        bad = np.flatnonzero(g.state[cls.unstable_flag] < 0)
        if bad.size:
            j = g.lo + int(bad[0])  # local index of the first unstable neuron
            where = next((f"gid {int(gids[j - lo])} (population {pop.name})"
                          for pop, (lo, hi, gids) in zip(g.pops, g.bounds) if lo <= j < hi), f"local neuron {j}")
            raise RuntimeError(f"{cls.name}: numerical instability ({cls.instability_text}) of {where} between "
                               f"steps {t0} and {t0 + nsteps}, as NEST reports it; {cls.instability_hint}")

    #: parameters of NEST's ArchivingNode, which every single-neuron model has: read by
    #: plastic synapses (distsim.synapses), not by the neuron's kernel
    archiving_params = {"tau_minus": Param(20.0, "ms", "positive")}

    @classmethod
    def known_params(cls):
        """Names of every parameter a population of this model may set (V_m: initial value)."""
        return (list(cls.params) + list(cls.list_params) + list(cls.bool_params) + ["V_m"]
                + ([] if cls.emits_multiplicity else list(cls.archiving_params)))

    @classmethod
    def parse_params(cls, field, raw):
        """Parse a population's raw parameters: list parameters to tuples of floats, flags to
        bool, the rest to :class:`Value`. Raises SpecError naming the field."""
        from ..spec.errors import check_keys
        from ..spec.values import parse_value
        check_keys(field, raw, cls.known_params(), f"parameter of {cls.name}")
        out = {}
        for k, v in raw.items():
            if k in cls.list_params:
                out[k] = cls.list_params[k].parse(f"{field}.{k}", v)
            elif k in cls.bool_params:
                if not isinstance(v, bool):
                    raise SpecError(f"{field}.{k}", v, "must be true or false")
                out[k] = v
            elif k in cls.params and cls.params[k].rule == "lower" and v == -math.inf \
                    and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = Value(DIST_CONST, -math.inf)  # "no lower bound", e.g. V_min's default
            else:
                out[k] = parse_value(f"{field}.{k}", v)
        for a, b in cls.list_pairs:
            la = len(out.get(a, cls.list_params[a].default))
            lb = len(out.get(b, cls.list_params[b].default))
            if la != lb:
                raise SpecError(f"{field}.{b}", list(out.get(b, cls.list_params[b].default)),
                                f"must have as many elements as {a} ({la})")
        return out

    @classmethod
    def list_value(cls, pop_params, key):
        """A list parameter of a population (tuple of floats), its default if not given."""
        return tuple(pop_params.get(key, cls.list_params[key].default))

    @classmethod
    def check_params(cls, field, values, dt_ms):
        """Validate a population's parameters (dict name -> Value); raises SpecError."""
        from ..spec.errors import check_keys
        check_keys(field, values, cls.known_params(), f"parameter of {cls.name}")
        for key, v in values.items():
            if key in cls.list_params or key in cls.bool_params:
                continue
            if key == "V_m":
                p = Param(0.0, "mV")
            elif key in cls.archiving_params:
                p = cls.archiving_params[key]
            else:
                p = cls.params[key]
            p.check(f"{field}.{key}", v)
        cls.check_relations(field, {k: bounds(v) for k, v in values.items()
                                    if k not in cls.list_params and k not in cls.bool_params}, dt_ms)

    relations = ("V_reset < V_th",)  # what check_relations enforces, as text (distsim models)

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """Cross-parameter checks; ``rng`` maps name -> (min, max) of given values."""
        th = rng.get("V_th", (cls.params["V_th"].default,) * 2)
        vr = rng.get("V_reset", (cls.params["V_reset"].default,) * 2)
        if not vr[1] < th[0]:
            raise SpecError(f"{field}.V_reset", vr[1],
                            f"must be < V_th ({th[0]} mV): reset below threshold")
