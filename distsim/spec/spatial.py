"""Spatial structure in a network description: positions, distance-dependent connection
probability (profiles), masks and distance-dependent delays. NEST's ``nest.spatial``
vocabulary where it fits; checked before any work, errors name the field.

Positions of a population (``populations[].positions``; lengths in one unit of the
user's choice, e.g. mm, used by every extent, width and radius of the network)::

    { kind = "grid", shape = [1000], extent = [1.0], center = [0.0], edge_wrap = true,
      per_position = 4 }
    { kind = "free", extent = [1.0, 1.0], edge_wrap = true }           # uniform random
    { kind = "free", pos = [[0.1, 0.2], [0.3, -0.1]], extent = [1.0, 1.0] }

``grid`` follows ``nest.spatial.grid``: cell centres of a ``shape`` grid spanning
``extent`` around ``center`` (1-D or 2-D; in 2-D the node index runs down the columns,
y from the top, as NEST numbers a grid: index = ix * ny + iy). ``per_position`` (distsim;
default 1) places that many consecutive neurons on each grid position, so
``n = prod(shape) * per_position``. ``free`` follows ``nest.spatial.free``: explicit
``pos`` (n coordinate lists), or, without ``pos``, positions drawn uniformly in the
``extent`` box from the stream (seed, population's first gid ..) of the run (1-D to 3-D).
``edge_wrap`` makes the domain periodic (a ring in 1-D, a torus in 2-D): displacements are
the shortest ones.

Projection fields (pairwise_bernoulli and fixed_indegree; source and target need positions
of the same dimension). As in NEST, masks and profiles apply in the *pool* layer around the
*driver*: pairwise_bernoulli (NEST's default, formerly "divergent") takes the displacement
target - source, periodic when the target population has ``edge_wrap``; fixed_indegree
("convergent") takes source - target, periodic when the source has ``edge_wrap``::

    p = 0.1                                                   # constant (within the mask)
    p = { profile = "boxcar", width = 0.2, p0 = 1.0 }         # p0 for d <= width, else 0
    p = { profile = "gaussian", std = 0.1, mean = 0.0, p0 = 1.0 }   # p0 exp(-(d-mean)^2/(2 std^2))
    p = { profile = "exponential", beta = 0.1, p0 = 1.0 }     # p0 exp(-d/beta)
    mask = { kind = "circular", radius = 0.2 }                # |displacement| <= radius
    mask = { kind = "rectangular", lower_left = [-0.1, -0.2], upper_right = [0.1, 0.2] }  # 1-D/2-D
    mask = { kind = "box", lower_left = [..3..], upper_right = [..3..] }                # 3-D
    delay_ms = { d0 = 1.0, c = 2.0 }                          # d0 + c * distance (ms, ms/unit)

pairwise_bernoulli tries each source inside the mask once with probability p(d) (NEST);
fixed_indegree draws ``indegree`` sources per target inside the mask with probability
proportional to p(d) (NEST's spatial fixed_indegree). Boundaries of boxcar and masks are
inclusive (up to a relative 1e-9, so grid points lying exactly on a radius count).
"""
import math
from dataclasses import dataclass

from .errors import SpecError, check_keys, unknown_name

#: profile codes shared with the kernels (``kernels.connect``)
PROFILE_CONST, PROFILE_BOXCAR, PROFILE_GAUSSIAN, PROFILE_EXPONENTIAL = 0, 1, 2, 3
PROFILES = {"boxcar": PROFILE_BOXCAR, "gaussian": PROFILE_GAUSSIAN, "exponential": PROFILE_EXPONENTIAL}
_PROFILE_KEYS = {"boxcar": ("width",), "gaussian": ("std", "mean"), "exponential": ("beta",)}
#: mask codes shared with the kernels
MASK_NONE, MASK_CIRCULAR, MASK_RECTANGULAR = 0, 1, 2
MASKS = ("circular", "rectangular", "box")
#: delay Value kind of ``{d0, c}``: d0 + c * distance (ms); kinds 0-2 are rng.DIST_*
DIST_DISTANCE = 3
#: relative tolerance of inclusive boundaries (boxcar width, mask radius and corners)
EDGE_RTOL = 1e-9
POSITION_KINDS = ("grid", "free")
_POS_KEYS = {"grid": ("kind", "shape", "extent", "center", "edge_wrap", "per_position"),
             "free": ("kind", "pos", "extent", "center", "edge_wrap")}


