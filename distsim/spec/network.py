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

from .errors import SpecError
from .nest_time import (TICS_PER_MS, device_time_steps, spike_generator_stamps, step_current_stamps,
                        tics_per_step)
from .values import Value, bounds, parse_value

RULES = ("fixed_indegree", "fixed_total_number", "pairwise_bernoulli", "all_to_all", "one_to_one")
STIMULATORS = ("poisson_generator", "dc_generator", "step_current_generator", "spike_generator")
RECORDERS = ("spike_recorder", "voltmeter", "multimeter")
DEVICE_TYPES = STIMULATORS + RECORDERS


@dataclass
class Population:
    """``n`` neurons of ``model`` with parameters (NEST names; constants or distributions)."""

    name: str
    model: str
    n: int
    params: dict = field(default_factory=dict)


@dataclass
class Projection:
    """Connections source -> target population by ``rule``.

    rule parameters: ``indegree`` (fixed_indegree), ``n_total`` (fixed_total_number),
    ``p`` (pairwise_bernoulli). ``weight`` in the target model's unit, ``delay_ms`` in ms;
    either may be a constant or a distribution.
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
            return v.to_raw() if isinstance(v, Value) else v
        return {
            "name": self.name,
            "simulation": {"dt_ms": self.dt_ms},
            "reference_rates": dict(self.reference_rates or {}),
            "populations": [{"name": p.name, "model": p.model, "n": p.n,
                             "params": {k: raw(v) for k, v in p.params.items()}}
                            for p in self.populations],
            "projections": [{k: raw(v) for k, v in vars(pr).items() if v is not None}
                            for pr in self.projections],
            "devices": [{k: (dict((a, raw(b)) for a, b in v.items()) if k == "params" else v)
                         for k, v in vars(d).items() if v is not None}
                        for d in self.devices],
        }


def network_from_dict(d):
    """Build a :class:`Network` from its plain dict (parameter-file) form; not yet validated."""
    if not isinstance(d, dict):
        raise SpecError("network", type(d).__name__, "must be a table/dict")
    sim = d.get("simulation", {})
    pops = []
    for i, p in enumerate(d.get("populations", [])):
        for key in ("name", "model", "n"):
            if key not in p:
                raise SpecError(f"populations[{i}].{key}", None, "is required")
        extra = set(p) - {"name", "model", "n", "params"}
        if extra:
            raise SpecError(f"populations[{p['name']}]", sorted(extra),
                            "unknown keys; allowed: name, model, n, params")
        pops.append(Population(p["name"], p["model"], p["n"], dict(p.get("params", {}))))
    projs = []
    allowed = set(Projection.__dataclass_fields__)
    for i, pr in enumerate(d.get("projections", [])):
        extra = set(pr) - allowed
        if extra:
            raise SpecError(f"projections[{i}]", sorted(extra),
                            f"unknown keys; allowed: {', '.join(sorted(allowed))}")
        for key in ("source", "target", "rule"):
            if key not in pr:
                raise SpecError(f"projections[{i}].{key}", None, "is required")
        projs.append(Projection(**pr))
    devs = []
    allowed_d = set(Device.__dataclass_fields__)
    for i, dv in enumerate(d.get("devices", [])):
        dv = dict(dv)
        if "type" not in dv:
            raise SpecError(f"devices[{i}].type", None, f"is required; one of {DEVICE_TYPES}")
        params = dict(dv.pop("params", {}))
        for k in list(dv):
            if k not in allowed_d:
                params[k] = dv.pop(k)  # flat form: device parameters beside type and targets
        if "targets" not in dv:
            dv["targets"] = dv.pop("populations", None) or []
        devs.append(Device(params=params, **dv))
    return Network(pops, projs, devs, dt_ms=sim.get("dt_ms", d.get("dt_ms", 0.1)),
                   name=d.get("name", "network"), reference_rates=d.get("reference_rates") or None)


def load_network(path):
    """Read a TOML parameter file into a validated :class:`Network`."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("parameter file", str(path), "does not exist")
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SpecError("parameter file", str(path), f"is not valid TOML: {e}") from None
    net = network_from_dict(d)
    validate(net)
    return net


def _int(field_, v, lo=0):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and (not math.isfinite(v) or v != int(v))):
        raise SpecError(field_, v, "must be an integer")
    if int(v) < lo:
        raise SpecError(field_, v, f"must be an integer >= {lo}")
    return int(v)


_WINDOW = {"start_ms": 0.0, "stop_ms": math.inf, "origin_ms": 0.0}


