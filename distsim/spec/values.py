"""Parameter values: a constant, or a distribution drawn per neuron or per synapse.

Accepted forms (Python or TOML):
  ``-58.0``                                          constant
  ``{dist = "normal", mean = -58.0, std = 10.0}``    normal
  ``{dist = "normal", mean = 1.5, std = 0.75, min = 0.05}``  normal, redrawn outside [min, max]
  ``{dist = "uniform", low = -70.0, high = -50.0}``  uniform in [low, high)
"""
import math
from dataclasses import dataclass

from .errors import SpecError, check_keys, unknown_name

# distribution codes of ``kernels.rng.draw_value`` (equal there; tests/unit/test_layering.py
# checks): defined here so that reading and validating a spec does not load numba
DIST_CONST = 0
DIST_NORMAL = 1
DIST_UNIFORM = 2

_KEYS = {"normal": {"dist", "mean", "std", "min", "max"}, "uniform": {"dist", "low", "high"}}


@dataclass(frozen=True)
class Value:
    """A validated value: kind (DIST_*), a, b, lo, hi as in ``kernels.rng.draw_value``."""

    kind: int
    a: float
    b: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf

    @property
    def is_constant(self):
        """True when every draw gives ``a``."""
        return self.kind == DIST_CONST

    def as_array_spec(self):
        """(kind, a, b, lo, hi) as a tuple of floats for the kernels."""
        return (float(self.kind), self.a, self.b, self.lo, self.hi)

    def mean(self):
        """Expected value (untruncated for normal)."""
        if self.kind == DIST_UNIFORM:
            return 0.5 * (self.a + self.b)
        return self.a

    def to_raw(self):
        """The plain form this value was written in (number or dict)."""
        if self.kind == DIST_CONST:
            return self.a
        if self.kind == DIST_UNIFORM:
            return {"dist": "uniform", "low": self.a, "high": self.b}
        if self.kind == 3:  # spatial.DIST_DISTANCE: d0 + c * distance
            return {"d0": self.a, "c": self.b}
        d = {"dist": "normal", "mean": self.a, "std": self.b}
        if self.lo != -math.inf:
            d["min"] = self.lo
        if self.hi != math.inf:
            d["max"] = self.hi
        return d


def _number(field, v, allow_inf=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(field, v, "must be a number")
    v = float(v)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise SpecError(field, v, "must be a finite number")
    return v


def parse_value(field, raw):
    """Validate ``raw`` (number or distribution dict) and return a :class:`Value`."""
    if isinstance(raw, Value):
        return raw
    if not isinstance(raw, dict):
        return Value(DIST_CONST, _number(field, raw))
    dist = raw.get("dist")
    if dist not in _KEYS:
        if dist is None:
            raise SpecError(f"{field}.dist", dist, "is required: 'normal' or 'uniform'")
        raise unknown_name(f"{field}.dist", dist, _KEYS, "distribution")
    check_keys(field, raw, _KEYS[dist], f"key of a {dist} distribution")
    if dist == "uniform":
        lo = _number(f"{field}.low", raw.get("low"))
        hi = _number(f"{field}.high", raw.get("high"))
        if not hi > lo:
            raise SpecError(f"{field}.high", hi, f"must be > low ({lo})")
        return Value(DIST_UNIFORM, lo, hi)
    mean = _number(f"{field}.mean", raw.get("mean"))
    std = _number(f"{field}.std", raw.get("std"))
    if std < 0:
        raise SpecError(f"{field}.std", std, "must be >= 0")
    lo = _number(f"{field}.min", raw.get("min", -math.inf), allow_inf=True)
    hi = _number(f"{field}.max", raw.get("max", math.inf), allow_inf=True)
    if not hi > lo:
        raise SpecError(f"{field}.max", hi, f"must be > min ({lo})")
    if std == 0.0:
        if not lo <= mean <= hi:
            raise SpecError(f"{field}.mean", mean, f"with std 0 must lie in [{lo}, {hi}]")
        return Value(DIST_CONST, mean)
    # the redraw loop must terminate: demand at least ~1e-6 probability mass inside [lo, hi]
    mass = 0.5 * (math.erf((hi - mean) / (std * math.sqrt(2))) - math.erf((lo - mean) / (std * math.sqrt(2))))
    if mass < 1e-6:
        raise SpecError(field, raw, f"the interval [{lo}, {hi}] holds almost none of the "
                                    "normal distribution (redrawing would not end)")
    return Value(DIST_NORMAL, mean, std, lo, hi)


def bounds(v):
    """(smallest, largest) value a :class:`Value` can take."""
    if v.kind == DIST_CONST:
        return v.a, v.a
    if v.kind == DIST_UNIFORM:
        return v.a, v.b
    return v.lo, v.hi
