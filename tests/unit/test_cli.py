"""Command line: bad input is refused before any work (exit 2, a named error), and the
command line says what it can do (--help, --version, ``distsim models``). Issue 13 items 3,
4, 12, 13 and 16."""
import copy
import inspect
import json
import math
import re

import pytest

from distsim.cli import main
from distsim.spec import SpecError


def grid_steps(*a, **kw):
    from distsim.spec.times import grid_steps as g
    return g(*a, **kw)

from test_fuzz_specs import BASE, to_toml


@pytest.fixture
def no_build(monkeypatch):
    """Any attempt to build a network fails the test."""
    import distsim.engine.simulation as S

    def refuse(self):
        raise AssertionError("network was built although the input is invalid")
    monkeypatch.setattr(S.Simulation, "_build", refuse)


def spec_file(tmp_path, d=None, text=None):
    p = tmp_path / "spec.toml"
    p.write_text(text if text is not None else to_toml(d or BASE))
    return str(p)


def run_err(capsys, argv):
    """(exit code, stderr) of ``distsim`` with argv."""
    rc = main(argv)
    return rc, capsys.readouterr().err


def renamed(path, old, new):
    """BASE with key ``old`` at ``path`` (list of keys/indices) renamed to ``new``."""
    d = copy.deepcopy(BASE)
    cur = d
    for k in path:
        cur = cur[k]
    cur[new] = cur.pop(old)
    return d


# ------------------------------------------------------------------ item 3: unknown keys
FILE_MISSPELLINGS = [  # (dict, the bad key, the suggestion)
    (renamed([], "simulation", "simulaton"), "simulaton", "simulation"),
    (renamed(["simulation"], "dt_ms", "dtms"), "dtms", "dt_ms"),
    (renamed([], "populations", "populatons"), "populatons", "populations"),
    (renamed(["populations", 0], "model", "modle"), "modle", "model"),
    (renamed(["populations", 0, "params"], "tau_m", "tau_mm"), "tau_mm", "tau_m"),
    (renamed(["projections", 0], "weight", "wieght"), "wieght", "weight"),
    (renamed(["projections", 0], "delay_ms", "delay"), "delay", "delay_ms"),
    (renamed(["devices", 0], "rate_Hz", "rate_hz"), "rate_hz", "rate_Hz"),
    (renamed(["devices", 1], "targets", "target"), "target", "targets"),
]


@pytest.mark.parametrize("d,bad,near", FILE_MISSPELLINGS, ids=[m[1] for m in FILE_MISSPELLINGS])
def test_misspelled_key_in_file_is_named_with_suggestion(tmp_path, capsys, no_build, d, bad, near):
    rc, err = run_err(capsys, ["run", spec_file(tmp_path, d), "--t-sim", "10", "-q"])
    assert rc == 2, err
    assert f"'{bad}'" in err and f"did you mean '{near}'" in err, err


def test_misspelled_distribution_key(tmp_path, capsys, no_build):
    d = copy.deepcopy(BASE)
    d["populations"][0]["params"]["V_m"] = {"dist": "normal", "maen": -60.0, "std": 1.0}
    rc, err = run_err(capsys, ["run", spec_file(tmp_path, d), "--t-sim", "10", "-q"])
    assert rc == 2 and "'maen'" in err and "did you mean 'mean'" in err, err


SET_MISSPELLINGS = [  # (--set item, text the error must hold)
    ("populatons.E.params.tau_m=-5", "did you mean 'populations'"),
    ("simulation.dtms=0.5", "did you mean 'dt_ms'"),
    ("populations.E.params.tau_mm=5", "did you mean 'tau_m'"),
    ("populations.EE.params.tau_m=5", "did you mean 'E'"),
    ("projections.0.wieght=5", "did you mean 'weight'"),
    ("devices.0.rate_hz=5", "did you mean 'rate_Hz'"),
]


@pytest.mark.parametrize("item,text", SET_MISSPELLINGS)
def test_misspelled_set_path_on_file(tmp_path, capsys, no_build, item, text):
    rc, err = run_err(capsys, ["run", spec_file(tmp_path), "--set", item, "--t-sim", "10", "-q"])
    assert rc == 2 and text in err, err


