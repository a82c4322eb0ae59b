"""ac_generator and noise_generator (distsim.kernels.currents, distsim.devices): the kernels
against slow readable references, the statistics of the noise current, parameter checks
before the build, TOML and --set, the mean-field input, checkpoint/resume bit for bit.
The comparison with NEST 3.10 is tests/validation/test_nest_ac_noise.py."""
import math

import numpy as np
import pytest

from distsim.kernels.currents import AcArgs, NoiseArgs, ac_matrix, ac_rows, noise_rows
from distsim.kernels.rng import keys_per_gid
from distsim.spec import Device, Network, Population, SpecError, validate

FAR = 2 ** 62


def noise_args(n, lo=0, hi=FAR, delay=1, D=3, mean=5.0, std=2.0, std_mod=0.0, f_Hz=0.0, phase=0.0, h=0.1):
    idx = np.arange(n, dtype=np.int64)
    keys = keys_per_gid(7, 5, 0, idx)
    return NoiseArgs(idx, keys, np.zeros(n), delay, lo, hi, D, mean, std, std_mod,
                     2 * math.pi * f_Hz / 1000 * h, phase)


def noise_reference(a, n_rows):
    """Rows [step, target] of a noise_generator, written out step by step."""
    from distsim.kernels.rng import normal
    out = np.zeros((n_rows, a.idx.size))
    for s in range(n_rows):
        e = s - a.delay
        if not a.lo <= e < a.hi:
            continue
        j = (e - a.lo) // a.dt_steps
        y = math.sin(a.omega_h * (j * a.dt_steps + 1) + a.phase) if a.std_mod else 0.0
        sigma = math.sqrt(a.std * a.std + y * a.std_mod * a.std_mod)  # NEST's order
        for k in range(a.idx.size):
            out[s, k] = a.mean + sigma * normal.py_func(a.keys[k], 2 * j)[0]
    return out


def run_slices(kernel, a, n_rows, lengths, R):
    """Rows produced slice by slice (slice lengths cycling through ``lengths``, ring of R rows)."""
    ring = np.zeros((R, a.idx.size))
    out = np.zeros((n_rows, a.idx.size))
    t0, i = 0, 0
    while t0 < n_rows:
        M = min(lengths[i % len(lengths)], n_rows - t0)
        kernel(ring, t0, M, a)
        for s in range(t0, t0 + M):
            out[s] = ring[s % R]
            ring[s % R] = 0.0
        t0 += M
        i += 1
    return out


@pytest.mark.parametrize("lo,hi,delay,D", [(0, FAR, 1, 3), (4, 17, 2, 5), (0, 1, 1, 1), (9, 40, 7, 10),
                                           (3, 3, 1, 2)])
@pytest.mark.parametrize("lengths", [[1], [7], [3, 10, 1]])
def test_noise_rows_equal_the_reference_for_any_slicing(lo, hi, delay, D, lengths):
    a = noise_args(4, lo, hi, delay, D, std_mod=1.5, f_Hz=70.0, phase=0.3)
    ref = noise_reference(a, 60)
    got = run_slices(noise_rows, a, 60, lengths, R=max(lengths))
    assert np.array_equal(got, ref)
    active = np.zeros(60, bool)
    active[min(lo + delay, 60):min(hi + delay, 60)] = True
    assert np.all(got[~active] == 0.0) and (hi == lo or np.all(got[active] != 0.0))
    if hi - lo >= 2 * D:  # held for D steps from the first active one, then a new value
        first = lo + delay
        assert np.all(got[first:first + D] == got[first])
        assert np.all(got[first + D] != got[first])


def test_noise_statistics_of_the_injected_current():
    """4000 targets x 50 draws = 200 000 values of N(mean, std^2): the sample mean has
    standard error std/sqrt(n), the sample variance std^2 sqrt(2/n), a correlation between
    targets or between successive draws 1/sqrt(n'); tolerance 5 standard errors."""
    n, draws, D, mean, std = 4000, 50, 4, 30.0, 200.0
    a = noise_args(n, delay=0, D=D, mean=mean, std=std)
    rows = run_slices(noise_rows, a, draws * D, [D * 3], R=D * 3)
    x = rows[::D]  # [draw, target]
    assert np.array_equal(rows, np.repeat(x, D, axis=0))  # held between draws
    m = x.size
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(m)
    assert abs(x.var() / std ** 2 - 1) < 5 * math.sqrt(2 / m)
    z = (x - mean) / std
    c_targets = np.mean(z[:, 0::2] * z[:, 1::2])  # pairs of neighbouring targets
    c_draws = np.mean(z[1:] * z[:-1])  # successive draws of a target
    assert abs(c_targets) < 5 / math.sqrt(z[:, 0::2].size)
    assert abs(c_draws) < 5 / math.sqrt(z[1:].size)
    # normal, not just the right variance: the fraction beyond 2 std
    frac = np.mean(np.abs(z) > 2)
    p = math.erfc(2 / math.sqrt(2))
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / m)


