"""What ``distsim models [NAME]`` prints (NEST users know it as ``GetDefaults``).

Everything comes from the declarations validation uses: the built-in builders' ``PARAMS``
(:class:`distsim.spec.declare.NetParam`), the neuron models' ``params`` / ``list_params`` /
``bool_params`` / ``relations`` (:mod:`distsim.models.base`), ``DEVICE_PARAMS`` and the
projection fields of :mod:`distsim.spec.network`. Nothing here is typed twice.
"""
import json
import math
import sys

from .spec.errors import SpecError, suggestion

RULE_PARAMS = {
    "fixed_indegree": {"indegree": "integer >= 0 sources per target (<= source size without multapses)"},
    "fixed_total_number": {"n_total": "integer >= 0 synapses in total (needs allow_multapses = true)"},
    "pairwise_bernoulli": {"p": "probability in [0, 1] per pair"},
    "all_to_all": {},
    "one_to_one": {},
    "from_list": {"connections": "{source = [ids], target = [ids], weight = [...], delay_ms = [...]}: one "
                                 "synapse per entry, ids counted from 0 in each population, weight and delay_ms "
                                 "one per entry (or omitted: the projection's constant)"},
}
PROJECTION_FIELDS = {
    "source": ("", "a population name", "source population"),
    "target": ("", "a population name", "target population"),
    "rule": ("", ", ".join(RULE_PARAMS), "connection rule"),
    "weight": ("target model's weight unit", "finite constant or distribution", "synaptic weight"),
    "delay_ms": ("ms", ">= dt, multiple of dt (constant); a distribution is rounded to the grid, min >= dt/2",
                 "synaptic delay"),
    "allow_autapses": ("", "true or false", "a neuron may connect to itself"),
    "allow_multapses": ("", "true or false", "a pair may connect more than once"),
    "synapse": ("", "omitted (static_synapse) or {model = 'stdp_synapse' / 'stdp_pl_synapse_hom' / "
                "'tsodyks2_synapse', <parameters>}", "synapse model (distsim models NAME lists its parameters)"),
    "mask": ("length unit of the positions", "{kind = 'circular', radius} or {kind = 'rectangular' (1-D/2-D) "
             "/ 'box' (3-D), lower_left, upper_right}",
             "spatial (pairwise_bernoulli, fixed_indegree; both populations need positions): only "
             "neurons inside are considered; p may then also be a profile {profile = 'boxcar' (width) / "
             "'gaussian' (std, mean) / 'exponential' (beta), p0} and delay_ms {d0, c} = d0 + c * distance "
             "(distsim/spec/spatial.py)"),
}
DEVICE_FIELDS = {
    "type": "device type",
    "targets": "list of population names",
    "name": "optional name",
    "neuron_ids": "only these indices of the (single) target population",
    "n_per_population": "only the first n neurons of each target population",
}


def _doc(obj):
    """First paragraph of a docstring, on one line."""
    d = sys.modules[obj.__module__].__doc__ or obj.__doc__ or ""
    return " ".join(d.strip().split("\n\n")[0].split())


def _fmt(v):
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, tuple):
        return list(v)
    return v


def network_entry(name):
    """dict describing built-in network model ``name``: doc and parameters."""
    from .networks import builtin_models, builtin_params

    fn = builtin_models()[name]
    return {"kind": "built-in network model", "name": name, "doc": _doc(fn),
            "parameters": {k: {"default": _fmt(p.default), "unit": p.unit, "allowed": p.describe(), "doc": p.doc}
                           for k, p in builtin_params(name).items()},
            "set": f"distsim run {name} --set KEY=VALUE (or a dotted path: populations.NAME.params.KEY)"}


def neuron_entry(name):
    """dict describing neuron model ``name``: parameters, lists, flags, recordables."""
    from .models import MODELS

    m = MODELS[name]
    params = {k: {"default": _fmt(p.default), "unit": p.unit, "allowed": p.describe()} for k, p in m.params.items()}
    if "V_m" in m.known_params():  # not for a parrot_neuron, which has no membrane
        params["V_m"] = {"default": "E_L" if m.V_m_default is None else _fmt(m.V_m_default), "unit": "mV",
                         "allowed": "finite (or a distribution)", "doc": "initial membrane potential"}
    for k, p in m.list_params.items():
        params[k] = {"default": _fmt(p.default), "unit": p.unit, "allowed": p.describe()}
    for k, d in m.bool_params.items():
        params[k] = {"default": d, "unit": "", "allowed": "true or false"}
    if not m.emits_multiplicity:
        for k, p in m.archiving_params.items():
            params[k] = {"default": _fmt(p.default), "unit": p.unit, "allowed": p.describe(),
                         "doc": "STDP postsynaptic trace time constant (read by plastic synapses)"}
    return {"kind": "neuron model", "name": name, "doc": _doc(m), "weight_unit": m.weight_unit,
            "parameters": params, "relations": list(m.relations),
            "same_length": [list(x) for x in m.list_pairs],
            "recordables": dict(m.recordables)}


def synapse_entry(name):
    """dict describing synapse model ``name``: its parameters (the projection's values)."""
    from .synapses import SYNAPSES

    m = SYNAPSES[name]
    params = {k: {"default": _fmt(p.default), "unit": p.unit, "allowed": p.describe(), "doc": p.doc}
              for k, p in m.params.items()}
    return {"kind": "synapse model", "name": name, "doc": _doc(m), "parameters": params,
            "set": "projections[].synapse = {model = '" + name + "', KEY = VALUE}"
                   + ("; tau_minus (ms, default 20) is a parameter of the target neurons"
                      if m.uses_post_history else "")}


