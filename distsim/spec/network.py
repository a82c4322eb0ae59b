"""What to simulate: populations, projections, devices; validated, no arrays.

A :class:`Network` is built from Python (``Network(...)``) or from a dict/TOML file
(:func:`network_from_dict`, :func:`load_network`). :func:`validate` checks every field before
anything is allocated and raises :class:`SpecError` naming the field, value and allowed range.

Units: times and delays in ms, rates in spikes/s (Hz), currents in pA, voltages in mV;
weights in the target model's unit (mV for iaf_psc_delta, pA for iaf_psc_exp).
"""
import copy
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import spatial
from .errors import SpecError, check_keys, unknown_key, unknown_name
from .nest_time import TICS_PER_MS, device_time_steps, tics_per_step
from .values import Value, bounds, parse_value

RULES = ("fixed_indegree", "fixed_total_number", "pairwise_bernoulli", "all_to_all", "one_to_one", "from_list")
STIMULATORS = ("poisson_generator", "dc_generator", "step_current_generator", "spike_generator",
               "ac_generator", "noise_generator")
RECORDERS = ("spike_recorder", "voltmeter", "multimeter")
DEVICE_TYPES = STIMULATORS + RECORDERS


@dataclass
class Population:
    """``n`` neurons of ``model`` with parameters (NEST names; constants or distributions)."""

    name: str
    model: str
    n: int
    params: dict = field(default_factory=dict)
    positions: object = None  # None, or a table / spatial.Positions (see distsim.spec.spatial)


@dataclass
class Projection:
    """Connections source -> target population by ``rule``.

    rule parameters: ``indegree`` (fixed_indegree), ``n_total`` (fixed_total_number),
    ``p`` (pairwise_bernoulli), ``connections`` (from_list). ``weight`` in the target model's
    unit, ``delay_ms`` in ms; either may be a constant or a distribution.

    ``from_list``: the connections given one by one, ``connections = {source = [node ids],
    target = [node ids], weight = [...], delay_ms = [...]}`` (weight and delay_ms optional:
    one value per connection, else the projection's ``weight``/``delay_ms`` for all; delays
    rounded to steps as NEST rounds them). Validation sets ``weight`` and ``delay_ms`` to the
    range of the listed values (for the checks that bound them).
    """

    source: str
    target: str
    rule: str
    weight: object = 1.0
    delay_ms: object = 1.0
    indegree: int = None
    n_total: int = None
    p: float = None
    allow_autapses: bool = True
    allow_multapses: bool = True
    mask: object = None  # spatial (distsim.spec.spatial): table / Mask; p may be a profile table
    synapse: object = None  # None (static) or {model = "stdp_synapse", ...} (distsim.synapses)
    connections: object = None  # from_list: {source: [...], target: [...], weight: [...], delay_ms: [...]}


@dataclass
class Device:
    """A stimulator or recorder attached to populations.

    type-specific ``params``:
      poisson_generator: rate_Hz, weight, delay_ms=dt, start_ms=0, stop_ms=inf, origin_ms=0
      dc_generator: amplitude_pA, delay_ms=dt, start_ms=0, stop_ms=inf, origin_ms=0
      step_current_generator: amplitude_times_ms (list), amplitude_values_pA (list),
        allow_offgrid_times=false, delay_ms=dt, start_ms=0, stop_ms=inf, origin_ms=0
      spike_generator: spike_times_ms (list), weight, delay_ms=dt, allow_offgrid_times=false,
        shift_now_spikes=false, start_ms=0, stop_ms=inf, origin_ms=0
      ac_generator: amplitude_pA=0, offset_pA=0, frequency_Hz=0, phase_deg=0, delay_ms=dt,
        start_ms=0, stop_ms=inf, origin_ms=0
      noise_generator: mean_pA=0, std_pA=0, dt_ms=(1 ms if a multiple of dt, else 10 dt),
        std_mod_pA=0, frequency_Hz=0, phase_deg=0, delay_ms=dt, start_ms=0, stop_ms=inf, origin_ms=0
    Times, activity windows and the tolerance for times off the dt grid are NEST 3.10's
    (``distsim.spec.nest_time``): a spike or poisson_generator is active for spike stamps
    (origin + start, origin + stop] (Poisson: drawn one step later), a current generator's
    current is present in the neuron from origin + start + delay_ms to origin + stop +
    delay_ms, but NEST sends nothing before the first step, so start_ms = 0 acts as
    start_ms = dt; a step current's amplitude set at time t is present from t + delay_ms
    (inside that window).
      spike_recorder: (none)
      voltmeter / multimeter: interval_ms=1.0, record_from=["V_m"]
    ``targets`` lists population names; ``neuron_ids`` optionally restricts to those indices
    within the (single) target population, ``n_per_population`` to the first n of each.
    """

    type: str
    targets: list
    params: dict = field(default_factory=dict)
    name: str = ""
    neuron_ids: list = None
    n_per_population: int = None