def _check_window(f, p, dt, num):
    """origin_ms, start_ms, stop_ms of a stimulator: >= 0, on NEST's grid (within half a tic;
    stop may be inf), stop >= start."""
    tps = tics_per_step(dt)
    steps = {}
    for k in ("origin_ms", "start_ms", "stop_ms"):
        num(k, lo=0.0, allow_inf=(k == "stop_ms"))
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


def validate(net):
    """Check every field of ``net`` and normalise values in place; raises SpecError.

    Returns the network. Nothing is allocated: this runs before any build work.
    """
    from ..models import MODELS

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
            raise SpecError(f"{f}.model", p.model, f"unknown model; allowed: {', '.join(sorted(MODELS))}")
        p.n = _int(f"{f}.n", p.n, lo=1)
        if not isinstance(p.params, dict):
            raise SpecError(f"{f}.params", p.params, "must be a table/dict")
        p.params = MODELS[p.model].parse_params(f"{f}.params", p.params)
        MODELS[p.model].check_params(f"{f}.params", p.params, dt)
    if net.n_neurons >= 2 ** 32:
        raise SpecError("populations", net.n_neurons, "at most 2**32 - 1 neurons in total")
    sizes = {p.name: p.n for p in net.populations}
    for i, pr in enumerate(net.projections):
        f = f"projections[{i}]({pr.source}->{pr.target})"
        for key in ("source", "target"):
            if getattr(pr, key) not in names:
                raise SpecError(f"{f}.{key}", getattr(pr, key),
                                f"unknown population; allowed: {', '.join(sorted(names))}")
        if pr.rule not in RULES:
            raise SpecError(f"{f}.rule", pr.rule, f"unknown rule; allowed: {', '.join(RULES)}")
        for key in ("allow_autapses", "allow_multapses"):
            if not isinstance(getattr(pr, key), bool):
                raise SpecError(f"{f}.{key}", getattr(pr, key), "must be true or false")
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
        elif pr.rule == "pairwise_bernoulli":
            if isinstance(pr.p, bool) or not isinstance(pr.p, (int, float)) or not (0.0 <= pr.p <= 1.0):
                raise SpecError(f"{f}.p", pr.p, "must be a probability in [0, 1]")
            pr.p = float(pr.p)
        elif pr.rule == "one_to_one":
            if n_src != n_tgt:
                raise SpecError(f"{f}.rule", pr.rule,
                                f"one_to_one needs equal sizes, got {n_src} and {n_tgt}")
        tgt_model = MODELS[net.population(pr.target).model]
        wlo, whi = bounds(pr.weight)
        if not (math.isfinite(wlo) and math.isfinite(whi)) and pr.weight.kind != 1:
            raise SpecError(f"{f}.weight", pr.weight.to_raw(), f"must be finite ({tgt_model.weight_unit})")
    for i, dv in enumerate(net.devices):
        _validate_device(net, i, dv, names, sizes, dt)
    if net.reference_rates is not None:
        for k, v in net.reference_rates.items():
            if k not in names:
                raise SpecError(f"reference_rates.{k}", v, "unknown population")
    return net