def device_entry(name):
    """dict describing device type ``name``: its parameters and the common fields."""
    from .spec.network import DEVICE_PARAMS, REQUIRED, ResolutionDefault

    params = {k: {"default": ("required" if p.default is REQUIRED else "dt_ms" if p.default == "dt"
                              else p.default.text if isinstance(p.default, ResolutionDefault) else _fmt(p.default)),
                  "unit": p.unit, "allowed": p.describe(), "doc": p.doc}
              for k, p in DEVICE_PARAMS[name].items()}
    return {"kind": "device", "name": name, "parameters": params, "fields": dict(DEVICE_FIELDS)}


def rule_entry(name):
    """dict describing connection rule ``name`` and the projection fields (defaults from
    :class:`distsim.spec.Projection`)."""
    from dataclasses import MISSING

    from .spec import Projection

    dflt = {k: f.default for k, f in Projection.__dataclass_fields__.items()}
    return {"kind": "connection rule", "name": name, "parameters": dict(RULE_PARAMS[name]),
            "fields": {k: {"default": "required" if dflt[k] is MISSING else dflt[k], "unit": u, "allowed": a,
                           "doc": d} for k, (u, a, d) in PROJECTION_FIELDS.items()}}


def _names():
    from .models import MODELS
    from .networks import builtin_models
    from .spec.network import DEVICE_TYPES, RULES
    from .synapses import SYNAPSES
    return {"networks": sorted(builtin_models()), "neuron_models": sorted(MODELS),
            "synapse_models": sorted(SYNAPSES), "devices": list(DEVICE_TYPES), "rules": list(RULES)}


def catalog(as_json=False):
    """Overview: every built-in network model, neuron model, device and rule (text or JSON)."""
    n = _names()
    if as_json:
        return json.dumps({"networks": {k: network_entry(k) for k in n["networks"]},
                           "neuron_models": {k: neuron_entry(k) for k in n["neuron_models"]},
                           "synapse_models": {k: synapse_entry(k) for k in n["synapse_models"]},
                           "devices": {k: device_entry(k) for k in n["devices"]},
                           "rules": {k: rule_entry(k) for k in n["rules"]}}, indent=1)
    out = ["Built-in network models (distsim run NAME --set KEY=VALUE):"]
    out += [f"  {k:<18} {network_entry(k)['doc'][:90]}" for k in n["networks"]]
    out.append("Neuron models (populations[].model; parameters in populations[].params):")
    out += [f"  {k:<18} weights in {neuron_entry(k)['weight_unit']}" for k in n["neuron_models"]]
    out.append("Synapse models (projections[].synapse.model; static_synapse without one): "
               + ", ".join(n["synapse_models"]))
    out.append("Devices (devices[].type): " + ", ".join(n["devices"]))
    out.append("Connection rules (projections[].rule): " + ", ".join(n["rules"]))
    out.append("'distsim models NAME' shows the parameters of one of them (default, unit, allowed range).")
    return "\n".join(out)


def _table(params):
    rows = [(k, str(v.get("default", "")), v.get("unit", ""), v.get("allowed", ""), v.get("doc", ""))
            for k, v in params.items()]
    w = [max([len(r[i]) for r in rows] + [len(h)]) for i, h in enumerate(("name", "default", "unit", "allowed"))]
    lines = [f"  {'name':<{w[0]}}  {'default':<{w[1]}}  {'unit':<{w[2]}}  {'allowed':<{w[3]}}  description"]
    lines += [f"  {a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d:<{w[3]}}  {e}".rstrip() for a, b, c, d, e in rows]
    return lines


def describe(name, as_json=False):
    """Parameters of one built-in network model, neuron model, device or rule (text or JSON);
    SpecError naming the nearest known name for anything else."""
    n = _names()
    for group, fn in (("networks", network_entry), ("neuron_models", neuron_entry),
                      ("synapse_models", synapse_entry), ("devices", device_entry), ("rules", rule_entry)):
        if name in n[group]:
            e = fn(name)
            break
    else:
        every = [x for v in n.values() for x in v]
        raise SpecError("models", name, f"unknown name; {suggestion(name, every)}known: {', '.join(every)}")
    if as_json:
        return json.dumps(e, indent=1)
    out = [f"{e['name']} ({e['kind']})"]
    if e.get("doc"):
        out.append("  " + e["doc"])
    if e.get("weight_unit"):
        out.append(f"  weights in {e['weight_unit']}")
    if e["kind"] == "connection rule":
        out.append("  rule parameters: " + ("; ".join(f"{k}: {v}" for k, v in e["parameters"].items()) or "none"))
        out.append("projection fields:")
        out += _table(e["fields"])
        return "\n".join(out)
    out.append("parameters:")
    out += _table(e["parameters"]) if e["parameters"] else ["  (none)"]
    if e.get("relations"):
        out.append("  relations: " + "; ".join(e["relations"]))
    if e.get("same_length"):
        out.append("  same length: " + "; ".join(" and ".join(p) for p in e["same_length"]))
    if e.get("recordables"):
        out.append("  recordables: " + ", ".join(f"{k} ({u})" for k, u in e["recordables"].items()))
    if e.get("fields"):
        out.append("  device fields: " + "; ".join(f"{k}: {v}" for k, v in e["fields"].items()))
    if e.get("set"):
        out.append("  " + e["set"])
    return "\n".join(out)