@pytest.mark.parametrize("item,text", [
    ("ordr=100", "did you mean 'order'"),
    ("populations.E.params.tau_mm=5", "did you mean 'tau_m'"),
    ("populations.E.params.tau_m=-5", "populations[E].params.tau_m = -5.0: must be > 0"),
    ("devices.external.rate_hz=5", "did you mean 'rate_Hz'"),
])
def test_builtin_set_unknown_or_invalid(capsys, no_build, item, text):
    rc, err = run_err(capsys, ["run", "brunel", "--set", "order=100", "--set", item, "--t-sim", "10", "-q"])
    assert rc == 2 and text in err, err


def test_builtin_dotted_set_is_applied():
    from distsim.cli import load_model
    net = load_model("brunel", {"order": "10", "populations.E.params.tau_m": "15"})
    assert net.population("E").params["tau_m"].a == 15.0
    assert net.population("I").params["tau_m"].a == 20.0


def test_set_given_twice_is_refused(capsys, no_build):
    rc, err = run_err(capsys, ["run", "brunel", "--set", "order=10", "--set", "order=20", "--t-sim", "1", "-q"])
    assert rc == 2 and "given twice" in err, err


# ------------------------------------------------------------------ item 4: times on the grid
# NEST 3.10, resolution 0.1 ms: nest.Simulate(t) raised BadParameter for these ...
NEST_REFUSES = [10.05, 0.03, 0.55, 10.0005]
# ... and ran these (t -> steps): it rounds to the microsecond tic first, then demands whole steps
NEST_ACCEPTS = {10.0000004: 100, 10.0004: 100, 10.1: 101, 0.0: 0, 0.1: 1, 1e-4: 0}


@pytest.mark.parametrize("t", NEST_REFUSES)
def test_grid_steps_refuses_what_nest_refuses(t):
    with pytest.raises(SpecError) as e:
        grid_steps("--t-sim", t, 0.1)
    assert "multiple of dt_ms = 0.1" in str(e.value)


@pytest.mark.parametrize("t,steps", NEST_ACCEPTS.items())
def test_grid_steps_accepts_what_nest_accepts(t, steps):
    assert grid_steps("--t-sim", t, 0.1) == steps


def test_grid_steps_matches_nest_live():
    nest = pytest.importorskip("nest")
    nest.verbosity = nest.VerbosityLevel.FATAL
    for t in NEST_REFUSES + list(NEST_ACCEPTS) + [5.25, 2.9999, 7.00049]:
        nest.ResetKernel()
        nest.resolution = 0.1
        try:
            nest.Simulate(t)
            nest_steps = round(nest.biological_time / 0.1)
        except Exception:  # noqa: BLE001 - NEST's BadParameter
            nest_steps = None
        try:
            ours = grid_steps("t", t, 0.1)
        except SpecError:
            ours = None
        assert ours == nest_steps, t


@pytest.mark.parametrize("opts,field", [
    (["--t-sim", "10.05"], "--t-sim"),
    (["--t-sim", "0.03"], "--t-sim"),
    (["--t-sim", "10", "--t-presim", "0.55"], "--t-presim"),
    (["--t-sim", "10", "--checkpoint-every", "0.05"], "--checkpoint-every"),
    (["--t-sim", "10", "--flush-interval", "0.25"], "--flush-interval"),
    (["--t-sim", "10", "--flush-interval", "0"], "--flush-interval"),
])
def test_off_grid_times_are_refused_before_the_build(tmp_path, capsys, no_build, opts, field):
    out = str(tmp_path / "out.h5")
    rc, err = run_err(capsys, ["run", spec_file(tmp_path), "-q", "-o", out] + opts)
    assert rc == 2, err
    assert f"distsim: error: {field} = " in err, err


def test_time_within_half_a_tic_runs_whole_steps(tmp_path, capsys):
    rc = main(["run", spec_file(tmp_path), "--t-sim", "1.0000004", "-q"])
    out = capsys.readouterr().out
    assert rc == 0
    assert json.loads(out.strip().splitlines()[-1])["n_neurons"] == 30


# ------------------------------------------------------------------ item 13: crash -> named error
@pytest.mark.parametrize("argv,text", [
    (["brunel", "--set", "J=1e-300"], "J = 1e-300: gives an external Poisson rate"),
    (["brunel", "--set", "order=100", "--set", "epsilon=0.0001"], "epsilon = 0.0001: gives CE"),
    (["brunel", "--set", "g=-1"], "g = -1.0: must be a finite number >= 0"),
])
def test_builtin_values_that_crashed_are_named(capsys, no_build, argv, text):
    rc, err = run_err(capsys, ["run"] + argv + ["--t-sim", "10", "-q"])
    assert rc == 2 and text in err, err


