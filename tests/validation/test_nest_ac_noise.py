"""ac_generator and noise_generator side by side with NEST 3.10 (models/ac_generator.cpp,
models/noise_generator.cpp), run in the same test.

- ac_generator: NEST's oscillator recurrence, window and delay; V_m equal to NEST's to 1e-9
  relative (in practice bit for bit) for iaf_psc_exp and iaf_cond_exp.
- noise_generator: our normal numbers come from our own counter-based streams, so they cannot
  equal NEST's; what is compared instead: (a) std = 0 gives exactly the mean as a current
  (V_m to 1e-9), (b) the steps at which the current changes (new draws every device dt from
  the first active step, held in between, window and delay) read from the V_m increments of a
  non-leaking neuron, (c) the stationary membrane variance of many free neurons against the
  analytic value for a piecewise-constant noise current, and against NEST's own.
"""
import math

import numpy as np
import pytest

from distsim.spec import Device, Network, Population, SpecError

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

INF = math.inf
EXP = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0,
       "V_m": -70.0, "tau_syn_ex": 2.0, "tau_syn_in": 0.5}
COND = {"V_m": -70.0}  # NEST's defaults otherwise
MODELS = [("iaf_psc_exp", EXP), ("iaf_cond_exp", COND)]
NEST_NAMES = {"amplitude_pA": "amplitude", "offset_pA": "offset", "frequency_Hz": "frequency",
              "phase_deg": "phase", "mean_pA": "mean", "std_pA": "std", "std_mod_pA": "std_mod",
              "dt_ms": "dt", "origin_ms": "origin", "start_ms": "start", "stop_ms": "stop"}


def nest_run(model, params, devices, t_ms, h, n=1, interval=None):
    """NEST: (stamps, V_m [samples, n], spike times) of ``n`` neurons each driven by every
    device of ``devices`` [(type, distsim params)] (connected with delay_ms, default h)."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = h
    nrn = nest.Create(model, n, params=params)
    for kind, p in devices:
        g = nest.Create(kind, params={NEST_NAMES[k]: v for k, v in p.items() if k != "delay_ms"})
        nest.Connect(g, nrn, syn_spec={"delay": p.get("delay_ms", h)})
    vm = nest.Create("voltmeter", params={"interval": interval or h})
    sr = nest.Create("spike_recorder")
    nest.Connect(vm, nrn)
    nest.Connect(nrn, sr)
    nest.Simulate(t_ms)
    ev = vm.events
    order = np.lexsort((np.asarray(ev["senders"]), np.asarray(ev["times"])))
    st = np.rint(np.asarray(ev["times"])[order] / h).astype(np.int64)[::n]
    v = np.asarray(ev["V_m"], dtype=np.float64)[order].reshape(-1, n)
    return st, v, np.asarray(sr.events["times"])


def ours_run(model, params, devices, t_ms, h, n=1, interval=None, seed=1):
    """distsim: the same as :func:`nest_run`."""
    from conftest import run_network

    devs = [Device(kind, ["n"], dict(p)) for kind, p in devices]
    devs += [Device("spike_recorder", ["n"]), Device("voltmeter", ["n"], {"interval_ms": interval or h})]
    _, (_, s), samples = run_network(Network([Population("n", model, n, dict(params))], [], devs, dt_ms=h),
                                     t_ms, seed=seed)
    _, st, v = samples["n"]
    return st, v, s * h


def assert_same_trace(model, params, devices, t_ms, h):
    """V_m at every step to 1e-9 relative and the same spike times as NEST."""
    nt, nv, ns = nest_run(model, params, devices, t_ms, h)
    ot, ov, os_ = ours_run(model, params, devices, t_ms, h)
    assert np.array_equal(ot[: nt.size], nt)
    err = np.abs(ov[: nt.size, 0] - nv[:, 0]) / np.abs(nv[:, 0])
    assert err.max() < 1e-9, (devices, "first differing stamp", int(nt[np.argmax(err > 1e-9)]), err.max())
    assert np.allclose(os_, ns, rtol=0, atol=1e-9), (devices, os_, ns)
    return nv, ns


def window(origin, start, stop):
    w = {"origin_ms": origin, "start_ms": start}
    if stop != INF:
        w["stop_ms"] = stop
    return w


# ------------------------------------------------------------------ ac_generator
AC = [  # amplitude, offset, frequency, phase: spiking and subthreshold, 0 Hz, phases of all signs
    {"amplitude_pA": 400.0, "offset_pA": 300.0, "frequency_Hz": 40.0, "phase_deg": 0.0},
    {"amplitude_pA": 700.0, "offset_pA": 0.0, "frequency_Hz": 7.3, "phase_deg": 90.0},
    {"amplitude_pA": 150.0, "offset_pA": -100.0, "frequency_Hz": 333.0, "phase_deg": -47.5},
    {"amplitude_pA": 200.0, "offset_pA": 320.0, "frequency_Hz": 0.0, "phase_deg": 30.0},
    {"amplitude_pA": 800.0, "offset_pA": 100.0, "frequency_Hz": 1000.0, "phase_deg": 400.0},
]
# (origin, start, stop): defaults, a late start, a short window, origin shifting it
WINDOWS = [(0.0, 0.0, INF), (0.0, 3.0, INF), (0.0, 0.0, 0.2), (2.0, 5.2, 31.4), (7.0, 0.0, 20.0)]


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("ac", AC, ids=lambda a: f"{a['frequency_Hz']}Hz")
@pytest.mark.parametrize("h", [0.1, 0.2])
def test_ac_generator_as_nest(model, params, ac, h):
    _, ns = assert_same_trace(model, params, [("ac_generator", ac)], 60.0, h)
    if ac["frequency_Hz"] < 100.0 and ac["amplitude_pA"] > 300.0:
        assert ns.size > 0  # the spiking regime is exercised too


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("win", WINDOWS, ids=str)
@pytest.mark.parametrize("h", [0.1, 0.2])
def test_ac_generator_window_and_delay_as_nest(model, params, win, h):
    """The oscillator runs in every step, active or not: a late window starts mid-phase."""
    ac = dict(AC[0], **window(*win), delay_ms=3 * h)
    ac2 = dict(AC[2], **window(*win))
    assert_same_trace(model, params, [("ac_generator", ac), ("ac_generator", ac2)], 40.0, h)


def test_ac_generator_long_run_as_nest():
    """100 000 steps: our recurrence is NEST's, so no drift between the two."""
    ac = {"amplitude_pA": 100.0, "offset_pA": 200.0, "frequency_Hz": 11.0, "phase_deg": 12.0}
    assert_same_trace("iaf_psc_exp", EXP, [("ac_generator", ac)], 10000.0, 0.1)


