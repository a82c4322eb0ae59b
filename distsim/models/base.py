"""What every neuron model declares: parameters with defaults, units and allowed ranges."""
import math
from dataclasses import dataclass

from ..spec.errors import SpecError
from ..spec.values import bounds


@dataclass(frozen=True)
class Param:
    """One model parameter: NEST name, default, unit, and the allowed range."""

    default: float
    unit: str
    rule: str = "finite"  # "positive" (> 0), "nonneg" (>= 0), "finite", "lower" (finite or -inf)

    def check(self, field, value):
        """Raise SpecError unless every value the parameter can take is allowed."""
        lo, hi = bounds(value)
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


class NeuronModel:
    """Base class: subclasses set ``name``, ``params``, ``weight_unit`` and implement
    ``calibrate``, ``init_state`` and ``update``."""

    name = ""
    params = {}
    weight_unit = ""
    recordables = ("V_m",)

    @classmethod
    def check_params(cls, field, values, dt_ms):
        """Validate a population's parameters (dict name -> Value); raises SpecError."""
        for key, v in values.items():
            if key not in cls.params and key != "V_m":
                raise SpecError(f"{field}.{key}", v.to_raw(),
                                f"unknown parameter of {cls.name}; allowed: "
                                f"{', '.join(sorted(list(cls.params) + ['V_m']))}")
            if key == "V_m":
                p = Param(0.0, "mV")
            else:
                p = cls.params[key]
            p.check(f"{field}.{key}", v)
        cls.check_relations(field, {k: bounds(v) for k, v in values.items()}, dt_ms)

    @classmethod
    def check_relations(cls, field, rng, dt_ms):
        """Cross-parameter checks; ``rng`` maps name -> (min, max) of given values."""
        th = rng.get("V_th", (cls.params["V_th"].default,) * 2)
        vr = rng.get("V_reset", (cls.params["V_reset"].default,) * 2)
        if not vr[1] < th[0]:
            raise SpecError(f"{field}.V_reset", vr[1],
                            f"must be < V_th ({th[0]} mV): reset below threshold")
