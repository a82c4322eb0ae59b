"""Built-in models, by command-line name."""
import inspect

from ..spec import SpecError


def builtin_models():
    """dict name -> builder function(**params) -> Network."""
    from .brunel import brunel
    from .gif_populations import gif_populations

    models = {"brunel": brunel, "gif_populations": gif_populations}
    try:
        from .microcircuit import microcircuit
        models["microcircuit"] = microcircuit
    except ImportError:
        pass
    return models


def build_builtin(name, overrides=None):
    """The built-in network ``name`` with keyword overrides (strings are parsed)."""
    models = builtin_models()
    if name not in models:
        raise SpecError("model", name, f"unknown built-in model; allowed: {', '.join(sorted(models))} "
                                       "or a parameter file (.toml)")
    fn = models[name]
    sig = inspect.signature(fn)
    kwargs = {}
    for k, v in (overrides or {}).items():
        if k not in sig.parameters:
            raise SpecError(f"--set {k}", v, f"unknown parameter of {name}; allowed: "
                                             f"{', '.join(sig.parameters)}")
        default = sig.parameters[k].default
        kwargs[k] = coerce(k, v, default)
    return fn(**kwargs)


def coerce(key, v, like):
    """Parse a command-line string ``v`` to the type of ``like``; raises SpecError."""
    if not isinstance(v, str):
        return v
    try:
        if isinstance(like, bool):
            if v.lower() in ("1", "true", "yes", "on"):
                return True
            if v.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(like, int):
            f = float(v)
            if f != int(f):
                raise ValueError
            return int(f)
        if isinstance(like, float):
            return float(v)
    except ValueError:
        raise SpecError(f"--set {key}", v, f"must be a {type(like).__name__}") from None
    return v