# ------------------------------------------------------------------ noise_generator
@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("win", WINDOWS, ids=str)
@pytest.mark.parametrize("h", [0.1, 0.2])
def test_noise_generator_with_std_0_is_its_mean(model, params, win, h):
    """std = 0: exactly the mean as a current, inside NEST's window, after the delay."""
    noise = dict(window(*win), mean_pA=420.0, std_pA=0.0, dt_ms=5 * h, delay_ms=2 * h)
    _, ns = assert_same_trace(model, params, [("noise_generator", noise)], 40.0, h)
    if win == WINDOWS[0]:
        assert ns.size > 0


NOLEAK = {"E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": 1e10, "tau_m": 1e9, "C_m": 250.0}


def change_stamps(st, v):
    """Stamps at which a non-leaking neuron's V_m increment (the current of the step before)
    changes, per neuron: the steps at which a held noise current takes a new value."""
    inc = np.diff(np.vstack([np.zeros((1, v.shape[1])), v]), axis=0)
    jump = np.abs(np.diff(np.vstack([np.zeros((1, v.shape[1])), inc]), axis=0)) > 1e-6
    return [st[jump[:, k]].tolist() for k in range(v.shape[1])]


def _on_grid(win, h):
    return all(t == INF or abs(t / h - round(t / h)) < 1e-9 for t in win)


CHANGE_CASES = [(win, h, dt_ms, delay)
                for h, dt_ms, delay in [(0.1, 1.0, 0.1), (0.1, 0.3, 0.5), (0.2, 0.2, 0.2), (0.2, 1.4, 0.6)]
                for win in WINDOWS + [(0.0, 0.1, INF), (0.0, 0.0, 0.1), (0.3, 0.4, 9.0)] if _on_grid(win, h)]


