"""What every neuron model declares: parameters with defaults, units and allowed ranges."""
import math
from dataclasses import dataclass

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


class NeuronModel:
    """Base class: subclasses set ``name``, ``params``, ``weight_unit`` and implement
    ``calibrate``, ``init_state`` and ``update``."""

    name = ""
    params = {}
    list_params = {}  # name -> ListParam
    list_pairs = ()  # (a, b): list parameters that must have the same length
    bool_params = {}  # name -> default
    weight_unit = ""
    recordables = {"V_m": "mV"}  # variable -> unit
    recordable_codes = {"V_m": 0}  # variable -> code the kernel samples by (multimeters)
    emits_multiplicity = False  # True: update writes a multiplicity per output record
    needs_keys = False  # True: the group gets per-neuron random stream keys (g.keys)
    collapse_shared = True  # False: parameters stay per neuron even when all are equal

    @classmethod
    def known_params(cls):
        """Names of every parameter a population of this model may set (V_m: initial value)."""
        return list(cls.params) + list(cls.list_params) + list(cls.bool_params) + ["V_m"]

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