@dataclass
class Network:
    """A whole model: populations (in gid order), projections, devices, resolution dt_ms."""

    populations: list
    projections: list = field(default_factory=list)
    devices: list = field(default_factory=list)
    dt_ms: float = 0.1
    name: str = "network"
    reference_rates: dict = None  # population -> spikes/s, where the model has them

    def population(self, name):
        """The population called ``name``."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def gid_ranges(self):
        """dict population name -> (first gid, one past the last gid)."""
        out, g = {}, 0
        for p in self.populations:
            out[p.name] = (g, g + p.n)
            g += p.n
        return out

    @property
    def n_neurons(self):
        """Total number of neurons."""
        return sum(p.n for p in self.populations)

    def to_dict(self):
        """Plain dict (the parameter-file form) of this network."""
        def raw(v):
            return v.to_raw() if isinstance(v, Value) or hasattr(v, "to_raw") else v
        return {
            "name": self.name,
            "simulation": {"dt_ms": self.dt_ms},
            "reference_rates": dict(self.reference_rates or {}),
            "populations": [{"name": p.name, "model": p.model, "n": p.n,
                             "params": {k: raw(v) for k, v in p.params.items()},
                             **({"positions": raw(p.positions)} if p.positions is not None else {})}
                            for p in self.populations],
            "projections": [{k: raw(v) for k, v in vars(pr).items() if v is not None}
                            for pr in self.projections],
            "devices": [{k: (dict((a, raw(b)) for a, b in v.items()) if k == "params" else v)
                         for k, v in vars(d).items() if v is not None}
                        for d in self.devices],
        }


TOP_KEYS = ("name", "simulation", "populations", "projections", "devices", "reference_rates", "dt_ms")
SIMULATION_KEYS = ("dt_ms",)
POPULATION_KEYS = ("name", "model", "n", "params", "positions")


def _table(field, v):
    """``v`` if it is a table (dict), else a SpecError naming ``field``."""
    if not isinstance(v, dict):
        raise SpecError(field, v, "must be a table/dict")
    return v


def _array(field, v):
    """``v`` if it is an array of tables (list of dicts), else a SpecError naming ``field``."""
    if not isinstance(v, list):
        raise SpecError(field, v, "must be an array of tables ([[...]] in TOML)")
    for i, x in enumerate(v):
        _table(f"{field}[{i}]", x)
    return v


def network_from_dict(d):
    """Build a :class:`Network` from its plain dict (parameter-file) form; not yet validated.

    Every key is checked: an unknown one (a misspelling such as ``[simulaton]`` or ``dtms``)
    raises SpecError naming it and suggesting the nearest allowed key.
    """
    _table("network", d)
    check_keys("", d, TOP_KEYS)
    sim = _table("simulation", d.get("simulation", {}))
    check_keys("simulation", sim, SIMULATION_KEYS)
    pops = []
    for i, p in enumerate(_array("populations", d.get("populations", []))):
        label = f"populations[{p.get('name', i)}]"
        check_keys(label, p, POPULATION_KEYS)
        for key in ("name", "model", "n"):
            if key not in p:
                raise SpecError(f"populations[{i}].{key}", None, "is required")
        pops.append(Population(p["name"], p["model"], p["n"], dict(_table(f"{label}.params", p.get("params", {}))),
                               positions=p.get("positions")))
    projs = []
    allowed = tuple(Projection.__dataclass_fields__)
    for i, pr in enumerate(_array("projections", d.get("projections", []))):
        check_keys(f"projections[{i}]", pr, allowed)
        for key in ("source", "target", "rule"):
            if key not in pr:
                raise SpecError(f"projections[{i}].{key}", None, "is required")
        projs.append(Projection(**pr))
    devs = []
    allowed_d = set(Device.__dataclass_fields__)
    for i, dv in enumerate(_array("devices", d.get("devices", []))):
        dv = dict(dv)
        if "type" not in dv:
            raise SpecError(f"devices[{i}].type", None, f"is required; one of {DEVICE_TYPES}")
        params = dict(_table(f"devices[{i}].params", dv.pop("params", {})))
        for k in list(dv):
            if k not in allowed_d and k != "populations":
                params[k] = dv.pop(k)  # flat form: device parameters beside type and targets
        if "targets" not in dv:
            dv["targets"] = dv.pop("populations", None) or []
        elif "populations" in dv:
            raise SpecError(f"devices[{i}].populations", dv["populations"], "give either targets or populations")
        devs.append(Device(params=params, **dv))
    ref = d.get("reference_rates") or None
    if ref is not None:
        _table("reference_rates", ref)
    return Network(pops, projs, devs, dt_ms=sim.get("dt_ms", d.get("dt_ms", 0.1)),
                   name=d.get("name", "network"), reference_rates=ref)


def parse_toml(path, text=None):
    """The dict of TOML parameter file ``path`` (or of ``text``); SpecError if it does not
    exist or is not valid TOML (with the line and column of the error)."""
    path = Path(path)
    if text is None:
        if not path.is_file():
            raise SpecError("parameter file", str(path), "does not exist")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError("parameter file", str(path), f"cannot be read: {e}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError("parameter file", str(path), f"is not valid TOML: {e}") from None


def load_network(path):
    """Read a TOML parameter file into a validated :class:`Network`."""
    net = network_from_dict(parse_toml(path))
    validate(net)
    return net


def _int(field_, v, lo=0):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and (not math.isfinite(v) or v != int(v))):
        raise SpecError(field_, v, "must be an integer")
    if int(v) < lo:
        raise SpecError(field_, v, f"must be an integer >= {lo}")
    return int(v)


def _check_window(f, p, dt):
    """origin_ms, start_ms, stop_ms of a stimulator (already numbers >= 0): on NEST's grid
    (within half a tic; stop may be inf), stop >= start. Raises SpecError; returns None."""
    tps = tics_per_step(dt)
    steps = {}
    for k in ("origin_ms", "start_ms", "stop_ms"):
        steps[k] = device_time_steps(p[k], tps)
        if steps[k] is None:
            raise SpecError(f"{f}.{k}", p[k], f"must be a multiple of dt_ms = {dt} (NEST: within half a "
                                              f"tic, {0.5 / TICS_PER_MS} ms)")
    if steps["stop_ms"] < steps["start_ms"]:
        raise SpecError(f"{f}.stop_ms", p["stop_ms"], f"must be >= start_ms ({p['start_ms']})")


def _check_delay(field_, v, dt):
    lo, hi = bounds(v)
    if v.is_constant and not v.a >= dt * (1 - 1e-9):
        raise SpecError(field_, v.a, f"delays must be >= dt_ms ({dt})")
    if not lo >= 0.5 * dt:
        raise SpecError(field_, v.to_raw(), f"delays must be >= dt_ms ({dt}); a distribution "
                                            f"needs min >= dt/2 = {0.5 * dt} (rounded to the grid)")
    if not math.isfinite(hi) and v.is_constant:
        raise SpecError(field_, v.to_raw(), "must be finite (ms)")
    if v.is_constant and abs(v.a / dt - round(v.a / dt)) > 1e-9 * max(1.0, v.a / dt):
        raise SpecError(field_, v.a, f"must be a multiple of dt_ms = {dt}")
    if v.is_constant and round(v.a / dt) > 65535:
        raise SpecError(field_, v.a, f"must be at most 65535 steps ({65535 * dt} ms)")


FLOAT32_MAX = 3.4028234663852886e38  # synaptic weights are stored as float32
FLOAT32_TINY = 1.1754943508222875e-38  # smallest normal float32


def _check_float32_weight(field_, v, unit):
    """Synapse tables store weights as float32: refuse values that would become inf, or a
    nonzero constant that would become 0 or lose its precision (subnormal)."""
    if v.kind == 1:  # normal: its draws lie within mean +- 40 std in practice
        lo = max(bounds(v)[0], v.a - 40 * v.b)
        hi = min(bounds(v)[1], v.a + 40 * v.b)
    else:
        lo, hi = bounds(v)
    if max(abs(lo), abs(hi)) > FLOAT32_MAX:
        raise SpecError(field_, v.to_raw(), f"must lie within +-{FLOAT32_MAX:.7g} ({unit}): weights are "
                                            "stored as float32")
    if v.is_constant and v.a != 0.0 and abs(v.a) < FLOAT32_TINY:
        raise SpecError(field_, v.a, f"nonzero weights must have |w| >= {FLOAT32_TINY:.7g} ({unit}): weights "
                                     "are stored as float32 (this one would become 0)")


def validate(net):
    """Check every field of ``net`` and normalise values in place; raises SpecError.

    Returns the network. Nothing is allocated: this runs before any build work.
    """
    from ..models import MODELS
    from ..synapses import parse_synapse

    dt = net.dt_ms
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise SpecError("simulation.dt_ms", dt, "must be a finite number > 0 (ms)")
    if tics_per_step(dt) is None:
        raise SpecError("simulation.dt_ms", dt, f"must be a multiple of NEST's tic, {1 / TICS_PER_MS} ms")
    if not net.populations:
        raise SpecError("populations", net.populations, "at least one population is required")
    names = set()
    for p in net.populations:
        f = f"populations[{p.name}]"
        if not isinstance(p.name, str) or not p.name or "/" in p.name:
            raise SpecError(f"{f}.name", p.name, "must be a non-empty string without '/'")
        if p.name in names:
            raise SpecError(f"{f}.name", p.name, "population names must be unique")
        names.add(p.name)
        if p.model not in MODELS:
            raise unknown_name(f"{f}.model", p.model, MODELS, "model")
        p.n = _int(f"{f}.n", p.n, lo=1)
        if not isinstance(p.params, dict):
            raise SpecError(f"{f}.params", p.params, "must be a table/dict")
        p.params = MODELS[p.model].parse_params(f"{f}.params", p.params)
        MODELS[p.model].check_params(f"{f}.params", p.params, dt)
        p.positions = spatial.parse_positions(f"{f}.positions", p.positions, p.n)
    if net.n_neurons >= 2 ** 32:
        raise SpecError("populations", net.n_neurons, "at most 2**32 - 1 neurons in total")
    sizes = {p.name: p.n for p in net.populations}
    for i, pr in enumerate(net.projections):
        f = f"projections[{i}]({pr.source}->{pr.target})"
        for key in ("source", "target"):
            if getattr(pr, key) not in names:
                raise unknown_name(f"{f}.{key}", getattr(pr, key), names, "population")
        if pr.rule not in RULES:
            raise unknown_name(f"{f}.rule", pr.rule, RULES, "rule")
        for key in ("allow_autapses", "allow_multapses"):
            if not isinstance(getattr(pr, key), bool):
                raise SpecError(f"{f}.{key}", getattr(pr, key), "must be true or false")
        spatial.validate_projection(f, pr, net.population(pr.source), net.population(pr.target), dt)
        pr.weight = parse_value(f"{f}.weight", pr.weight)
        pr.delay_ms = parse_value(f"{f}.delay_ms", pr.delay_ms)
        _check_delay(f"{f}.delay_ms", pr.delay_ms, dt)
        n_src, n_tgt = sizes[pr.source], sizes[pr.target]
        same = pr.source == pr.target
        avail = n_src - (1 if same and not pr.allow_autapses else 0)
        if pr.rule == "fixed_indegree":
            pr.indegree = _int(f"{f}.indegree", pr.indegree, lo=0)
            if not pr.allow_multapses and pr.indegree > avail:
                raise SpecError(f"{f}.indegree", pr.indegree,
                                f"must be <= {avail} (source size{' minus autapse' if avail < n_src else ''}) "
                                "without multapses")
            if pr.allow_multapses and pr.indegree > 0 and avail < 1:
                raise SpecError(f"{f}.indegree", pr.indegree, "no allowed source (autapses off)")
        elif pr.rule == "fixed_total_number":
            pr.n_total = _int(f"{f}.n_total", pr.n_total, lo=0)
            if not pr.allow_multapses:
                raise SpecError(f"{f}.allow_multapses", False,
                                "fixed_total_number requires allow_multapses = true")
            if pr.n_total > 0 and avail < 1:
                raise SpecError(f"{f}.n_total", pr.n_total, "no allowed source (autapses off)")
        elif pr.rule == "pairwise_bernoulli" and isinstance(pr.p, spatial.Profile):
            pass  # checked by spatial.validate_projection
        elif pr.rule == "pairwise_bernoulli":
            if isinstance(pr.p, bool) or not isinstance(pr.p, (int, float)) or not (0.0 <= pr.p <= 1.0):
                raise SpecError(f"{f}.p", pr.p, "must be a probability in [0, 1]")
            pr.p = float(pr.p)
        elif pr.rule == "from_list":
            _check_connection_list(f, pr, n_src, n_tgt, dt)
        elif pr.rule == "one_to_one":
            if n_src != n_tgt:
                raise SpecError(f"{f}.rule", pr.rule,
                                f"one_to_one needs equal sizes, got {n_src} and {n_tgt}")
        tgt_model = MODELS[net.population(pr.target).model]
        wlo, whi = bounds(pr.weight)
        if not (math.isfinite(wlo) and math.isfinite(whi)) and pr.weight.kind != 1:
            raise SpecError(f"{f}.weight", pr.weight.to_raw(), f"must be finite ({tgt_model.weight_unit})")
        pr.synapse = parse_synapse(f"{f}.synapse", pr.synapse)
        if pr.synapse is None:
            _check_float32_weight(f"{f}.weight", pr.weight, tgt_model.weight_unit)
        else:
            _check_plastic(f, pr, net)
    for i, dv in enumerate(net.devices):
        _validate_device(net, i, dv, names, sizes, dt)
    if net.reference_rates is not None:
        for k, v in net.reference_rates.items():
            if k not in names:
                raise unknown_key("reference_rates", k, names, "population")
    return net


def _check_connection_list(f, pr, n_src, n_tgt, dt):
    """A from_list projection's ``connections``: node ids in range, one weight and delay per
    connection if given (delays >= dt); ``weight``/``delay_ms`` become their range."""
    import numpy as np

    from .values import DIST_CONST, DIST_UNIFORM

    c = pr.connections
    if not isinstance(c, dict):
        raise SpecError(f"{f}.connections", c, "must be a table {source = [...], target = [...]}")
    check_keys(f"{f}.connections", c, ("source", "target", "weight", "delay_ms"))
    arrays = {}
    for key, n in (("source", n_src), ("target", n_tgt)):
        try:
            a = np.asarray(c.get(key), dtype=np.float64)
        except (TypeError, ValueError):
            a = None
        if a is None or a.ndim != 1 or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise SpecError(f"{f}.connections.{key}", c.get(key), "must be a list of node ids")
        if a.size and (a.min() < 0 or a.max() >= n):
            raise SpecError(f"{f}.connections.{key}", c.get(key), f"node ids must be in [0, {n - 1}]")
        arrays[key] = a
    m = arrays["source"].size
    if arrays["target"].size != m:
        raise SpecError(f"{f}.connections.target", c.get("target"), f"must have as many entries as source ({m})")
    for key in ("weight", "delay_ms"):
        if c.get(key) is None:
            continue
        try:
            a = np.asarray(c[key], dtype=np.float64)
        except (TypeError, ValueError):
            a = None
        if a is None or a.shape != (m,) or not np.all(np.isfinite(a)):
            raise SpecError(f"{f}.connections.{key}", c[key], f"must be a list of {m} finite numbers")
        if key == "delay_ms" and m and a.min() < dt * (1 - 1e-9):
            raise SpecError(f"{f}.connections.delay_ms", float(a.min()), f"delays must be >= dt_ms ({dt})")
        if m:
            lo, hi = float(a.min()), float(a.max())
            setattr(pr, key, Value(DIST_CONST, lo) if lo == hi else Value(DIST_UNIFORM, lo, hi))


def _check_plastic(f, pr, net):
    """A plastic projection (weights float64): its weight against the synapse parameters, and
    neurons that emit and take single spikes (a population node's multiplicity has no
    synapse-by-synapse meaning)."""
    from ..models import MODELS
    from ..synapses import SYNAPSES

    syn = SYNAPSES[pr.synapse["model"]]
    syn.check_weight(f"{f}.weight", pr.weight, pr.synapse)
    for key in ("source", "target"):
        model = MODELS[net.population(getattr(pr, key)).model]
        if model.emits_multiplicity:
            raise SpecError(f"{f}.synapse.model", syn.name,
                            f"{key} {getattr(pr, key)} is a population node ({model.name}); plastic "
                            "synapses need single neurons")


def _validate_device(net, i, dv, names, sizes, dt):
    f = f"devices[{i}]({dv.type})"
    if dv.type not in DEVICE_TYPES:
        raise unknown_name(f"{f}.type", dv.type, DEVICE_TYPES, "device")
    if not isinstance(dv.params, dict):
        raise SpecError(f"{f}.params", dv.params, "must be a table/dict")
    # first, so that a misspelled field is named as such: a flat-form key lands in params,
    # so suggest among the device's fields too
    check_keys(f, dv.params, list(DEVICE_PARAMS[dv.type]) + ["name", "targets", "neuron_ids", "n_per_population"],
               "parameter")
    if isinstance(dv.targets, str):
        dv.targets = [dv.targets]
    if not isinstance(dv.targets, (list, tuple)) or not dv.targets:
        raise SpecError(f"{f}.targets", dv.targets, "at least one population is required")
    for t in dv.targets:
        if t not in names:
            raise unknown_name(f"{f}.targets", t, names, "population")
    if dv.neuron_ids is not None:
        if len(dv.targets) != 1:
            raise SpecError(f"{f}.neuron_ids", dv.neuron_ids, "needs exactly one target population")
        if not isinstance(dv.neuron_ids, (list, tuple)):
            raise SpecError(f"{f}.neuron_ids", dv.neuron_ids, "must be a list of integers")
        n = sizes[dv.targets[0]]
        ids = [_int(f"{f}.neuron_ids", x) for x in dv.neuron_ids]
        bad = [x for x in ids if x >= n]
        if bad:
            raise SpecError(f"{f}.neuron_ids", bad[0], f"must be in [0, {n - 1}]")
        dv.neuron_ids = sorted(set(ids))
    if dv.n_per_population is not None:
        dv.n_per_population = _int(f"{f}.n_per_population", dv.n_per_population, lo=1)
    p = dv.params
    decl = DEVICE_PARAMS[dv.type]
    for k, d in decl.items():
        if k not in p:
            if d.default is REQUIRED:
                raise SpecError(f"{f}.{k}", None, f"is required ({d.describe()})")
            p[k] = d.default.value(dt) if isinstance(d.default, ResolutionDefault) else \
                dt if d.default == "dt" else copy.copy(d.default)
    for k, d in decl.items():
        p[k] = _DEVICE_CHECKS[d.rule](f"{f}.{k}", p[k], dt)
    from ..devices import DEVICES
    DEVICES[dv.type].check(net, f, dv, dt)  # window, times, record_from: one place per type


# ------------------------------------------------------------------ device declarations
REQUIRED = "required"
#: largest Poisson mean per step (rate_Hz * dt_ms / 1000) the sampler supports: it draws by
#: searching a CDF table of about mean + 12 sqrt(mean) entries, so the table (8 bytes an
#: entry, built in Python) and the search per draw grow with the mean
POISSON_MAX_MEAN_PER_STEP = 1e5

_RULE_TEXT = {
    "finite": "a finite number",
    "nonneg": "a finite number >= 0",
    "rate": f"a finite number >= 0, with rate_Hz * dt_ms / 1000 <= {POISSON_MAX_MEAN_PER_STEP:g} "
            "(mean count per step the Poisson sampler supports)",
    "start": "a finite number >= 0, a multiple of dt_ms (NEST: within half a microsecond)",
    "stop": "a number >= start_ms, a multiple of dt_ms, or inf",
    "flag": "true or false",
    "delay": "a constant >= dt_ms, a multiple of dt_ms, at most 65535 steps",
    "interval": "a number > 0, a multiple of dt_ms",
    "step_multiple": "a number > 0, a multiple of dt_ms (NEST: within half a microsecond)",
    "spike_times": "non-descending times > 0 (0 with shift_now_spikes) on the dt grid within "
                   "half a microsecond (NEST); off-grid ones need allow_offgrid_times",
    "amplitude_times": "times > 0 on strictly increasing dt steps, on the grid within half a "
                       "microsecond (NEST); off-grid ones need allow_offgrid_times",
    "values": "a list of finite numbers, one per time",
    "record_from": "a non-empty list of distinct recordable variables of the target model",
}


@dataclass(frozen=True)
class ResolutionDefault:
    """A device parameter's default that depends on the resolution: ``value(dt_ms)``, and
    ``text`` describing it."""

    value: object
    text: str


def _noise_dt_default(dt):
    """NEST's default noise_generator dt: 10 steps at the start-up resolution 0.1 ms, i.e.
    1 ms, kept when the resolution changes if 1 ms is a multiple of it, else 10 dt
    (noise_generator::calibrate_time)."""
    return 1.0 if device_time_steps(1.0, tics_per_step(dt)) is not None else 10 * dt


@dataclass(frozen=True)
class DeviceParam:
    """One device parameter: default (``REQUIRED``, or ``"dt"`` for the resolution), unit,
    allowed range (a rule of ``_RULE_TEXT``) and a one-line description. Validation and
    ``distsim models`` both read these declarations."""

    default: object
    unit: str
    rule: str
    doc: str = ""

    def describe(self):
        """The allowed range as text."""
        return _RULE_TEXT[self.rule]


_W = "mV or pA (target model)"
DEVICE_PARAMS = {
    "poisson_generator": {
        "rate_Hz": DeviceParam(REQUIRED, "spikes/s", "rate", "rate of each target's independent Poisson train"),
        "weight": DeviceParam(REQUIRED, _W, "finite", "weight of every input spike"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "dc_generator": {
        "amplitude_pA": DeviceParam(REQUIRED, "pA", "finite", "current"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "step_current_generator": {
        "amplitude_times_ms": DeviceParam(REQUIRED, "ms", "amplitude_times", "times the current changes"),
        "amplitude_values_pA": DeviceParam(REQUIRED, "pA", "values", "current from each time on"),
        "allow_offgrid_times": DeviceParam(False, "", "flag", "move off-grid times to the end of their step"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "spike_generator": {
        "spike_times_ms": DeviceParam(REQUIRED, "ms", "spike_times", "spike times"),
        "weight": DeviceParam(REQUIRED, _W, "finite", "weight of every spike"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "allow_offgrid_times": DeviceParam(False, "", "flag", "move off-grid times to the end of their step"),
        "shift_now_spikes": DeviceParam(False, "", "flag", "move a spike at time 0 to the first step"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "ac_generator": {
        "amplitude_pA": DeviceParam(0.0, "pA", "finite", "amplitude of the sine (NEST: amplitude)"),
        "offset_pA": DeviceParam(0.0, "pA", "finite", "constant current added (NEST: offset)"),
        "frequency_Hz": DeviceParam(0.0, "Hz", "nonneg", "frequency (NEST: frequency)"),
        "phase_deg": DeviceParam(0.0, "deg", "finite", "phase at t = 0 (NEST: phase)"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "noise_generator": {
        "mean_pA": DeviceParam(0.0, "pA", "finite", "mean current (NEST: mean)"),
        "std_pA": DeviceParam(0.0, "pA", "nonneg", "standard deviation of each draw (NEST: std)"),
        "dt_ms": DeviceParam(ResolutionDefault(_noise_dt_default, "1.0 if a multiple of dt_ms, else 10 dt_ms"),
                             "ms", "step_multiple", "interval between new draws (NEST: dt)"),
        "std_mod_pA": DeviceParam(0.0, "pA", "nonneg", "modulation of the standard deviation, <= std_pA "
                                                       "(NEST: std_mod)"),
        "frequency_Hz": DeviceParam(0.0, "Hz", "nonneg", "frequency of the modulation (NEST: frequency)"),
        "phase_deg": DeviceParam(0.0, "deg", "finite", "phase of the modulation (NEST: phase)"),
        "delay_ms": DeviceParam("dt", "ms", "delay", "delay from generator to target"),
        "origin_ms": DeviceParam(0.0, "ms", "start", "origin of the window (NEST: origin)"),
        "start_ms": DeviceParam(0.0, "ms", "start", "active after origin + start_ms (NEST: start)"),
        "stop_ms": DeviceParam(math.inf, "ms", "stop", "active up to origin + stop_ms (NEST: stop)"),
    },
    "spike_recorder": {},
    "voltmeter": {
        "interval_ms": DeviceParam(1.0, "ms", "interval", "sampling interval"),
        "record_from": DeviceParam(["V_m"], "", "record_from", "recorded variables"),
    },
    "multimeter": {
        "interval_ms": DeviceParam(1.0, "ms", "interval", "sampling interval"),
        "record_from": DeviceParam(["V_m"], "", "record_from", "recorded variables"),
    },
}
assert set(DEVICE_PARAMS) == set(DEVICE_TYPES)


def _number(field_, v, lo=None, strict=False, allow_inf=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise SpecError(field_, v, "must be a finite number" + (" or inf" if allow_inf else ""))
    if lo is not None and (v < lo or (strict and v == lo)):
        raise SpecError(field_, v, f"must be {'>' if strict else '>='} {lo}")
    return float(v)


def _const_delay(field_, v, dt):
    v = parse_value(field_, v)
    if not v.is_constant:
        raise SpecError(field_, v.to_raw(), "must be a constant (ms)")
    _check_delay(field_, v, dt)
    return v.a


def _rate(field_, v, dt):
    v = _number(field_, v, lo=0.0)
    mean = v * dt * 1e-3
    if mean > POISSON_MAX_MEAN_PER_STEP:
        raise SpecError(field_, v, f"gives a mean of {mean:g} spikes per step (rate_Hz * dt_ms / 1000); "
                                   f"the Poisson sampler supports at most {POISSON_MAX_MEAN_PER_STEP:g}")
    return v


def _interval(field_, v, dt):
    v = _number(field_, v, lo=0.0, strict=True)
    k = v / dt
    if abs(k - round(k)) > 1e-9 * max(1.0, k):
        raise SpecError(field_, v, f"must be a multiple of dt_ms = {dt}")
    return v


def _step_multiple(field_, v, dt):
    v = _number(field_, v, lo=0.0, strict=True)
    steps = device_time_steps(v, tics_per_step(dt))
    if steps is None:
        raise SpecError(field_, v, f"must be a multiple of dt_ms = {dt} (NEST: within half a tic, "
                                   f"{0.5 / TICS_PER_MS} ms)")
    if not 1 <= steps < 2 ** 62:
        raise SpecError(field_, v, f"must be at least one step (dt_ms = {dt}) and finite in steps")
    return v


def _values(field_, v, dt):
    if not isinstance(v, (list, tuple)):
        raise SpecError(field_, v, "must be a list of numbers (pA)")
    return [_number(field_, x) for x in v]


def _time_list(field_, v, dt):
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise SpecError(field_, v, "must be a list of times in ms")
    for i, t in enumerate(v):
        if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t):
            raise SpecError(f"{field_}[{i}]", t, "times must be numbers (ms)")
    return [float(t) for t in v]


def _flag(field_, v, dt):
    if not isinstance(v, bool):
        raise SpecError(field_, v, "must be true or false")
    return v


def _record_from(field_, rf, dt):
    if isinstance(rf, str):
        rf = [rf]
    if not isinstance(rf, (list, tuple)) or not rf or len(set(map(str, rf))) != len(rf):
        raise SpecError(field_, rf, "must be a non-empty list of distinct variable names")
    return list(rf)


_DEVICE_CHECKS = {
    "finite": lambda f, v, dt: _number(f, v),
    "nonneg": lambda f, v, dt: _number(f, v, lo=0.0),
    "rate": _rate,
    "start": lambda f, v, dt: _number(f, v, lo=0.0),
    "stop": lambda f, v, dt: _number(f, v, lo=0.0, allow_inf=True),
    "delay": _const_delay,
    "interval": _interval,
    "step_multiple": _step_multiple,
    "spike_times": _time_list,
    "amplitude_times": _time_list,
    "flag": _flag,
    "values": _values,
    "record_from": _record_from,
}