@pytest.mark.parametrize("win,h,dt_ms,delay", CHANGE_CASES, ids=str)
def test_noise_generator_changes_at_nest_steps(win, h, dt_ms, delay):
    """The current changes at the same steps as in NEST (a new draw every dt_ms from the first
    active step, held in between, zero outside the window), for each of 3 targets; the
    targets' draws differ (independent streams)."""
    noise = dict(window(*win), mean_pA=0.0, std_pA=2000.0, dt_ms=dt_ms, delay_ms=delay)
    nt, nv, _ = nest_run("iaf_psc_delta", NOLEAK, [("noise_generator", noise)], 40.0, h, n=3)
    ot, ov, _ = ours_run("iaf_psc_delta", NOLEAK, [("noise_generator", noise)], 40.0, h, n=3)
    ref, ours = change_stamps(nt, nv), change_stamps(ot[: nt.size], ov[: nt.size])
    assert ours == ref
    if win[2] > 1.0:
        assert len(ours[0]) > 5
        inc = np.diff(ov, axis=0)
        assert not np.allclose(inc[:, 0], inc[:, 1])  # different currents per target


def test_noise_generator_default_dt_as_nest():
    """NEST's default dt: 1 ms (10 steps at the start-up resolution) while that is a multiple
    of the resolution, else 10 resolutions."""
    from distsim.spec import validate
    for h in (0.1, 0.2, 0.25, 0.3, 0.01, 0.7):
        nest.ResetKernel()
        nest.resolution = h
        ref = nest.Create("noise_generator").get("dt")
        net = validate(Network([Population("n", "iaf_psc_exp", 1)], [], [Device("noise_generator", ["n"])],
                               dt_ms=h))
        assert net.devices[0].params["dt_ms"] == pytest.approx(ref, abs=1e-12), h


@pytest.mark.parametrize("p", [{"std_pA": -1.0}, {"std_pA": 1.0, "std_mod_pA": 2.0}, {"std_mod_pA": -0.5},
                               {"dt_ms": 0.15}, {"dt_ms": 0.1004}, {"dt_ms": 0.10004}], ids=str)
def test_noise_generator_refuses_what_nest_refuses(p):
    """std < 0, std_mod < 0 or > std, dt off the grid (NEST's half-tic tolerance)."""
    from distsim.spec import validate
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    try:
        nest.Create("noise_generator", params={NEST_NAMES[k]: v for k, v in p.items()})
        ref = "ok"
    except nest.NESTErrors.KernelException:
        ref = "refused"
    try:
        validate(Network([Population("n", "iaf_psc_exp", 1)], [], [Device("noise_generator", ["n"], dict(p))]))
        ours = "ok"
    except SpecError as e:
        assert any(k in e.field for k in p), e
        ours = "refused"
    assert ours == ref


def free_membrane_variance(stamps, h, dt_ms, mean, std):
    """(analytic variance at each sample stamp, mean) of V_m of a threshold-free neuron (E_L
    = 0, tau_m, C_m of FREE) driven by a noise current of mean and std (pA) held for dt_ms
    (delay: one step). The sample of stamp t is V after steps 0 .. t-1; step s integrates the
    current sent in step e = s - 2 (it is in row e + 1, read at the end of step s - 1), of draw
    j = e // D (first active step 0, D steps a draw), so the sample has integrated its draw
    for k = (t - 3) % D + 1 steps. Exact integration gives X = a_k X_b + (1 - a_k) S xi (X = V
    - mean, S = tau std / C, a_k = exp(-k h / tau)), X_b the value at the draw's start, with
    stationary variance S^2 (1 - a_D) / (1 + a_D): the AR(1) of the draws."""
    tau, C = FREE["tau_m"], FREE["C_m"]
    D = int(round(dt_ms / h))
    S = tau * std / C
    aD = math.exp(-D * h / tau)
    var_b = S * S * (1 - aD) / (1 + aD)
    k = (stamps - 3) % D + 1
    ak = np.exp(-k * h / tau)
    return ak * ak * var_b + (1 - ak) ** 2 * S * S, tau * mean / C