def _num(field, v, lo=None, strict=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SpecError(field, v, "must be a finite number")
    if lo is not None and (v < lo or (strict and v == lo)):
        raise SpecError(field, v, f"must be a finite number {'>' if strict else '>='} {lo:g}")
    return float(v)


def _vec(field, v, n=None, lo=None, strict=False):
    if not isinstance(v, (list, tuple)) or not v or (n is not None and len(v) != n):
        want = f"a list of {n} numbers" if n else "a non-empty list of numbers"
        raise SpecError(field, v, f"must be {want}")
    return tuple(_num(field, x, lo, strict) for x in v)


@dataclass(frozen=True)
class Positions:
    """Validated positions of one population: ``kind`` "grid" or "free", ``ndim``,
    ``extent``/``center`` (tuples, the length unit), ``edge_wrap``; grid: ``shape``,
    ``per_position``; free: ``pos`` (tuple of coordinate tuples) or None (uniform random)."""

    kind: str
    ndim: int
    extent: tuple
    center: tuple
    edge_wrap: bool
    shape: tuple = None
    per_position: int = 1
    pos: tuple = None

    def to_raw(self):
        """The parameter-file (dict) form."""
        d = {"kind": self.kind, "extent": list(self.extent), "center": list(self.center),
             "edge_wrap": self.edge_wrap}
        if self.kind == "grid":
            d.update(shape=list(self.shape), per_position=self.per_position)
        elif self.pos is not None:
            d["pos"] = [list(p) for p in self.pos]
        return d

    def bounds(self):
        """(lower, upper) corner tuples of the domain."""
        return (tuple(c - 0.5 * e for c, e in zip(self.center, self.extent)),
                tuple(c + 0.5 * e for c, e in zip(self.center, self.extent)))


def parse_positions(field, raw, n):
    """Validate ``populations[].positions`` of a population of ``n`` neurons; returns
    :class:`Positions` (or None for None). Raises SpecError naming the field."""
    if raw is None or isinstance(raw, Positions):
        return raw
    if not isinstance(raw, dict):
        raise SpecError(field, raw, "must be a table, e.g. { kind = \"grid\", shape = [100], extent = [1.0] }")
    kind = raw.get("kind")
    if kind not in POSITION_KINDS:
        if kind is None:
            raise SpecError(f"{field}.kind", None, "is required: 'grid' or 'free'")
        raise unknown_name(f"{field}.kind", kind, POSITION_KINDS, "positions kind")
    check_keys(field, raw, _POS_KEYS[kind], f"key of {kind} positions")
    wrap = raw.get("edge_wrap", False)
    if not isinstance(wrap, bool):
        raise SpecError(f"{field}.edge_wrap", wrap, "must be true or false")
    if kind == "grid":
        shape = raw.get("shape")
        if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 2) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
            raise SpecError(f"{field}.shape", shape, "must be a list of 1 or 2 integers >= 1 (1-D or 2-D grid)")
        ndim = len(shape)
        k = raw.get("per_position", 1)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise SpecError(f"{field}.per_position", k, "must be an integer >= 1")
        cells = math.prod(shape)
        if cells * k != n:
            raise SpecError(f"{field}.shape", list(shape), f"holds {cells} positions x per_position {k} = "
                                                           f"{cells * k} neurons, but the population has n = {n}")
        if "extent" in raw:
            extent = _vec(f"{field}.extent", raw["extent"], ndim, lo=0.0, strict=True)
        else:  # NEST: unit spacing
            extent = tuple(float(s) for s in shape)
        center = _vec(f"{field}.center", raw.get("center", [0.0] * ndim), ndim)
        return Positions("grid", ndim, extent, center, wrap, tuple(int(s) for s in shape), int(k))
    pos = raw.get("pos")
    if pos is not None:
        if not isinstance(pos, (list, tuple)) or len(pos) != n:
            raise SpecError(f"{field}.pos", _short(pos), f"must be a list of n = {n} coordinate lists")
        ndim = len(pos[0]) if isinstance(pos[0], (list, tuple)) else 0
        if ndim not in (1, 2, 3):
            raise SpecError(f"{field}.pos[0]", pos[0], "must be a list of 1, 2 or 3 numbers")
        pos = tuple(_vec(f"{field}.pos[{i}]", p, ndim) for i, p in enumerate(pos))
        if "extent" in raw:
            extent = _vec(f"{field}.extent", raw["extent"], ndim, lo=0.0, strict=True)
            center = _vec(f"{field}.center", raw.get("center", [0.0] * ndim), ndim)
        else:
            if wrap:
                raise SpecError(f"{field}.extent", None, "is required with edge_wrap = true")
            lo = [min(p[d] for p in pos) for d in range(ndim)]
            hi = [max(p[d] for p in pos) for d in range(ndim)]
            extent = tuple(max(h - l_, 1e-300) for l_, h in zip(lo, hi))
            center = tuple(0.5 * (l_ + h) for l_, h in zip(lo, hi))
        P = Positions("free", ndim, extent, center, wrap, pos=pos)
        lo, hi = P.bounds()
        for i, p in enumerate(pos):
            for d in range(ndim):
                if not lo[d] - 1e-12 * extent[d] <= p[d] <= hi[d] + 1e-12 * extent[d]:
                    raise SpecError(f"{field}.pos[{i}]", list(p), f"lies outside the extent: coordinate {d} "
                                                                  f"must be in [{lo[d]:g}, {hi[d]:g}]")
        return P
    if "extent" not in raw:
        raise SpecError(f"{field}.extent", None, "is required for random free positions (the box they are "
                                                 "drawn in), e.g. extent = [1.0, 1.0]")
    ext = raw["extent"]
    if not isinstance(ext, (list, tuple)) or len(ext) not in (1, 2, 3):
        raise SpecError(f"{field}.extent", ext, "must be a list of 1, 2 or 3 numbers > 0")
    extent = _vec(f"{field}.extent", ext, lo=0.0, strict=True)
    center = _vec(f"{field}.center", raw.get("center", [0.0] * len(extent)), len(extent))
    return Positions("free", len(extent), extent, center, wrap)