def test_noise_variance_follows_the_modulation():
    """sigma_j^2 = std^2 + std_mod^2 sin(omega (j D + 1) h + phase): the variance of 20 000
    targets at each of 40 draws against it (standard error sigma_j^2 sqrt(2/n), 5 of them)."""
    n, D, h, std, std_mod, f = 20000, 10, 0.1, 100.0, 90.0, 25.0
    a = noise_args(n, delay=0, D=D, mean=0.0, std=std, std_mod=std_mod, f_Hz=f, phase=1.0, h=h)
    rows = run_slices(noise_rows, a, 40 * D, [D], R=D)
    x = rows[::D]
    j = np.arange(40)
    expect = std ** 2 + std_mod ** 2 * np.sin(2 * math.pi * f / 1000 * h * (j * D + 1) + 1.0)
    rel = x.var(axis=1) / expect - 1
    assert np.all(np.abs(rel) < 5 * math.sqrt(2 / n)), rel
    assert expect.max() / expect.min() > 5  # the modulation is strong enough to be seen


def ac_args(n, lo=0, hi=FAR, delay=1, amp=300.0, off=20.0, f=40.0, ph=30.0, h=0.1):
    m = ac_matrix(amp, f, ph, h)
    return AcArgs(np.arange(n, dtype=np.int64), delay, lo, hi, off, *m, np.array(m[4:]), np.zeros(1, np.int64))


@pytest.mark.parametrize("lo,hi,delay", [(0, FAR, 1), (25, 300, 3), (0, 0, 1)])
def test_ac_rows_are_the_sine_at_the_end_of_the_sending_step(lo, hi, delay):
    """offset + amplitude sin(omega (e + 1) h + phase) in row e + delay (the recurrence's
    rounding stays below 1e-12 over 1000 steps); the same bits for any slicing and after a
    restart at a later step with a fresh oscillator (a resumed run)."""
    n_rows, amp, off, f, ph, h = 1000, 300.0, 20.0, 40.0, 30.0, 0.1
    a = ac_args(2, lo, hi, delay)
    got = run_slices(ac_rows, a, n_rows, [7], R=7)
    e = np.arange(n_rows) - delay
    active = (e >= lo) & (e < hi)
    expect = np.where(active, off + amp * np.sin(2 * math.pi * f / 1000 * (e + 1) * h + ph * math.pi / 180), 0.0)
    assert np.abs(got[:, 0] - expect).max() < 1e-12 * amp
    assert np.array_equal(got[:, 0], got[:, 1])
    assert np.array_equal(run_slices(ac_rows, ac_args(2, lo, hi, delay), n_rows, [1, 13], R=13), got)
    # resumed at row 500: a fresh oscillator catches up from step 0 with the same operations
    b = ac_args(2, lo, hi, delay)
    ring = np.zeros((10, 2))
    ac_rows(ring, 500, 10, b)
    assert np.array_equal(ring, got[500:510])
    ac_rows(ring * 0, 100, 10, b)  # and back to an earlier step: it starts again
    ring = np.zeros((10, 2))
    ac_rows(ring, 200, 10, b)
    assert np.array_equal(ring, got[200:210])


# ------------------------------------------------------------------ parameters
def net_with(dev, params, dt=0.1):
    return Network([Population("P", "iaf_psc_exp", 3)], [], [Device(dev, ["P"], dict(params))], dt_ms=dt)


