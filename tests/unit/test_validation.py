"""Invalid input gives a SpecError naming the field, the value and what is allowed."""
import math

import pytest

from distsim.spec import Device, Network, Population, Projection, SpecError, validate
from distsim.spec.network import network_from_dict


def base(**kw):
    pops = [Population("E", "iaf_psc_exp", 10, kw.pop("params", {}))]
    projs = kw.pop("projs", [])
    devs = kw.pop("devs", [])
    return Network(pops, projs, devs, dt_ms=kw.pop("dt", 0.1))


CASES = [
    (lambda: base(params={"tau_m": -1.0}), "populations[E].params.tau_m", "> 0"),
    (lambda: base(params={"C_m": 0.0}), "populations[E].params.C_m", "> 0"),
    (lambda: base(params={"tau_syn_ex": math.nan}), "populations[E].params.tau_syn_ex", "finite"),
    (lambda: base(params={"V_th": math.inf}), "populations[E].params.V_th", "finite"),
    (lambda: base(params={"t_ref": -0.5}), "populations[E].params.t_ref", ">= 0"),
    (lambda: base(params={"V_reset": -40.0}), "populations[E].params.V_reset", "< V_th"),
    (lambda: base(params={"tau_x": 1.0}), "populations[E].params.tau_x", "unknown parameter"),
    (lambda: base(dt=0.0), "simulation.dt_ms", "> 0"),
    (lambda: Network([Population("E", "izhikevich", 10)]), "populations[E].model", "unknown model"),
    (lambda: Network([Population("E", "iaf_psc_exp", 0)]), "populations[E].n", ">= 1"),
    (lambda: base(projs=[Projection("E", "E", "fixed_outdegree")]), ".rule", "unknown rule"),
    (lambda: base(projs=[Projection("E", "X", "all_to_all")]), ".target", "unknown population"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", delay_ms=0.05)]), ".delay_ms", ">= dt_ms"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", delay_ms=0.15)]), ".delay_ms", "multiple of dt_ms"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", weight=math.nan)]), ".weight", "finite"),
    (lambda: base(projs=[Projection("E", "E", "fixed_indegree", indegree=11, allow_multapses=False)]),
     ".indegree", "<= 10"),
    (lambda: base(projs=[Projection("E", "E", "fixed_indegree", indegree=10, allow_multapses=False,
                                    allow_autapses=False)]), ".indegree", "<= 9"),
    (lambda: base(projs=[Projection("E", "E", "pairwise_bernoulli", p=1.5)]), ".p", "[0, 1]"),
    (lambda: base(projs=[Projection("E", "E", "fixed_total_number", n_total=5, allow_multapses=False)]),
     ".allow_multapses", "requires"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", weight={"dist": "normal", "mean": 1.0, "std": 0.1, "min": 5.0})]),
     ".weight", "holds almost none"),
    (lambda: base(devs=[Device("poisson_generator", ["E"], {"rate_Hz": -1.0, "weight": 1.0})]), ".rate_Hz", ">= 0"),
    (lambda: base(devs=[Device("poisson_generator", ["E"], {"weight": 1.0})]), ".rate_Hz", "required"),
    (lambda: base(devs=[Device("spike_generator", ["E"], {"spike_times_ms": [1.05], "weight": 1.0})]),
     ".spike_times_ms", "multiples of dt_ms"),
    (lambda: base(devs=[Device("voltmeter", ["E"], {"interval_ms": 0.0})]), ".interval_ms", "> 0"),
    (lambda: base(devs=[Device("noise_genrator", ["E"])]), ".type", "unknown device"),
    (lambda: base(params={"tau_mm": 1.0}), "populations[E].params.tau_mm", "did you mean 'tau_m'"),
    (lambda: base(params={"tau_mm": "x"}), "populations[E].params.tau_mm", "did you mean 'tau_m'"),
    (lambda: base(projs=[Projection("E", "E", "fixed_indegre", indegree=1)]), ".rule", "did you mean 'fixed_indegree'"),
    (lambda: base(projs=[Projection("E", "e", "all_to_all")]), ".target", "did you mean 'E'"),
    (lambda: base(devs=[Device("poisson_generator", ["E"], {"rate_hz": 1.0, "weight": 1.0})]),
     ".rate_hz", "did you mean 'rate_Hz'"),
    (lambda: base(devs=[Device("poisson_generator", ["E"], {"rate_Hz": 1e12, "weight": 1.0})]),
     ".rate_Hz", "Poisson sampler supports at most"),
    (lambda: base(params={"V_m": {"dist": "normal", "mean": 1.0, "sdt": 1.0}}), ".V_m.sdt", "did you mean 'std'"),
    (lambda: base(params={"V_m": {"dist": "gauss", "mean": 1.0, "std": 1.0}}), ".V_m.dist", "unknown distribution"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", weight=1e-300)]), ".weight", "stored as float32"),
    (lambda: base(projs=[Projection("E", "E", "all_to_all", weight=-1e39)]), ".weight", "stored as float32"),
]


@pytest.mark.parametrize("make,field,allowed", CASES)
def test_invalid_input_names_field_value_and_range(make, field, allowed):
    with pytest.raises(SpecError) as e:
        validate(make())
    msg = str(e.value)
    assert field in e.value.field, msg
    assert allowed in e.value.allowed, msg
    assert " = " in msg


def test_dict_form_round_trip():
    net = base(params={"V_m": {"dist": "normal", "mean": -58.0, "std": 10.0}},
               projs=[Projection("E", "E", "fixed_indegree", indegree=3, weight=2.0, delay_ms=1.5)],
               devs=[Device("poisson_generator", ["E"], {"rate_Hz": 8.0, "weight": 87.8})])
    validate(net)
    again = validate(network_from_dict(net.to_dict()))
    assert again.to_dict() == net.to_dict()


def test_missing_parameter_file(tmp_path):
    from distsim.spec import load_network
    with pytest.raises(SpecError) as e:
        load_network(tmp_path / "nope.toml")
    assert "does not exist" in str(e.value)


@pytest.mark.parametrize("d,field,near", [
    ({"simulaton": {"dt_ms": 0.1}}, "simulaton", "simulation"),
    ({"simulation": {"dtms": 0.1}}, "simulation.dtms", "dt_ms"),
    ({"populations": [{"name": "E", "model": "iaf_psc_exp", "n": 1, "parms": {}}]}, "populations[E].parms", "params"),
    ({"projections": [{"source": "E", "target": "E", "rule": "all_to_all", "wieght": 1.0}]}, "projections[0].wieght", "weight"),
])
def test_dict_form_unknown_keys_suggest(d, field, near):
    full = {"populations": [{"name": "E", "model": "iaf_psc_exp", "n": 1}]}
    full.update(d)
    with pytest.raises(SpecError) as e:
        validate(network_from_dict(full))
    assert e.value.field == field and f"did you mean '{near}'" in e.value.allowed


def test_v_min_default_minus_inf_can_be_given():
    """A model's listed default must be accepted when written out (V_min = -inf)."""
    net = validate(Network([Population("E", "iaf_psc_delta", 1, {"V_min": -math.inf})]))
    assert net.population("E").params["V_min"].a == -math.inf
