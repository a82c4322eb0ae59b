"""Property-based: invalid specs get a named error before any allocation, and an existing
output file is never touched."""
import copy
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distsim.cli import main

BASE = {
    "name": "fuzz",
    "simulation": {"dt_ms": 0.1},
    "populations": [
        {"name": "E", "model": "iaf_psc_exp", "n": 20, "params": {"tau_m": 10.0, "C_m": 250.0}},
        {"name": "I", "model": "iaf_psc_delta", "n": 10, "params": {"tau_m": 20.0}},
    ],
    "projections": [
        {"source": "E", "target": "I", "rule": "fixed_indegree", "indegree": 5, "weight": 0.5, "delay_ms": 1.0},
        {"source": "I", "target": "E", "rule": "pairwise_bernoulli", "p": 0.2, "weight": -50.0, "delay_ms": 0.5},
    ],
    "devices": [{"type": "poisson_generator", "targets": ["E"], "rate_Hz": 1000.0, "weight": 80.0},
                {"type": "spike_recorder", "targets": ["E", "I"]}],
}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and math.isnan(v):
            return "nan"
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items()) + "}"
    raise TypeError(v)


def to_toml(d):
    return "\n".join(f'"{k}" = {toml_value(v)}' for k, v in d.items()) + "\n"


BAD_NUMBERS = st.sampled_from([-1.0, 0.0, math.nan, math.inf, -math.inf, -1e-300])


def mutations():
    pop = st.sampled_from([0, 1])
    proj = st.sampled_from([0, 1])
    return st.one_of(
        st.tuples(st.just("pop_param"), pop, st.sampled_from(["tau_m", "C_m", "t_ref"]), BAD_NUMBERS),
        st.tuples(st.just("model"), pop, st.text(min_size=1, max_size=12).filter(lambda s: s not in ("iaf_psc_exp", "iaf_psc_delta"))),
        st.tuples(st.just("rule"), proj, st.sampled_from(["fixed_outdegree", "", "random", "FIXED_INDEGREE"])),
        st.tuples(st.just("delay"), proj, st.sampled_from([0.0, 0.05, 0.099, -1.0, math.nan, 0.15, math.inf])),
        st.tuples(st.just("weight"), proj, st.sampled_from([math.nan, math.inf, "x"])),
        st.tuples(st.just("indegree"), st.integers(11, 10**6)),
        st.tuples(st.just("dt"), BAD_NUMBERS),
        st.tuples(st.just("size"), pop, st.sampled_from([0, -5, 2.5])),
        st.tuples(st.just("rate"), st.sampled_from([-1.0, math.nan, math.inf, 1e12])),
        # an unknown key at any level of the file (every valid key is refused with "zz" before it)
        st.tuples(st.just("unknown_key"),
                  st.sampled_from(["top", "simulation", "population", "params", "projection", "device"]),
                  st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ABC", min_size=0, max_size=8)),
    )


def apply(d, m):
    d = copy.deepcopy(d)
    kind = m[0]
    if kind == "pop_param":
        d["populations"][m[1]]["params"][m[2]] = m[3]
    elif kind == "model":
        d["populations"][m[1]]["model"] = m[2]
    elif kind == "rule":
        d["projections"][m[1]]["rule"] = m[2]
    elif kind == "delay":
        d["projections"][m[1]]["delay_ms"] = m[2]
    elif kind == "weight":
        d["projections"][m[1]]["weight"] = m[2]
    elif kind == "indegree":  # E -> I from 20 sources without multapses
        d["projections"][0].update(indegree=m[1] + 10, allow_multapses=False)
    elif kind == "dt":
        d["simulation"]["dt_ms"] = m[1]
    elif kind == "size":
        d["populations"][m[1]]["n"] = m[2]
    elif kind == "rate":
        d["devices"][0]["rate_Hz"] = m[1]
    elif kind == "unknown_key":
        where = {"top": d, "simulation": d["simulation"], "population": d["populations"][0],
                 "params": d["populations"][0]["params"], "projection": d["projections"][1],
                 "device": d["devices"][0]}[m[1]]
        where["zz" + m[2]] = 1.0
    return d


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutations())
def test_invalid_spec_is_rejected_before_allocation(tmp_path, monkeypatch, capsys, m):
    import distsim.engine.simulation as S

    def no_build(self):
        raise AssertionError("network was built although the spec is invalid")
    monkeypatch.setattr(S.Simulation, "_build", no_build)
    spec = tmp_path / "spec.toml"
    spec.write_text(to_toml(apply(BASE, m)))
    out = tmp_path / "existing.h5"
    out.write_bytes(b"precious")
    before = os.stat(out).st_mtime_ns
    rc = main(["run", str(spec), "--t-sim", "10", "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "distsim: error:" in err and " = " in err, err
    if m[0] == "unknown_key":
        assert f"'zz{m[2]}'" in err and "unknown" in err, err
    assert out.read_bytes() == b"precious" and os.stat(out).st_mtime_ns == before


def test_valid_base_spec_runs(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(to_toml(BASE))
    assert main(["run", str(spec), "--t-sim", "5", "-q"]) == 0