def test_poisson_rate_beyond_the_sampler_is_named(tmp_path, capsys, no_build):
    d = copy.deepcopy(BASE)
    d["devices"][0]["rate_Hz"] = 1e12
    rc, err = run_err(capsys, ["run", spec_file(tmp_path, d), "--t-sim", "10", "-q"])
    assert rc == 2 and ".rate_Hz = 1000000000000.0" in err and "Poisson sampler" in err, err


def test_largest_allowed_poisson_mean_builds_its_table_quickly():
    """The limit is usable: a table at the limit is built in well under a minute."""
    import time

    from distsim.kernels.poisson import cdf_table, stack_tables
    from distsim.spec.network import POISSON_MAX_MEAN_PER_STEP
    t0 = time.perf_counter()
    flat, width = stack_tables([cdf_table(POISSON_MAX_MEAN_PER_STEP)])
    assert time.perf_counter() - t0 < 30.0
    assert width < 2 * POISSON_MAX_MEAN_PER_STEP


@pytest.mark.parametrize("with_set", [False, True])
def test_malformed_toml_is_a_named_error(tmp_path, capsys, no_build, with_set):
    path = spec_file(tmp_path, text="name = 'x'\n[simulation\ndt_ms = 0.1\n")
    argv = ["run", path, "--t-sim", "10", "-q"] + (["--set", "simulation.dt_ms=0.1"] if with_set else [])
    rc, err = run_err(capsys, argv)
    assert rc == 2 and "is not valid TOML" in err and "line 2" in err, err


# ------------------------------------------------------------------ item 16: what the CLI can do
def exit_code(argv):
    """distsim's exit code for argv, whether it returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code or 0


@pytest.mark.parametrize("cmd", ["analyze", "meanfield", "run", "models"])
def test_help_of_every_command(capsys, cmd):
    assert exit_code([cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: distsim {cmd}" in out, out


def test_version(capsys):
    from distsim import __version__
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"distsim {__version__}"


def test_run_help_names_every_builtin(capsys):
    from distsim.networks import builtin_models
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in builtin_models():
        assert name in out


def models_json(capsys, *name):
    assert main(["models", *name, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_models_overview_lists_everything(capsys):
    from distsim.models import MODELS
    from distsim.networks import builtin_models
    from distsim.spec import DEVICE_TYPES, RULES
    c = models_json(capsys)
    assert set(c["networks"]) == set(builtin_models())
    assert set(c["neuron_models"]) == set(MODELS)
    from distsim.synapses import SYNAPSES
    assert set(c["synapse_models"]) == set(SYNAPSES)
    assert c["synapse_models"]["stdp_synapse"]["parameters"]["Wmax"]["default"] == 100.0
    assert c["neuron_models"]["iaf_psc_alpha"]["parameters"]["tau_minus"]["default"] == 20.0
    assert set(c["devices"]) == set(DEVICE_TYPES) and set(c["rules"]) == set(RULES)
    assert main(["models"]) == 0
    assert "gif_populations" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["brunel", "microcircuit", "gif_populations", "hpc_benchmark", "coba",
                                  "adex_brunel"])
def test_builtin_declarations_are_the_builders_signature(capsys, name):
    """The listing, the --set checks and the function's defaults are one declaration."""
    from distsim.networks import builtin_models, builtin_params
    fn = builtin_models()[name]
    sig = inspect.signature(fn).parameters
    decl = builtin_params(name)
    assert list(sig) == list(decl)
    for k, p in decl.items():
        assert sig[k].default == p.default, k
    listed = models_json(capsys, name)["parameters"]
    assert list(listed) == list(decl)
    for k, p in decl.items():
        assert listed[k]["allowed"] == p.describe() and listed[k]["unit"] == p.unit


@pytest.mark.parametrize("name,bad", [("brunel", {"order": 0}), ("brunel", {"J": 0.0}),
                                      ("brunel", {"epsilon": 1.5}), ("microcircuit", {"N_scaling": 0.0}),
                                      ("microcircuit", {"V0_type": "best"}), ("gif_populations", {"form": "x"}),
                                      ("gif_populations", {"adaptation": -1.0})])