FREE = {"E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": 1e10, "tau_m": 10.0, "C_m": 250.0, "t_ref": 0.0}


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp"])
@pytest.mark.parametrize("dt_ms", [0.1, 1.0, 4.0])
def test_free_membrane_variance_against_analytic_and_nest(model, dt_ms):
    """n = 400 neurons x 40 samples 50.3 ms apart (5 tau: the samples of one neuron are
    correlated by exp(-5) in V, 4.5e-5 in V^2, i.e. independent for this test), after 200 ms
    (20 tau: no trace of the start left). Each sample is standardised with its analytic mean
    and variance (which depends on the sample's position in its draw, see
    free_membrane_variance); for 16 000 independent standard normals, mean(z) has standard
    error 1/sqrt(16000) = 0.0079 and mean(z^2) 0.0112 (= sqrt(2/16000)). Tolerance: 5 standard
    errors (a false alarm about once in 1.7 million). NEST's mean(z^2) is held to the same
    analytic value, and ours to NEST's (difference: standard error sqrt(2) x 0.0112)."""
    h, n, samples, interval, t0 = 0.1, 400, 40, 50.3, 200.0
    mean, std = 150.0, 2000.0
    params = dict(FREE) if model == "iaf_psc_delta" else dict(FREE, tau_syn_ex=2.0, tau_syn_in=2.0)
    params["V_m"] = FREE["tau_m"] * mean / FREE["C_m"]  # start at the stationary mean
    noise = {"mean_pA": mean, "std_pA": std, "dt_ms": dt_ms}
    t_ms = t0 + samples * interval
    nt, nv, _ = nest_run(model, params, [("noise_generator", noise)], t_ms, h, n=n, interval=interval)
    ot, ov, _ = ours_run(model, params, [("noise_generator", noise)], t_ms, h, n=n, interval=interval)
    m = n * samples
    se_mean, se_sq = 1 / math.sqrt(m), math.sqrt(2 / m)
    res = {}
    for name, st, v in (("nest", nt, nv), ("ours", ot, ov)):
        keep = st > round(t0 / h)
        st, v = st[keep], v[keep]
        assert st.size == samples, (name, st)
        var, mu = free_membrane_variance(st, h, dt_ms, mean, std)
        z = (v - mu) / np.sqrt(var)[:, None]
        res[name] = (z.mean(), (z * z).mean())
        assert abs(z.mean()) < 5 * se_mean, (name, res[name])
        assert abs((z * z).mean() - 1) < 5 * se_sq, (name, res[name])
    assert abs(res["ours"][1] - res["nest"][1]) < 5 * math.sqrt(2) * se_sq, res
    print(model, dt_ms, "mean z, mean z^2:", res)


def test_noise_modulation_as_nest():
    """std_mod: the variance of the draws follows std^2 + std_mod^2 sin(omega t + phase) with t
    counted from the first active step (NEST rotates the modulation in active steps only).
    A draw every step (dt_ms = h), 100 Hz (a period of 100 steps), start at 2.3 ms (so the
    phase counted from the onset differs from the phase in absolute time by 0.44 pi), 50
    non-leaking targets, 2 s: per phase (100 bins) 10 000 currents, read from the V_m
    increments (P20 I). Each bin's sample variance has relative standard error sqrt(2 /
    10 000) = 1.4 %; NEST's and ours are held to the formula within 5 of them in every bin
    (for 2 x 100 bins a false alarm about once in 10 000 runs), and the absolute-time phase
    is far off (so the test tells the two apart)."""
    h, start, f, std, std_mod, phase, n, T = 0.1, 2.3, 100.0, 1000.0, 800.0, 30.0, 50, 2000.0
    noise = {"mean_pA": 0.0, "std_pA": std, "std_mod_pA": std_mod, "frequency_Hz": f, "phase_deg": phase,
             "dt_ms": h, "start_ms": start}
    lo = round(start / h) - 1  # first sending step
    P20 = NOLEAK["tau_m"] / NOLEAK["C_m"] * -math.expm1(-h / NOLEAK["tau_m"])
    omega_h = 2 * math.pi * f / 1000 * h
    period = 100
    for name, run in (("nest", nest_run), ("ours", ours_run)):
        st, v, _ = run("iaf_psc_delta", NOLEAK, [("noise_generator", noise)], T, h, n=n)
        inc = np.diff(v, axis=0) / P20  # the current of step st - 1, sent in step e = st - 3
        e = st[1:] - 3
        keep = e >= lo
        cur, e = inc[keep], e[keep]
        k = (e - lo) % period
        var = np.array([cur[k == b].var() for b in range(period)])
        nb = np.array([cur[k == b].size for b in range(period)])
        expect = std ** 2 + std_mod ** 2 * np.sin(omega_h * (np.arange(period) + 1) + phase * math.pi / 180)
        z = (var / expect - 1) / np.sqrt(2 / nb)
        assert np.abs(z).max() < 5, (name, np.abs(z).max())
        absolute = std ** 2 + std_mod ** 2 * np.sin(omega_h * (np.arange(period) + lo + 1) + phase * math.pi / 180)
        z_abs = np.abs((var / absolute - 1) / np.sqrt(2 / nb)).max()
        assert z_abs > 20, name
        print(name, "max |z| onset phase", np.abs(z).max(), "absolute phase", z_abs)
