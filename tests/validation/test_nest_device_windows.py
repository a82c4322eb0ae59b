"""Device activity windows (origin, start, stop, delay) and spike/amplitude time rules side by
side with NEST 3.10, run in the same test: the same times accepted and refused, the same steps
of delivery, the same V_m traces.

NEST's rules (nestkernel/stimulation_device.cpp, models/*_generator.cpp) are restated in
``distsim.spec.nest_time``; these tests hold distsim to NEST itself, not to that restatement.
"""
import math

import numpy as np
import pytest

from distsim.spec import Device, Network, Population, SpecError

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

H = 0.1
INF = math.inf
DELTA = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "V_m": -70.0}
EXP = dict(DELTA, tau_syn_ex=2.0, tau_syn_in=0.5)
# certain-firing gif_psc_exp (see test_nest_single_neuron.GIF): NEST and distsim decide alike
GIF = {"E_L": -70.0, "V_reset": -65.0, "g_L": 4.0, "C_m": 80.0, "Delta_V": 1e-4, "lambda_0": 1e12,
       "V_T_star": -55.0, "t_ref": 2.0, "q_sfa": [3.0, 1.0], "tau_sfa": [30.0, 300.0],
       "q_stc": [20.0], "tau_stc": [15.0], "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "V_m": -70.0}
MODELS = [("iaf_psc_delta", DELTA), ("iaf_psc_exp", EXP), ("gif_psc_exp", GIF)]
# (origin, start, stop) in ms: defaults, start 0 vs dt vs 2 dt, stops of dt and 2 dt, origin
# shifting the window, an empty window, and windows that open and close within the run
WINDOWS = [(0.0, 0.0, INF), (0.0, H, INF), (0.0, 2 * H, INF), (0.0, 0.0, H), (0.0, 0.0, 2 * H),
           (0.0, 0.0, 3 * H), (0.5, 0.0, 0.5), (0.3, 0.2, 1.0), (0.0, 1.0, 1.0), (0.0, 0.5, 2.0),
           (1.2, 0.0, INF), (2.0, 3.0, 6.0)]
NEST_NAMES = {"amplitude_pA": "amplitude", "amplitude_times_ms": "amplitude_times",
              "amplitude_values_pA": "amplitude_values", "spike_times_ms": "spike_times",
              "rate_Hz": "rate", "origin_ms": "origin", "start_ms": "start", "stop_ms": "stop"}


def nest_run(model, params, devices, t_ms, h=H):
    """NEST: (stamps, V_m) of a voltmeter every step and spike times of one neuron driven by
    ``devices`` [(type, distsim params)], each connected with its delay_ms (default h) and
    weight; raises nest's error when NEST refuses a parameter."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = h
    n = nest.Create(model, params=params)
    for kind, p in devices:
        syn = {"delay": p.get("delay_ms", h)}
        if "weight" in p:
            syn["weight"] = p["weight"]
        g = nest.Create(kind, params={NEST_NAMES.get(k, k): v for k, v in p.items()
                                      if k not in ("delay_ms", "weight")})
        nest.Connect(g, n, syn_spec=syn)
    vm = nest.Create("voltmeter", params={"interval": h})
    sr = nest.Create("spike_recorder")
    nest.Connect(vm, n)
    nest.Connect(n, sr)
    nest.Simulate(t_ms)
    st = np.rint(np.asarray(vm.events["times"]) / h).astype(np.int64)
    return st, np.asarray(vm.events["V_m"], dtype=np.float64), np.asarray(sr.events["times"])


def ours_run(model, params, devices, t_ms, h=H):
    """distsim: the same as :func:`nest_run` (SpecError when distsim refuses a parameter)."""
    from conftest import run_network

    devs = [Device(kind, ["n"], dict(p)) for kind, p in devices]
    devs += [Device("spike_recorder", ["n"]), Device("voltmeter", ["n"], {"interval_ms": h})]
    _, (_, s), samples = run_network(Network([Population("n", model, 1, dict(params))], [], devs, dt_ms=h), t_ms)
    _, st, v = samples["n"]
    return st, v[:, 0], s * h


def assert_same_trace(model, params, devices, t_ms, h=H):
    """V_m at every step NEST recorded to 1e-9 (relative to 15 mV) and the same spike times."""
    nt, nv, ns = nest_run(model, params, devices, t_ms, h)
    dt_, dv, ds = ours_run(model, params, devices, t_ms, h)
    assert nt.size >= 0.8 * dt_.size
    assert np.array_equal(dt_[: nt.size], nt)
    err = np.abs(dv[: nt.size] - nv)
    assert err.max() / 15.0 < 1e-9, (devices, "first differing stamp", int(nt[np.argmax(err > 1e-9)]))
    assert np.allclose(ds, ns, rtol=0, atol=1e-9), (devices, ds, ns)


def window(origin, start, stop):
    w = {"origin_ms": origin, "start_ms": start}
    if stop != INF:
        w["stop_ms"] = stop
    return w


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("win", WINDOWS)
def test_dc_generator_window(model, params, win):
    dc = dict(window(*win), amplitude_pA=900.0)
    assert_same_trace(model, params, [("dc_generator", dc)], 10.0)


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("delay", [H, 0.3, 1.0])
def test_current_generators_with_delay(model, params, delay):
    """Current reaches the neuron ``delay`` after it is sent (NEST: any connection delay)."""
    dc = {"amplitude_pA": 700.0, "start_ms": 0.5, "stop_ms": 4.0, "delay_ms": delay}
    sc = {"amplitude_times_ms": [H, 1.0, 3.3, 6.0], "amplitude_values_pA": [300.0, -200.0, 600.0, 100.0],
          "start_ms": 0.0, "stop_ms": 8.0, "delay_ms": delay}
    assert_same_trace(model, params, [("dc_generator", dc), ("step_current_generator", sc)], 12.0)


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("win", WINDOWS)
def test_step_current_generator_window(model, params, win):
    """Changes before, at and inside the window, the first one at the earliest time NEST
    allows (dt: time 0 is refused, see test_step_current_times_accepted_as_nest_does)."""
    sc = dict(window(*win), amplitude_times_ms=[H, 0.3, 0.5, 1.0, 2.5, 5.0],
              amplitude_values_pA=[800.0, -300.0, 1200.0, 0.0, 900.0, 500.0])
    assert_same_trace(model, params, [("step_current_generator", sc)], 10.0)


@pytest.mark.parametrize("model,params", MODELS)
@pytest.mark.parametrize("win", WINDOWS)
def test_spike_generator_window(model, params, win):
    w = {"iaf_psc_delta": 8.0, "iaf_psc_exp": 1500.0, "gif_psc_exp": 500.0}[model]
    times = [H, 0.2, 0.3, 0.5, 0.6, 1.0, 1.1, 2.0, 2.0, 2.1, 3.0, 3.2, 5.0, 6.0, 6.1, 8.0]
    sg = dict(window(*win), spike_times_ms=times, weight=w, delay_ms=0.2)
    assert_same_trace(model, params, [("spike_generator", sg)], 10.0)


def arrival_stamps(st, v):
    """Stamps at which a non-leaking, non-firing iaf_psc_delta's V_m jumps (input arrived in
    the step before)."""
    jumps = np.diff(np.concatenate([[0.0], v]))
    return st[np.abs(jumps) > 1e-6].tolist()


NOLEAK = {"E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": 1e10, "tau_m": 1e9, "C_m": 250.0}


@pytest.mark.parametrize("win", WINDOWS)
@pytest.mark.parametrize("delay", [H, 0.3])
def test_poisson_generator_window(win, delay):
    """NEST and distsim draw different numbers, so compare where input arrives: at 1e6 spikes/s
    (100 per step) every active step brings input."""
    pg = dict(window(*win), rate_Hz=1e6, weight=0.01, delay_ms=delay)
    nt, nv, _ = nest_run("iaf_psc_delta", NOLEAK, [("poisson_generator", pg)], 10.0)
    dt_, dv, _ = ours_run("iaf_psc_delta", NOLEAK, [("poisson_generator", pg)], 10.0)
    n = nt.size
    assert arrival_stamps(dt_[:n], dv[:n]) == arrival_stamps(nt, nv)


@pytest.mark.parametrize("model,params", MODELS[1:])
@pytest.mark.parametrize("win", [(0.0, 0.0, INF), (0.0, H, 2.0), (0.3, 0.2, 1.0)])
def test_poisson_generator_first_input(model, params, win):
    """The first step the Poisson input moves V_m in models with synaptic currents."""
    p = dict(params, lambda_0=0.0) if model == "gif_psc_exp" else params
    pg = dict(window(*win), rate_Hz=1e6, weight=1.0, delay_ms=0.2)
    nt, nv, _ = nest_run(model, p, [("poisson_generator", pg)], 5.0)
    dt_, dv, _ = ours_run(model, p, [("poisson_generator", pg)], 5.0)
    first = lambda st, v: int(st[np.argmax(np.abs(v - p["V_m"]) > 1e-9)])  # noqa: E731
    assert first(dt_, dv) == first(nt, nv)


# ------------------------------------------------------------------ which times are accepted
def nest_delivery(kind, params, t_ms=8.0, h=H):
    """('refused', None) or ('ok', arrival stamps) of one generator into a non-leaking
    iaf_psc_delta in NEST."""
    try:
        st, v, _ = nest_run("iaf_psc_delta", NOLEAK, [(kind, params)], t_ms, h)
    except (nest.NESTErrors.BadProperty, nest.NESTErrors.BadParameter):
        return "refused", None
    return "ok", (st, v)


def ours_delivery(kind, params, t_ms=8.0, h=H):
    try:
        st, v, _ = ours_run("iaf_psc_delta", NOLEAK, [(kind, params)], t_ms, h)
    except SpecError:
        return "refused", None
    return "ok", (st, v)


SPIKE_TIMES = [[2.9999], [2.9994], [2.9995], [2.99949999], [3.0004], [3.0005], [3.00051], [4.9999],
               [0.0], [-0.0], [-0.0004], [-0.0014], [-0.0015], [-0.1], [-1.0], [0.05], [1e-4], [0.1],
               [1.0, 0.99995], [0.99995, 1.0], [1.0, 1.0, 1.0], [2.0, 1.0], [INF], [1e300], [0.05, 0.15, 0.25],
               [7.95], [8.0], [8.05]]
SPIKE_FLAGS = [{}, {"allow_offgrid_times": True}, {"shift_now_spikes": True}]


@pytest.mark.parametrize("flags", SPIKE_FLAGS, ids=["default", "allow_offgrid_times", "shift_now_spikes"])
@pytest.mark.parametrize("times", SPIKE_TIMES, ids=str)
def test_spike_times_accepted_as_nest_does(times, flags):
    """Same times accepted, same refused, spikes delivered in the same steps."""
    sg = dict(flags, spike_times_ms=list(times), weight=1.0, delay_ms=0.3)
    ref, ours = nest_delivery("spike_generator", sg), ours_delivery("spike_generator", sg)
    assert ours[0] == ref[0], (times, flags, ref[0], ours[0])
    if ref[0] == "ok":
        n = ref[1][0].size
        assert arrival_stamps(*ref[1]) == arrival_stamps(ours[1][0][:n], ours[1][1][:n])


@pytest.mark.parametrize("params", [
    {"spike_times_ms": [0.0], "origin_ms": 1.0, "shift_now_spikes": True},
    {"spike_times_ms": [0.0, 0.5], "origin_ms": 1.0, "shift_now_spikes": True},
    {"spike_times_ms": [0.5, 0.6, 1.0], "start_ms": 0.5, "stop_ms": 1.0},
    {"spike_times_ms": [0.0001, 1.0001], "origin_ms": 2.0, "shift_now_spikes": True},
    {"spike_times_ms": [1.05, 2.0], "origin_ms": 0.5, "allow_offgrid_times": True, "start_ms": 0.6},
    {"spike_times_ms": [1.0], "start_ms": 0.05},
    {"spike_times_ms": [1.0], "origin_ms": 0.0999},
    {"spike_times_ms": [1.0], "stop_ms": 2.0004},
    {"spike_times_ms": [1.0], "start_ms": 2.0, "stop_ms": 1.0},
], ids=str)
def test_spike_generator_origin_start_stop_as_nest_does(params):
    sg = dict(params, weight=1.0, delay_ms=H)
    ref, ours = nest_delivery("spike_generator", sg), ours_delivery("spike_generator", sg)
    assert ours[0] == ref[0]
    if ref[0] == "ok":
        n = ref[1][0].size
        assert arrival_stamps(*ref[1]) == arrival_stamps(ours[1][0][:n], ours[1][1][:n])


@pytest.mark.parametrize("times", [[0.0], [1e-4], [-1.0], [0.1], [0.05], [2.9999, 3.0], [1.0, 1.0],
                                   [1.0, 0.5], [0.05, 0.1], [0.1, 0.1004], [2.9999, 5.0001], [INF]], ids=str)
@pytest.mark.parametrize("offgrid", [False, True])
def test_step_current_times_accepted_as_nest_does(times, offgrid):
    """Amplitude times: > 0, strictly increasing steps, the same grid tolerance; a change at
    time 0 is refused by NEST and so by distsim."""
    sc = {"amplitude_times_ms": list(times), "amplitude_values_pA": [500.0 * (k + 1) for k in range(len(times))],
          "allow_offgrid_times": offgrid}
    ref, ours = nest_delivery("step_current_generator", sc), ours_delivery("step_current_generator", sc)
    assert ours[0] == ref[0], (times, offgrid)
    if ref[0] == "ok":
        n = ref[1][0].size
        assert np.allclose(ours[1][1][:n], ref[1][1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("h", [0.2, 0.5])
def test_windows_at_other_resolutions(h):
    """dc/step/spike/Poisson devices at a coarser grid (start 0 and 2h, stop 3h, origin h)."""
    sc = {"amplitude_times_ms": [h, 3 * h, 2.0], "amplitude_values_pA": [500.0, -200.0, 900.0],
          "start_ms": 0.0, "stop_ms": 5.0}
    dc = {"amplitude_pA": 300.0, "origin_ms": h, "start_ms": 2 * h, "stop_ms": 12 * h}
    sg = {"spike_times_ms": [h, 2 * h, 1.0, 2.0 + 0.0004], "weight": 4.0, "delay_ms": 2 * h, "start_ms": h}
    assert_same_trace("iaf_psc_delta", DELTA, [("step_current_generator", sc), ("dc_generator", dc),
                                                ("spike_generator", sg)], 8.0, h)


@pytest.mark.parametrize("dt", [0.1, 0.125, 0.30000000000000004, 0.1001, 1 / 3, 0.0005, 0.001])
def test_resolution_accepted_as_nest_does(dt):
    """dt_ms must be a multiple of NEST's tic (1 us), as NEST's resolution must."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    try:
        nest.resolution = dt
        ref = "ok"
    except nest.NESTErrors.KernelException:
        ref = "refused"
    from distsim.spec import validate
    try:
        validate(Network([Population("n", "iaf_psc_delta", 1)], dt_ms=dt))
        ours = "ok"
    except SpecError as e:
        assert "dt_ms" in str(e)
        ours = "refused"
    assert ours == ref