def test_listed_ranges_are_enforced(name, bad):
    from distsim.networks import builtin_models
    with pytest.raises(SpecError) as e:
        builtin_models()[name](**bad)
    assert e.value.field == next(iter(bad))


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp", "gif_psc_exp", "gif_pop_psc_exp", "hh_psc_alpha"])
def test_neuron_listing_matches_validation(capsys, model):
    """Every listed parameter is accepted; a listed "> 0" parameter at 0 is refused; an
    unlisted name is refused."""
    from distsim.spec import Network, Population, validate
    listed = models_json(capsys, model)["parameters"]
    for k, v in listed.items():
        if v["default"] == "E_L" or isinstance(v["default"], bool):
            continue
        default = float(v["default"]) if v["default"] in ("inf", "-inf") else v["default"]
        validate(Network([Population("P", model, 1, {k: default})]))
        if v["allowed"].startswith("> 0"):
            with pytest.raises(SpecError):
                validate(Network([Population("P", model, 1, {k: 0.0})]))
    with pytest.raises(SpecError) as e:
        validate(Network([Population("P", model, 1, {"not_a_param": 1.0})]))
    assert "not_a_param" in e.value.field


@pytest.mark.parametrize("dev", ["poisson_generator", "dc_generator", "step_current_generator",
                                 "spike_generator", "ac_generator", "noise_generator", "spike_recorder",
                                 "voltmeter", "multimeter"])
def test_device_listing_matches_validation(capsys, dev):
    from distsim.spec import Device, Network, Population, validate
    listed = models_json(capsys, dev)["parameters"]
    example = {"rate_Hz": 10.0, "weight": 1.0, "amplitude_pA": 1.0, "amplitude_times_ms": [1.0],
               "amplitude_values_pA": [2.0], "spike_times_ms": [1.0]}
    required = {k: example[k] for k, v in listed.items() if v["default"] == "required"}
    validate(Network([Population("P", "iaf_psc_exp", 2)], [], [Device(dev, ["P"], dict(required))]))
    for k in required:
        missing = {a: b for a, b in required.items() if a != k}
        with pytest.raises(SpecError, match="is required"):
            validate(Network([Population("P", "iaf_psc_exp", 2)], [], [Device(dev, ["P"], missing)]))
    with pytest.raises(SpecError, match="unknown parameter"):
        validate(Network([Population("P", "iaf_psc_exp", 2)], [], [Device(dev, ["P"], dict(required, bogus=1))]))


def test_models_unknown_name_suggests(capsys):
    rc, err = run_err(capsys, ["models", "iaf_psc_exq"])
    assert rc == 2 and "did you mean 'iaf_psc_exp'" in err


# ------------------------------------------------------------------ item 12: memory estimate
def test_estimate_counts_synapses_and_bytes_of_the_build():
    """The synapse part of the estimate is the table the build allocates (exact counts for
    fixed_indegree / fixed_total_number; 9 bytes a synapse plus row pointers)."""
    from distsim.engine import Simulation
    from distsim.networks import build_builtin
    from distsim.spec import validate
    from distsim.spec.memory import estimate
    for name, sets in (("brunel", {"order": "40"}), ("microcircuit", {"N_scaling": "0.002"})):
        net = validate(build_builtin(name, sets))
        est = estimate(net, 1)
        sim = Simulation(net, seed=1)
        assert est["n_synapses"] == sim.n_synapses
        table = sim.syn.nbytes
        assert table <= est["synapse_bytes"] <= table + 8 * (net.n_neurons + 1) + 8 * 8 * net.n_neurons
    # plastic (stdp_pl_synapse_hom E->E, 12 bytes a synapse): its own tables
    net = validate(build_builtin("hpc_benchmark", {"scale": "0.02", "indegree_scale": "0.05"}))
    est = estimate(net, 1)
    sim = Simulation(net, seed=1)
    assert est["n_synapses"] == sim.n_synapses
    table = sim.syn.nbytes + sum(t.nbytes for t in sim.plastic.tables)
    assert table <= est["synapse_bytes"] <= table + 8 * (net.n_neurons + 1) + 8 * 8 * net.n_neurons


