"""Declared parameters of the built-in network models: default, unit, allowed range.

Each built-in builder (``distsim.networks``) declares its keyword arguments as
:class:`NetParam` s. The same declarations check the arguments (from Python or from
``--set KEY=VALUE``), coerce command-line strings, and are what ``distsim models NAME``
prints, so the listing cannot drift from what is accepted.
"""
import math
import numbers
from dataclasses import dataclass

from .errors import SpecError


@dataclass(frozen=True)
class NetParam:
    """One builder argument: ``kind`` is "int", "float", "bool" or "choice"; numbers must
    lie in [lo, hi] (``lo_strict``: > lo); ``choices`` for "choice"."""

    default: object
    unit: str = ""
    kind: str = "float"
    lo: float = None
    hi: float = None
    lo_strict: bool = False
    choices: tuple = ()
    doc: str = ""

    def describe(self):
        """The allowed values as text, e.g. ``float > 0`` or ``one of 'meso', 'micro'``."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        parts = [{"int": "integer", "float": "finite number"}[self.kind]]
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_strict else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"<= {self.hi:g}")
        return " ".join(parts[:1]) + (" " + " and ".join(parts[1:]) if len(parts) > 1 else "")

    def coerce(self, field, v):
        """Parse a command-line string to this parameter's kind (other values unchanged)."""
        if not isinstance(v, str):
            return v
        s = v.strip()
        if self.kind == "bool":
            if s.lower() in ("1", "true", "yes", "on"):
                return True
            if s.lower() in ("0", "false", "no", "off"):
                return False
            raise SpecError(field, v, f"must be {self.describe()}")
        if self.kind == "choice":
            return s
        try:
            if self.kind == "int":
                if s.lstrip("+-").isdigit():
                    return int(s)
                if "**" in s:  # 10**6
                    b, e = s.split("**", 1)
                    return int(b) ** int(e)
                f = float(s)
                if not math.isfinite(f) or f != int(f):
                    raise ValueError
                return int(f)
            return float(s)
        except ValueError:
            raise SpecError(field, v, f"must be {'an' if self.kind == 'int' else 'a'} {self.describe()}"
                                      f"{' (' + self.unit + ')' if self.unit else ''}") from None

    def check(self, field, v):
        """Return ``v`` (ints accepted for floats) or raise SpecError naming ``field``."""
        unit = f" ({self.unit})" if self.unit else ""
        if self.kind == "bool":
            if not isinstance(v, bool):
                raise SpecError(field, v, "must be true or false")
            return v
        if self.kind == "choice":
            if v not in self.choices:
                raise SpecError(field, v, f"must be {self.describe()}")
            return v
        what = f"must be {'an' if self.kind == 'int' else 'a'} {self.describe()}{unit}"
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise SpecError(field, v, what)
        if self.kind == "int":
            if not float(v).is_integer():
                raise SpecError(field, v, what)
            v = int(v)
        if (self.lo is not None and (v < self.lo or (self.lo_strict and v == self.lo))) or \
                (self.hi is not None and v > self.hi):
            raise SpecError(field, v, what)
        return v


def check_args(decl, args):
    """Check every argument of a builder against its declarations ``decl`` (name ->
    NetParam); returns a dict of the checked values. Raises SpecError naming the argument."""
    return {k: decl[k].check(k, v) for k, v in args.items()}