def _short(v):
    return v if not isinstance(v, (list, tuple)) or len(v) <= 4 else f"[{len(v)} entries]"


@dataclass(frozen=True)
class Profile:
    """Distance-dependent connection probability ``p0 * f(d)``: ``code`` (PROFILE_*), ``p0``
    and the shape parameters ``a``, ``b`` (boxcar: width; gaussian: std, mean;
    exponential: beta) in the length unit."""

    name: str
    p0: float
    a: float
    b: float = 0.0

    @property
    def code(self):
        """The kernel code of this profile."""
        return PROFILES[self.name]

    def __call__(self, d):
        """p at distance ``d`` (float or numpy array; the length unit)."""
        import numpy as np

        d = np.asarray(d, dtype=float)
        if self.name == "boxcar":
            out = np.where(d <= self.a * (1 + EDGE_RTOL), self.p0, 0.0)
        elif self.name == "gaussian":
            out = self.p0 * np.exp(-((d - self.b) ** 2) / (2 * self.a ** 2))
        else:
            out = self.p0 * np.exp(-d / self.a)
        return out if out.ndim else float(out)

    def as_array_spec(self):
        """(code, p0, a, b) as floats for the kernels."""
        return (float(self.code), self.p0, self.a, self.b)

    def to_raw(self):
        """The parameter-file (dict) form."""
        d = {"profile": self.name, "p0": self.p0}
        d.update(zip(_PROFILE_KEYS[self.name], (self.a, self.b)))
        return d


def parse_profile(field, raw):
    """Validate a spatial ``p`` table; returns :class:`Profile`. Raises SpecError."""
    if isinstance(raw, Profile):
        return raw
    name = raw.get("profile")
    if name not in PROFILES:
        if name is None:
            raise SpecError(f"{field}.profile", None, f"is required: one of {', '.join(PROFILES)}")
        raise unknown_name(f"{field}.profile", name, PROFILES, "profile")
    keys = _PROFILE_KEYS[name]
    check_keys(field, raw, ("profile", "p0") + keys, f"key of a {name} profile")
    p0 = raw.get("p0", 1.0)
    if isinstance(p0, bool) or not isinstance(p0, (int, float)) or not 0.0 < p0 <= 1.0:
        raise SpecError(f"{field}.p0", p0, "must be a probability in (0, 1]")
    if keys[0] not in raw:
        raise SpecError(f"{field}.{keys[0]}", None, f"is required for a {name} profile (length unit)")
    a = _num(f"{field}.{keys[0]}", raw[keys[0]], 0.0, strict=True)
    b = _num(f"{field}.mean", raw.get("mean", 0.0)) if name == "gaussian" else 0.0
    return Profile(name, float(p0), a, b)