def test_oversized_model_is_refused_with_numbers(capsys, no_build):
    rc, err = run_err(capsys, ["run", "brunel", "--set", "order=10**6", "--t-sim", "10"])
    assert rc == 2, err
    assert "memory estimate per rank" in err  # printed before the refusal
    assert re.search(r"memory estimate = '[0-9.]+ GiB per rank'", err), err
    assert "GiB per rank (MemAvailable" in err or "cgroup" in err, err
    assert "--no-memory-check" in err


@pytest.mark.parametrize("override", ["flag", "env"])
def test_memory_check_override_goes_on_to_build(monkeypatch, capsys, override):
    import distsim.engine.simulation as S

    class Built(Exception):
        pass

    def reached(self):
        raise Built
    monkeypatch.setattr(S.Simulation, "_build", reached)
    monkeypatch.setattr("distsim.spec.memory.node_available_bytes", lambda: (1, "test"))
    monkeypatch.setattr("distsim.spec.memory.current_rss_bytes", lambda: 0)
    argv = ["run", "brunel", "--set", "order=10", "--t-sim", "1", "-q"]
    rc, err = run_err(capsys, argv)
    assert rc == 2 and "--no-memory-check" in err  # 1 byte available: refused
    if override == "flag":
        argv.append("--no-memory-check")
    else:
        monkeypatch.setenv("DISTSIM_MEMORY_CHECK", "0")
    assert main(argv) == 1  # reached the build (Built is reported as a failure)
    assert "Built" in capsys.readouterr().err


def test_node_available_bytes_is_positive():
    from distsim.spec.memory import node_available_bytes
    avail, src = node_available_bytes()
    assert avail is not None and avail > 0 and src


def test_build_progress_names_the_projection(capsys):
    from distsim.engine.simulation import _BuildProgress
    from distsim.networks import build_builtin
    net = build_builtin("brunel", {"order": "10"})
    p = _BuildProgress(net)
    p(stage="counting", i=0, n=4)  # under 2 s: quiet
    assert capsys.readouterr().err == ""
    p.last -= 3.0
    p("filling", 2, 4)
    assert "projection 3/4 (E -> I, fixed_indegree)" in capsys.readouterr().err


def test_time_check_unchanged_for_valid_run_math():
    assert grid_steps("x", 1500.0, 0.5) == 3000 and math.isclose(0.1 * grid_steps("x", 0.3, 0.1), 0.3)


@pytest.mark.parametrize("version", ["v2", "v1", "none"])
def test_node_available_bytes_honours_a_cgroup_limit(tmp_path, version):
    """A SLURM job or container limit below MemAvailable is what the ranks can use."""
    from distsim.spec.memory import node_available_bytes
    GiB = 2 ** 30
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/meminfo").write_text(f"MemTotal: {32 * GiB // 1024} kB\nMemAvailable: {20 * GiB // 1024} kB\n")
    if version == "v2":
        (tmp_path / "proc/self/cgroup").write_text("0::/slurm/job_7\n")
        d = tmp_path / "sys/fs/cgroup/slurm/job_7"
        d.mkdir(parents=True)
        (d / "memory.max").write_text(f"{4 * GiB}\n")
        (d / "memory.current").write_text(f"{1 * GiB}\n")
    elif version == "v1":
        (tmp_path / "proc/self/cgroup").write_text("4:memory:/slurm/job_7\n1:cpu:/\n")
        d = tmp_path / "sys/fs/cgroup/memory/slurm/job_7"
        d.mkdir(parents=True)
        (d / "memory.limit_in_bytes").write_text(f"{4 * GiB}\n")
        (d / "memory.usage_in_bytes").write_text(f"{1 * GiB}\n")
    else:  # unlimited cgroup (the kernel writes a huge number or "max")
        (tmp_path / "proc/self/cgroup").write_text("0::/\n")
        (tmp_path / "sys/fs/cgroup").mkdir(parents=True)
        (tmp_path / "sys/fs/cgroup/memory.max").write_text("max\n")
        (tmp_path / "sys/fs/cgroup/memory.current").write_text(f"{1 * GiB}\n")
    avail, src = node_available_bytes(str(tmp_path))
    if version == "none":
        assert (avail, src) == (20 * GiB, "MemAvailable")
    else:
        assert avail == 3 * GiB and "cgroup" in src
