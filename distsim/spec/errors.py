"""The error every invalid input raises."""


class SpecError(ValueError):
    """An invalid network, simulation or command-line input.

    The message names the field, the value given and what is allowed, e.g.
    ``populations[E].params.tau_m = -1.0: must be > 0 (ms)``.
    """

    def __init__(self, field, value, allowed):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r}: {allowed}")


def unknown_key(field, key, allowed, what="key"):
    """SpecError for an unknown ``key`` at ``field``: names the key, suggests the nearest
    allowed one (difflib) and lists them all. Returns the error (the caller raises it)."""
    allowed = sorted(str(a) for a in allowed)
    hint = suggestion(key, allowed)
    where = f"{field}.{key}" if field else str(key)
    return SpecError(where, key, f"unknown {what}; {hint}allowed: {', '.join(allowed) or 'none'}")


def check_keys(field, keys, allowed, what="key"):
    """Raise :func:`unknown_key` for the first key of ``keys`` not in ``allowed`` (sorted order,
    so the message is the same on every rank)."""
    allowed = set(allowed)
    for k in sorted(keys, key=str):
        if k not in allowed:
            raise unknown_key(field, k, allowed, what)


def unknown_name(field, value, allowed, what):
    """SpecError for a ``value`` of ``field`` that names nothing known (a model, rule,
    population...): suggests the nearest allowed name. Returns the error."""
    allowed = sorted(str(a) for a in allowed)
    hint = suggestion(value, allowed)
    return SpecError(field, value, f"unknown {what}; {hint}allowed: {', '.join(allowed) or 'none'}")


def suggestion(name, allowed):
    """``"did you mean 'x'? "`` for the allowed name nearest to ``name`` (difflib), or ""."""
    import difflib

    allowed = [str(a) for a in allowed]
    lower = {a.lower(): a for a in allowed}
    near = difflib.get_close_matches(str(name).lower(), list(lower), n=1, cutoff=0.6)
    return f"did you mean '{lower[near[0]]}'? " if near else ""