@dataclass(frozen=True)
class Mask:
    """A validated mask: ``kind`` ("circular", "rectangular", "box"), ``radius`` or
    ``lower_left``/``upper_right`` corners of the displacement source - target."""

    kind: str
    radius: float = None
    lower_left: tuple = None
    upper_right: tuple = None

    def as_array_spec(self, ndim):
        """float64 list (code, radius, lower_left[ndim], upper_right[ndim]) for the kernels."""
        if self.kind == "circular":
            return [float(MASK_CIRCULAR), self.radius] + [0.0] * (2 * ndim)
        return [float(MASK_RECTANGULAR), 0.0] + list(self.lower_left) + list(self.upper_right)

    def reach(self):
        """Largest distance from the target a source inside the mask can have."""
        if self.kind == "circular":
            return self.radius
        return math.sqrt(sum(max(abs(a), abs(b)) ** 2 for a, b in zip(self.lower_left, self.upper_right)))

    def to_raw(self):
        """The parameter-file (dict) form."""
        if self.kind == "circular":
            return {"kind": "circular", "radius": self.radius}
        return {"kind": self.kind, "lower_left": list(self.lower_left), "upper_right": list(self.upper_right)}


def parse_mask(field, raw, ndim):
    """Validate a projection's ``mask`` for positions of dimension ``ndim``; returns Mask."""
    if isinstance(raw, Mask):
        return raw
    if not isinstance(raw, dict):
        raise SpecError(field, raw, "must be a table, e.g. { kind = \"circular\", radius = 0.2 }")
    kind = raw.get("kind")
    if kind not in MASKS:
        if kind is None:
            raise SpecError(f"{field}.kind", None, f"is required: one of {', '.join(MASKS)}")
        raise unknown_name(f"{field}.kind", kind, MASKS, "mask kind")
    if kind == "circular":
        check_keys(field, raw, ("kind", "radius"), "key of a circular mask")
        if "radius" not in raw:
            raise SpecError(f"{field}.radius", None, "is required (length unit)")
        return Mask("circular", radius=_num(f"{field}.radius", raw["radius"], 0.0, strict=True))
    check_keys(field, raw, ("kind", "lower_left", "upper_right"), f"key of a {kind} mask")
    dims = (3,) if kind == "box" else (1, 2)
    if ndim not in dims:
        other = "box" if kind == "rectangular" else "rectangular"
        raise SpecError(f"{field}.kind", kind, f"a {kind} mask needs {' or '.join(map(str, dims))}-D positions, "
                                               f"these are {ndim}-D (use '{other}' or 'circular')")
    for key in ("lower_left", "upper_right"):
        if key not in raw:
            raise SpecError(f"{field}.{key}", None, f"is required: a list of {ndim} numbers")
    ll = _vec(f"{field}.lower_left", raw["lower_left"], ndim)
    ur = _vec(f"{field}.upper_right", raw["upper_right"], ndim)
    for d in range(ndim):
        if not ur[d] > ll[d]:
            raise SpecError(f"{field}.upper_right", list(ur), f"must be > lower_left ({list(ll)}) in every dimension")
    return Mask(kind, lower_left=ll, upper_right=ur)


def is_spatial(pr):
    """True when projection ``pr`` uses positions (profile p, mask or distance delay)."""
    return (isinstance(pr.p, (dict, Profile)) or getattr(pr, "mask", None) is not None
            or (isinstance(pr.delay_ms, dict) and "d0" in pr.delay_ms)
            or getattr(pr.delay_ms, "kind", None) == DIST_DISTANCE)


def pool_positions(pr, src_pop, tgt_pop):
    """Positions of the pool layer of projection ``pr`` (NEST): the target population's for
    pairwise_bernoulli, the source population's for fixed_indegree."""
    return (tgt_pop if pr.rule == "pairwise_bernoulli" else src_pop).positions