@pytest.mark.parametrize("dev,params,field,text", [
    ("noise_generator", {"std_pA": -1.0}, "std_pA", "must be >= 0"),
    ("noise_generator", {"std_mod_pA": -1.0}, "std_mod_pA", "must be >= 0"),
    ("noise_generator", {"std_pA": 1.0, "std_mod_pA": 2.0}, "std_mod_pA", "must be <= std_pA"),
    ("noise_generator", {"dt_ms": 0.15}, "dt_ms", "must be a multiple of dt_ms"),
    ("noise_generator", {"dt_ms": 0.0}, "dt_ms", "must be > 0"),
    ("noise_generator", {"dt_ms": 0.0004}, "dt_ms", "at least one step"),
    ("noise_generator", {"dt_ms": 1e300}, "dt_ms", "finite in steps"),
    ("noise_generator", {"dt_ms": math.inf}, "dt_ms", "finite number"),
    ("noise_generator", {"frequency_Hz": -2.0}, "frequency_Hz", "must be >= 0"),
    ("noise_generator", {"mean_pA": math.nan}, "mean_pA", "finite number"),
    ("noise_generator", {"mean": 1.0}, "mean", "did you mean 'mean_pA'"),
    ("noise_generator", {"start_ms": 0.05}, "start_ms", "must be a multiple of dt_ms"),
    ("ac_generator", {"frequency_Hz": -1.0}, "frequency_Hz", "must be >= 0"),
    ("ac_generator", {"amplitude_pA": math.inf}, "amplitude_pA", "finite number"),
    ("ac_generator", {"phase_deg": "90"}, "phase_deg", "finite number"),
    ("ac_generator", {"stop_ms": 1.0, "start_ms": 2.0}, "stop_ms", "must be >= start_ms"),
    ("ac_generator", {"amplitude": 1.0}, "amplitude", "did you mean 'amplitude_pA'"),
])
def test_bad_parameters_are_named_before_the_build(dev, params, field, text):
    with pytest.raises(SpecError) as e:
        validate(net_with(dev, params))
    assert e.value.field.endswith(field) and text in str(e.value), str(e.value)


def test_defaults_are_nest_defaults():
    net = validate(Network([Population("P", "iaf_psc_exp", 3)], [],
                           [Device("noise_generator", ["P"]), Device("ac_generator", ["P"])]))
    noise, ac = net.devices[0].params, net.devices[1].params
    assert noise == {"mean_pA": 0.0, "std_pA": 0.0, "dt_ms": 1.0, "std_mod_pA": 0.0, "frequency_Hz": 0.0,
                     "phase_deg": 0.0, "delay_ms": 0.1, "origin_ms": 0.0, "start_ms": 0.0, "stop_ms": math.inf}
    assert ac == {"amplitude_pA": 0.0, "offset_pA": 0.0, "frequency_Hz": 0.0, "phase_deg": 0.0, "delay_ms": 0.1,
                  "origin_ms": 0.0, "start_ms": 0.0, "stop_ms": math.inf}
    assert validate(net_with("noise_generator", {}, dt=0.3)).devices[0].params["dt_ms"] == pytest.approx(3.0)
    assert validate(net_with("noise_generator", {"dt_ms": 0.10004})).devices[0].params["dt_ms"] == 0.10004


