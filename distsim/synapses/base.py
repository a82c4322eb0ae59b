"""What every synapse model declares: its NEST name, its parameters (NEST names, defaults,
units, allowed ranges), how the weight must relate to them, and the constants its delivery
kernel (``distsim.kernels.plastic``) reads. Declarations only: validating a spec loads no
numba (tests/unit/test_layering.py)."""
import math
from dataclasses import dataclass

from ..spec.errors import SpecError, check_keys
from ..spec.values import bounds

# kernel codes (equal to distsim.kernels.plastic's; tests/unit/test_synapses.py checks)
KIND_STDP = 1
KIND_STDP_PL_HOM = 2
KIND_TSODYKS2 = 3

_RULE_TEXT = {
    "positive": "a finite number > 0",
    "nonneg": "a finite number >= 0",
    "finite": "a finite number",
    "unit": "a number in [0, 1]",
    "unit_open": "a number in (0, 1]",
}


@dataclass(frozen=True)
class SynParam:
    """One synapse parameter: default, unit, allowed range (a key of ``_RULE_TEXT``), doc."""

    default: float
    unit: str
    rule: str = "finite"
    doc: str = ""

    def describe(self):
        """The allowed range as text."""
        return _RULE_TEXT[self.rule]

    def check(self, field, v):
        """``v`` as float; SpecError naming ``field`` unless it is allowed."""
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecError(field, v, f"must be {self.describe()} ({self.unit})" if self.unit
                            else f"must be {self.describe()}")
        v = float(v)
        ok = {"positive": v > 0, "nonneg": v >= 0, "finite": True, "unit": 0.0 <= v <= 1.0,
              "unit_open": 0.0 < v <= 1.0}[self.rule]
        if not ok:
            unit = f" ({self.unit})" if self.unit else ""
            raise SpecError(field, v, f"must be {self.describe()}{unit}")
        return v


class SynapseModel:
    """Base of the synapse declarations. A subclass sets ``name`` (NEST's), ``kind`` (kernel
    code), ``params`` (name -> SynParam, the projection's shared values), ``uses_post_history``
    (True: the target neurons keep a spike history and K_minus, NEST's ArchivingNode) and
    ``constants`` (names of the float64 values the kernel gets, in order)."""

    name = ""
    kind = 0
    params = {}
    uses_post_history = False
    constants = ()
    doc = ""

    @classmethod
    def parse(cls, field, raw):
        """Parameters of a projection's ``synapse`` table (without ``model``), defaults
        filled in and checked; raises SpecError naming the field. Returns a dict."""
        check_keys(field, raw, cls.params, f"parameter of {cls.name}")
        out = {}
        for k, p in cls.params.items():
            out[k] = p.check(f"{field}.{k}", raw.get(k, p.default))
        cls.check_relations(field, out)
        return out

    @classmethod
    def check_relations(cls, field, p):
        """Cross-parameter checks (SpecError); none by default."""

    @classmethod
    def check_weight(cls, field, weight, p):
        """Check the projection's weight (a Value) against the parameters; SpecError."""

    @classmethod
    def kernel_constants(cls, p):
        """The float64 constants of the kernel (list, in ``constants`` order)."""
        return [p[k] for k in cls.constants]


def weight_range(weight):
    """(min, max) a weight Value can take (a normal: its mean +- 40 std, clipped)."""
    lo, hi = bounds(weight)
    if weight.kind == 1:
        lo, hi = max(lo, weight.a - 40 * weight.b), min(hi, weight.a + 40 * weight.b)
    return lo, hi