def max_distance(src, tgt, mask=None, pool=None):
    """Largest source-target distance a projection between positions ``src`` and ``tgt``
    can have (periodic when the ``pool`` positions wrap; within the mask's reach)."""
    pool = pool or src
    if pool.edge_wrap:
        d = math.sqrt(sum((0.5 * e) ** 2 for e in pool.extent))
    else:
        (slo, shi), (tlo, thi) = src.bounds(), tgt.bounds()
        d = math.sqrt(sum(max(abs(shi[k] - tlo[k]), abs(thi[k] - slo[k])) ** 2 for k in range(src.ndim)))
    return min(d, mask.reach()) if mask is not None else d


SPATIAL_RULES = ("pairwise_bernoulli", "fixed_indegree")


def validate_projection(f, pr, src_pop, tgt_pop, dt):
    """Check the spatial fields of projection ``pr`` (label ``f``) between populations
    ``src_pop``/``tgt_pop`` (positions already parsed); normalises ``p``, ``mask`` and a
    distance delay in place. Returns True when the projection is spatial."""
    from ..spec.values import Value

    if not is_spatial(pr):
        return False
    if pr.rule not in SPATIAL_RULES:
        what = "mask" if pr.mask is not None else ("p" if isinstance(pr.p, (dict, Profile)) else "delay_ms")
        raise SpecError(f"{f}.{what}", _raw(getattr(pr, what)),
                        f"spatial connections need rule {' or '.join(SPATIAL_RULES)}, not {pr.rule}")
    for key, pop in (("source", src_pop), ("target", tgt_pop)):
        if pop.positions is None:
            raise SpecError(f"{f}.{key}", pop.name, "spatial connections (profile p, mask or distance delay) "
                                                    f"need positions on both populations; {pop.name} has none "
                                                    "(populations[].positions)")
    S, T = src_pop.positions, tgt_pop.positions
    pool = pool_positions(pr, src_pop, tgt_pop)
    if S.ndim != T.ndim:
        raise SpecError(f"{f}.target", tgt_pop.name, f"positions are {T.ndim}-D, the source's "
                                                     f"({src_pop.name}) {S.ndim}-D: they must match")
    if pr.mask is not None:
        pr.mask = parse_mask(f"{f}.mask", pr.mask, S.ndim)
        if pool.edge_wrap:  # NEST: a mask may not be wider than the periodic pool layer
            if pr.mask.kind == "circular":
                widths = [2 * pr.mask.radius] * S.ndim
            else:
                widths = [b - a for a, b in zip(pr.mask.lower_left, pr.mask.upper_right)]
            for d, (w, e) in enumerate(zip(widths, pool.extent)):
                if w > e * (1 + EDGE_RTOL):
                    raise SpecError(f"{f}.mask", pr.mask.to_raw(), f"is {w:g} wide in dimension {d}, wider than "
                                                                   f"the periodic pool extent {e:g} (edge_wrap of "
                                                                   f"the {'target' if pool is T else 'source'}): "
                                                                   "a neuron would be seen twice")
    if isinstance(pr.p, dict):
        pr.p = parse_profile(f"{f}.p", pr.p)
    if isinstance(pr.delay_ms, dict) and "d0" in pr.delay_ms:
        raw = pr.delay_ms
        check_keys(f"{f}.delay_ms", raw, ("d0", "c"), "key of a distance-dependent delay (d0 + c * distance)")
        d0 = _num(f"{f}.delay_ms.d0", raw["d0"])
        c = _num(f"{f}.delay_ms.c", raw.get("c", 0.0), 0.0)
        if not d0 >= dt * (1 - 1e-9):
            raise SpecError(f"{f}.delay_ms.d0", d0, f"must be >= dt_ms ({dt})")
        hi = d0 + c * max_distance(S, T, pr.mask, pool)
        if round(hi / dt) > 65535:
            raise SpecError(f"{f}.delay_ms", raw, f"reaches {hi:g} ms at the largest distance; delays must be "
                                                  f"at most 65535 steps ({65535 * dt:g} ms)")
        pr.delay_ms = Value(DIST_DISTANCE, d0, c, d0, hi)
    return True


def _raw(v):
    return v.to_raw() if hasattr(v, "to_raw") else v