def _validate_device(net, i, dv, names, sizes, dt):
    f = f"devices[{i}]({dv.type})"
    if dv.type not in DEVICE_TYPES:
        raise SpecError(f"{f}.type", dv.type, f"unknown device; allowed: {', '.join(DEVICE_TYPES)}")
    if isinstance(dv.targets, str):
        dv.targets = [dv.targets]
    if not dv.targets:
        raise SpecError(f"{f}.targets", dv.targets, "at least one population is required")
    for t in dv.targets:
        if t not in names:
            raise SpecError(f"{f}.targets", t, f"unknown population; allowed: {', '.join(sorted(names))}")
    if dv.neuron_ids is not None:
        if len(dv.targets) != 1:
            raise SpecError(f"{f}.neuron_ids", dv.neuron_ids, "needs exactly one target population")
        n = sizes[dv.targets[0]]
        ids = [_int(f"{f}.neuron_ids", x) for x in dv.neuron_ids]
        bad = [x for x in ids if x >= n]
        if bad:
            raise SpecError(f"{f}.neuron_ids", bad[0], f"must be in [0, {n - 1}]")
        dv.neuron_ids = sorted(set(ids))
    if dv.n_per_population is not None:
        dv.n_per_population = _int(f"{f}.n_per_population", dv.n_per_population, lo=1)
    p = dv.params
    spec = {
        "poisson_generator": {"rate_Hz": None, "weight": None, "delay_ms": dt, **_WINDOW},
        "dc_generator": {"amplitude_pA": None, "delay_ms": dt, **_WINDOW},
        "step_current_generator": {"amplitude_times_ms": None, "amplitude_values_pA": None,
                                   "allow_offgrid_times": False, "delay_ms": dt, **_WINDOW},
        "spike_generator": {"spike_times_ms": None, "weight": None, "delay_ms": dt,
                            "allow_offgrid_times": False, "shift_now_spikes": False, **_WINDOW},
        "spike_recorder": {},
        "voltmeter": {"interval_ms": 1.0, "record_from": ["V_m"]},
        "multimeter": {"interval_ms": 1.0, "record_from": ["V_m"]},
    }[dv.type]
    extra = set(p) - set(spec)
    if extra:
        raise SpecError(f"{f}", sorted(extra), f"unknown parameters; allowed: {', '.join(spec) or 'none'}")
    for k, default in spec.items():
        if k not in p:
            if default is None:
                raise SpecError(f"{f}.{k}", None, "is required")
            p[k] = copy.copy(default)

    def num(k, lo=None, allow_inf=False, strict=False):
        v = p[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or (math.isinf(v) and not allow_inf):
            raise SpecError(f"{f}.{k}", v, "must be a finite number")
        if lo is not None and (v < lo or (strict and v == lo)):
            raise SpecError(f"{f}.{k}", v, f"must be {'>' if strict else '>='} {lo}")
        p[k] = float(v)

    def delay():
        p["delay_ms"] = parse_value(f"{f}.delay_ms", p["delay_ms"])
        if not p["delay_ms"].is_constant:
            raise SpecError(f"{f}.delay_ms", p["delay_ms"].to_raw(), "must be a constant (ms)")
        _check_delay(f"{f}.delay_ms", p["delay_ms"], dt)
        p["delay_ms"] = p["delay_ms"].a

    def flag(k):
        if not isinstance(p[k], bool):
            raise SpecError(f"{f}.{k}", p[k], "must be true or false")

    if dv.type in STIMULATORS:
        _check_window(f, p, dt, num)
        delay()
    if dv.type == "poisson_generator":
        num("rate_Hz", lo=0.0)
        num("weight")
    elif dv.type == "dc_generator":
        num("amplitude_pA")
    elif dv.type == "step_current_generator":
        flag("allow_offgrid_times")
        times = p["amplitude_times_ms"]
        step_current_stamps(f"{f}.amplitude_times_ms", times, dt, tics_per_step(dt),
                            p["allow_offgrid_times"])
        vals = p["amplitude_values_pA"]
        if not isinstance(vals, (list, tuple)) or len(vals) != len(times):
            raise SpecError(f"{f}.amplitude_values_pA", vals, f"must be a list of {len(times)} numbers (pA)")
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpecError(f"{f}.amplitude_values_pA", v, "must be finite numbers (pA)")
        p["amplitude_times_ms"], p["amplitude_values_pA"] = [float(t) for t in times], [float(v) for v in vals]
    elif dv.type == "spike_generator":
        flag("allow_offgrid_times")
        flag("shift_now_spikes")
        spike_generator_stamps(f"{f}.spike_times_ms", p["spike_times_ms"], dt, tics_per_step(dt),
                               p["allow_offgrid_times"], p["shift_now_spikes"],
                               device_time_steps(p["origin_ms"], tics_per_step(dt)))
        p["spike_times_ms"] = [float(t) for t in p["spike_times_ms"]]
        num("weight")
    elif dv.type in ("voltmeter", "multimeter"):
        num("interval_ms", lo=0.0, strict=True)
        k = p["interval_ms"] / dt
        if abs(k - round(k)) > 1e-9 * max(1.0, k):
            raise SpecError(f"{f}.interval_ms", p["interval_ms"], f"must be a multiple of dt_ms = {dt}")
        from ..models import MODELS
        rf = p["record_from"]
        if isinstance(rf, str):
            rf = [rf]
        if not isinstance(rf, (list, tuple)) or not rf or len(set(rf)) != len(rf):
            raise SpecError(f"{f}.record_from", rf, "must be a non-empty list of distinct variable names")
        for t in dv.targets:
            allowed = MODELS[net.population(t).model].recordables
            bad = [v for v in rf if v not in allowed]
            if bad:
                raise SpecError(f"{f}.record_from", bad[0],
                                f"not recordable in {t} ({net.population(t).model}); allowed: "
                                f"{', '.join(allowed)}")
        p["record_from"] = list(rf)