def test_models_listing(capsys):
    import json

    from distsim.cli import main
    assert main(["models", "noise_generator", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["parameters"]["dt_ms"]["default"] == "1.0 if a multiple of dt_ms, else 10 dt_ms"
    assert d["parameters"]["std_pA"]["default"] == 0.0
    assert main(["models", "ac_generator", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["parameters"]) >= {"amplitude_pA", "offset_pA", "frequency_Hz",
                                                                      "phase_deg"}


# ------------------------------------------------------------------ mean-field input
def test_meanfield_input():
    from distsim.devices import DEVICES
    noise, ac = DEVICES["noise_generator"], DEVICES["ac_generator"]
    p = dict(validate(net_with("noise_generator", {"mean_pA": 40.0})).devices[0].params)
    assert noise.meanfield(p) == ("dc", 40.0)
    assert noise.meanfield(dict(p, stop_ms=10.0)) is None
    with pytest.raises(SpecError, match="variance"):
        noise.meanfield(dict(p, std_pA=5.0))
    p = dict(validate(net_with("ac_generator", {"offset_pA": 30.0, "amplitude_pA": 10.0, "frequency_Hz": 5.0,
                                                "phase_deg": 90.0})).devices[0].params)
    assert ac.meanfield(p) is None  # oscillating
    assert ac.meanfield(dict(p, frequency_Hz=0.0)) == ("dc", 40.0)  # constant: offset + amplitude sin(phase)
    assert ac.meanfield(dict(p, amplitude_pA=0.0)) == ("dc", 30.0)
    assert ac.meanfield(dict(p, amplitude_pA=0.0, stop_ms=5.0)) is None


def test_meanfield_of_a_network_with_a_noise_mean_equals_dc():
    from distsim.meanfield.network import params_from_network

    def net(dev, params):
        return Network([Population("E", "iaf_psc_delta", 100)], [],
                       [Device("poisson_generator", ["E"], {"rate_Hz": 8000.0, "weight": 0.1}),
                        Device(dev, ["E"], params)])
    a = params_from_network(net("noise_generator", {"mean_pA": 50.0}))
    b = params_from_network(net("dc_generator", {"amplitude_pA": 50.0}))
    assert a == b


# ------------------------------------------------------------------ TOML, --set, checkpoint
NET = """
name = "noisy"
[simulation]
dt_ms = 0.1

[[populations]]
name = "E"
model = "iaf_psc_exp"
n = 30
params = { V_m = { dist = "uniform", low = -70.0, high = -55.0 } }

[[populations]]
name = "C"
model = "iaf_cond_exp"
n = 10

[[projections]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 5
weight = 40.0
delay_ms = 1.0

[[projections]]
source = "E"
target = "C"
rule = "fixed_indegree"
indegree = 5
weight = 2.0
delay_ms = 0.5

[[devices]]
type = "noise_generator"
targets = ["E", "C"]
mean_pA = 350.0
std_pA = 200.0
dt_ms = 0.5
std_mod_pA = 100.0
frequency_Hz = 10.0
start_ms = 5.0

[[devices]]
type = "ac_generator"
targets = ["E"]
amplitude_pA = 100.0
offset_pA = 20.0
frequency_Hz = 30.0
phase_deg = 45.0
delay_ms = 0.7

[[devices]]
type = "spike_recorder"
targets = ["E", "C"]

[[devices]]
type = "voltmeter"
targets = ["E", "C"]
interval_ms = 0.5
n_per_population = 5
"""


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "noisy.toml"
    path.write_text(NET)
    return str(path)


def test_toml_and_set(net_file, tmp_path):
    from distsim.cli import load_model
    from distsim.recording.hdf5 import read_spikes
    from test_checkpoint import distsim
    net = load_model(net_file, {"devices.0.std_pA": "300", "devices.1.frequency_Hz": "12.5"})
    assert net.devices[0].params["std_pA"] == 300.0 and net.devices[1].params["frequency_Hz"] == 12.5
    outs = []
    for std in ("200", "0"):
        out = tmp_path / f"s{std}.h5"
        p = distsim([net_file, "--set", f"devices.0.std_pA={std}", "--set", "devices.0.std_mod_pA=0",
                     "--t-sim", "100", "-o", str(out), "-q"])
        assert p.returncode == 0, p.stderr
        outs.append(read_spikes(out))
    assert outs[0]["E"][0].size > 0
    assert not np.array_equal(outs[0]["E"][1], outs[1]["E"][1])  # the noise changes the spikes
    p = distsim([net_file, "--set", "devices.0.std_pA=-1", "--t-sim", "10", "-q"])
    assert p.returncode == 2 and "devices[0](noise_generator).std_pA = -1: must be >= 0" in p.stderr, p.stderr


@pytest.mark.parametrize("n_first,n_resume", [(1, 1), (2, 1)])
def test_checkpoint_resume_bit_identical(net_file, tmp_path, n_first, n_resume):
    """Resumed at 60 ms (mid-draw: draws every 0.5 ms from 4.9 ms; the ac oscillator at step
    600 is recomputed from step 0) equals an uninterrupted run bit for bit."""
    import os

    from test_checkpoint import assert_same_output, distsim
    base = [net_file, "--seed", "4", "--t-presim", "10", "-q"]
    full = tmp_path / "full.h5"
    p = distsim(base + ["--t-sim", "120", "-o", str(full)])
    assert p.returncode == 0, p.stderr
    part = tmp_path / "part.h5"
    p = distsim(base + ["--t-sim", "80", "-o", str(part), "--checkpoint-every", "63.3"], n=n_first)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(str(part) + ".ckpt")
    p = distsim(["--resume", str(part), "--t-sim", "120", "-q"], n=n_resume)
    assert p.returncode == 0, p.stderr
    assert_same_output(full, part)
