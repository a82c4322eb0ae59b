"""``--set KEY=VALUE`` overrides: parsing, and setting a dotted path in a parameter dict."""
import json

from .errors import SpecError, suggestion


def parse_sets(items):
    """dict KEY -> VALUE string of ``--set KEY=VALUE`` items, in order; SpecError for an item
    without ``=``, an empty key, or a key given twice."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise SpecError("--set", it, "must be KEY=VALUE")
        k, v = it.split("=", 1)
        k = k.strip()
        if not k:
            raise SpecError("--set", it, "must be KEY=VALUE with a non-empty KEY")
        if k in out:
            raise SpecError(f"--set {k}", v.strip(), f"given twice (also = {out[k]!r})")
        out[k] = v.strip()
    return out


def parse_set_value(value):
    """A ``--set`` value string as JSON (numbers, true/false, lists, tables) or TOML's
    inf/nan; anything else stays a string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    if value.strip().lower() in ("inf", "+inf", "-inf", "nan", "+nan", "-nan"):
        return float(value)
    return value


def set_path(d, dotted, value):
    """Set ``a.b.c`` = ``value`` (a string, parsed by :func:`parse_set_value`) in nested
    dicts/lists: list items by their ``name`` or index. Missing table keys are created (the
    parameter file may leave them at their defaults); a misspelled key is then refused, with
    a suggestion, when the dict is read (``network_from_dict``). Returns ``d``."""
    value = parse_set_value(value)
    keys = dotted.split(".")
    field = f"--set {dotted}"
    cur = d
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if not k:
            raise SpecError(field, value, "empty key in the dotted path")
        if isinstance(cur, list):
            names = [x.get("name") for x in cur if isinstance(x, dict) and "name" in x]
            if k in names:
                idx = next(j for j, x in enumerate(cur) if isinstance(x, dict) and x.get("name") == k)
            elif k.isdigit() and int(k) < len(cur):
                idx = int(k)
            else:
                where = ".".join(keys[:i]) or "the file"
                raise SpecError(field, value, f"{where} has no item '{k}'; {suggestion(k, names)}"
                                              f"items: {', '.join(map(str, names)) or 'none'} "
                                              f"(by name) or 0..{len(cur) - 1} (by index)")
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[k] = value
            else:
                cur = cur.setdefault(k, {})
        else:
            raise SpecError(field, value, f"'{'.'.join(keys[:i])}' is a value ({cur!r}), not a table")
    return d
