"""Built-in models, by command-line name."""
import importlib

from ..spec import SpecError
from ..spec.errors import suggestion


def builtin_models():
    """dict name -> builder function(**params) -> Network."""
    from .adex_brunel import adex_brunel
    from .brunel import brunel
    from .coba import coba
    from .gif_populations import gif_populations
    from .hpc_benchmark import hpc_benchmark
    from .ring import ring

    models = {"brunel": brunel, "gif_populations": gif_populations, "ring": ring,
              "hpc_benchmark": hpc_benchmark, "coba": coba, "adex_brunel": adex_brunel}
    try:
        from .microcircuit import microcircuit
        models["microcircuit"] = microcircuit
    except ImportError:
        pass
    return models


def builtin_params(name):
    """dict argument -> :class:`distsim.spec.declare.NetParam` of built-in model ``name``
    (the declarations its builder checks its arguments with)."""
    fn = builtin_models()[name]
    return importlib.import_module(fn.__module__).PARAMS


def build_builtin(name, overrides=None):
    """The built-in network ``name`` with keyword overrides (strings are parsed by the
    declared kind). A dotted key (``populations.E.params.tau_m``) sets that entry of the
    built network's parameter-file form instead. Returns the (unvalidated) Network."""
    models = builtin_models()
    if name not in models:
        raise SpecError("model", name, f"unknown built-in model; {suggestion(name, models)}allowed: "
                                       f"{', '.join(sorted(models))} or a parameter file (.toml)")
    decl = builtin_params(name)
    kwargs, paths = {}, {}
    for k, v in (overrides or {}).items():
        if "." in k:
            paths[k] = v
            continue
        if k not in decl:
            raise SpecError(f"--set {k}", v, f"unknown parameter of {name}; {suggestion(k, decl)}"
                                             f"allowed: {', '.join(decl)} (or a dotted path into the "
                                             "network such as populations.NAME.params.KEY)")
        kwargs[k] = decl[k].coerce(f"--set {k}", v)
    net = models[name](**kwargs)
    if paths:
        from ..spec import network_from_dict
        from ..spec.overrides import set_path
        d = net.to_dict()
        for k, v in paths.items():
            set_path(d, k, v)
        net = network_from_dict(d)
    return net

