"""hh_psc_alpha side by side with NEST 3.10: single neurons with DC, step currents, spike
trains of both signs, refractoriness and several resolutions. Target: the same spike steps
and V_m (and I_syn_ex, I_syn_in, Act_m, Inact_h, Act_n) within 1e-6 of NEST's.

Each protocol runs twice on our side: through the engine (devices, ring buffers, driver,
multimeter) and as the bare step function fed with the input NEST's ring buffers hold per
step (see tests/validation/test_nest_cond_models.py for the timing rules), which isolates
the integrator from the plumbing.
"""
import numpy as np
import pytest

from distsim.models.hh_psc_alpha import HhPscAlpha, hh_psc_alpha_step

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

MODEL = "hh_psc_alpha"
TOL = 1e-6  # mV for V_m; pA for the currents; the gating variables are dimensionless
RECORD = ("V_m", "I_syn_ex", "I_syn_in", "Act_m", "Inact_h", "Act_n")
INDEX = {"V_m": 0, "Act_m": 1, "Inact_h": 2, "Act_n": 3, "I_syn_ex": 5, "I_syn_in": 7}
EXC_TIMES = [2.0, 5.3, 5.4, 11.1, 15.0, 15.0, 22.2, 30.5, 31.0, 31.1, 31.2, 44.4]
INH_TIMES = [3.3, 8.8, 12.0, 20.0, 30.8, 33.3, 40.0]


def run_nest(params, spikes, currents, t_ms, h):
    """(spike times ms, {recordable: trace}) of one NEST neuron. spikes: [(times, weight pA,
    delay ms)]; currents: [(device, params, delay ms)]."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = h
    n = nest.Create(MODEL, params=params)
    for times, w, d in spikes:
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, n, syn_spec={"weight": w, "delay": d})
    for dev, dp, d in currents:
        nest.Connect(nest.Create(dev, params=dp), n, syn_spec={"delay": d})
    sr = nest.Create("spike_recorder")
    mm = nest.Create("multimeter", params={"interval": h, "record_from": list(RECORD)})
    nest.Connect(n, sr)
    nest.Connect(mm, n)
    nest.Simulate(t_ms)
    ev = mm.events
    assert np.allclose(ev["times"], h * np.arange(1, len(ev["times"]) + 1))
    return np.asarray(sr.events["times"]), {k: np.asarray(ev[k]) for k in RECORD}


def step_inputs(n_steps, spikes, currents, h):
    """Per-step input NEST's ring buffers give the neuron: (exc pA, inh pA (negative),
    current read at the end of the step pA)."""
    iex, iin, cur = np.zeros(n_steps), np.zeros(n_steps), np.zeros(n_steps)
    for times, w, d in spikes:
        for t in times:
            s = int(round(t / h)) - 1 + int(round(d / h))
            if s < n_steps:
                (iex if w > 0 else iin)[s] += w
    for dev, dp, d in currents:
        dd = int(round(d / h))
        for e in range(n_steps):  # sending step e
            if dev == "dc_generator":
                t_min, t_max = round(dp.get("start", 0.0) / h), round(dp.get("stop", 1e9) / h)
                amp = dp["amplitude"] if t_min < e + 2 <= t_max else 0.0
            else:  # step_current_generator: last change with stamp <= e + 1
                amp = 0.0
                for t, v in zip(dp["amplitude_times"], dp["amplitude_values"]):
                    if round(t / h) <= e + 1:
                        amp = v
            if e + dd < n_steps:
                cur[e + dd] += amp
    return iex, iin, cur


def run_kernel(params, spikes, currents, t_ms, h):
    """(spike times ms, {recordable: trace}) of our step function, from NEST's defaults
    (parameters and initial state) updated with ``params``."""
    nest.ResetKernel()
    d = dict(nest.GetDefaults(MODEL))
    d.update(params)
    cal = HhPscAlpha.calibrate({k: np.array([float(d[k])]) for k in ("tau_syn_ex", "tau_syn_in", "t_ref")}, h)
    p = HhPscAlpha.Params(**{k: float(d[k]) for k in HhPscAlpha.params}, **{k: v[0] for k, v in cal.items()})
    n_steps = int(round(t_ms / h))
    iex, iin, cur = step_inputs(n_steps, spikes, currents, h)
    y = (float(d["V_m"]), float(d["Act_m"]), float(d["Inact_h"]), float(d["Act_n"]), 0.0, 0.0, 0.0, 0.0)
    r, hs, I_stim = 0, h, 0.0
    out = {k: np.zeros(n_steps) for k in RECORD}
    spk = []
    for s in range(n_steps):
        y, r, hs, ns = hh_psc_alpha_step(y, r, hs, I_stim, iex[s], iin[s], p, p.ref_steps, h)
        spk += [(s + 1) * h] * ns
        I_stim = cur[s]
        for k in RECORD:
            out[k][s] = y[INDEX[k]]
    return np.array(spk), out


CURRENT_PARAMS = {"amplitude": "amplitude_pA", "start": "start_ms", "stop": "stop_ms",
                  "amplitude_times": "amplitude_times_ms", "amplitude_values": "amplitude_values_pA"}


def run_engine(params, spikes, currents, t_ms, h):
    """(spike times ms, {recordable: trace}) of one neuron simulated by the engine."""
    from conftest import run_network
    from distsim.spec import Device, Network, Population

    devs = [Device("spike_generator", ["n"], {"spike_times_ms": list(t), "weight": w, "delay_ms": d})
            for t, w, d in spikes]
    devs += [Device(dev, ["n"], dict({CURRENT_PARAMS[k]: v for k, v in dp.items()}, delay_ms=d))
             for dev, dp, d in currents]
    devs += [Device("spike_recorder", ["n"]),
             Device("multimeter", ["n"], {"interval_ms": h, "record_from": list(RECORD)})]
    net = Network([Population("n", MODEL, 1, dict(params))], [], devs, dt_ms=h)
    _, (_, stamps), samples = run_network(net, t_ms)
    out = {}
    for k in RECORD:
        _, st, v = samples["n" if k == "V_m" else f"n:{k}"]
        assert np.array_equal(st, np.arange(1, st.size + 1))
        out[k] = v[:, 0]
    return stamps * h, out


def compare(params, spikes=(), currents=(), t_ms=100.0, min_spikes=1, h=0.1):
    """Run NEST, our step function and our engine; assert equal spike steps and traces
    within TOL; return (NEST's spike times, max |diff| per runner and recordable)."""
    ns, nv = run_nest(params, spikes, currents, t_ms, h)
    assert ns.size >= min_spikes, f"the protocol must make the neuron fire ({ns.size} spikes)"
    diffs = {}
    for name, run in (("kernel", run_kernel), ("engine", run_engine)):
        ds, dv = run(params, spikes, currents, t_ms, h)
        assert np.array_equal(np.rint(ds / h), np.rint(ns / h)), (name, ds, ns)
        # NEST's multimeter misses the samples of the last min_delay: compare what it has
        assert all(v.size >= 0.9 * dv[k].size for k, v in nv.items())
        diffs[name] = {k: float(np.max(np.abs(dv[k][: v.size] - v))) for k, v in nv.items()}
    print(MODEL, params, diffs, f"{ns.size} spikes")
    for name, d in diffs.items():
        for k, x in d.items():
            assert x <= TOL, (name, k, x)
    return ns, diffs


def test_defaults_and_initial_state_are_nest_s():
    """Every parameter default, V_m = -65 mV (not E_L) and the gating variables at their
    equilibrium at -65 mV, bit for bit; recordables by NEST's names."""
    nest.ResetKernel()
    d = nest.GetDefaults(MODEL)
    for k, p in HhPscAlpha.params.items():
        assert d[k] == p.default, (k, d[k], p.default)
    assert d["V_m"] == HhPscAlpha.V_m_default
    assert set(HhPscAlpha.recordables) == set(d["recordables"])


def test_setting_V_m_keeps_the_gating_variables():
    """NEST computes the equilibrium gating variables once, at -65 mV; a V_m given at
    creation does not move them. Ours neither: the first steps from V_m = -70 mV agree."""
    n = (nest.ResetKernel(), nest.Create(MODEL, params={"V_m": -70.0}))[1]
    assert n.get("Act_m") == HhPscAlpha.params["Act_m"].default
    compare({"V_m": -70.0}, t_ms=20.0, min_spikes=0)


@pytest.mark.parametrize("I_e", [650.0, 1000.0, 2500.0])
def test_dc_input(I_e):
    """Repetitive firing at several drives."""
    compare({"I_e": I_e}, t_ms=200.0, min_spikes=3)


def test_subthreshold_and_negative_current():
    """Damped oscillation below the firing threshold and hyperpolarisation: no spike, the
    traces still equal."""
    ns, _ = compare({"I_e": 50.0}, t_ms=100.0, min_spikes=0)
    assert ns.size == 0
    ns, _ = compare({"I_e": -200.0}, t_ms=100.0, min_spikes=0)
    assert ns.size == 0


def test_step_and_dc_current_generators():
    currents = [("step_current_generator", {"amplitude_times": [0.1, 10.0, 40.0, 75.0],
                                            "amplitude_values": [200.0, 1300.0, -600.0, 2000.0]}, 0.1),
                ("dc_generator", {"amplitude": 400.0, "start": 5.0, "stop": 60.0}, 1.0)]
    compare({}, currents=currents, t_ms=120.0, min_spikes=3)


def test_spike_trains_both_signs():
    """Excitatory spikes strong enough to trigger spikes on their own, inhibitory ones that
    delay the regular firing of a DC-driven neuron."""
    spikes = [(EXC_TIMES, 2500.0, 1.0), (INH_TIMES, -150.0, 2.5)]
    compare({}, spikes=spikes, t_ms=60.0, min_spikes=3)
    compare({"I_e": 800.0}, spikes=spikes, t_ms=60.0, min_spikes=3)


def test_refractoriness_suppresses_detection_only():
    """t_ref longer than the interspike interval: NEST suppresses the detection of every
    other spike but the membrane still spikes (V is not clamped); we drop the same spikes."""
    ns_short, _ = compare({"I_e": 2500.0}, t_ms=100.0, min_spikes=5)
    ns_long, _ = compare({"I_e": 2500.0, "t_ref": 1.2 * float(np.min(np.diff(ns_short)))}, t_ms=100.0,
                         min_spikes=3)
    assert ns_long.size < ns_short.size, "the refractory period must suppress some spikes"
    spikes = [([round(1.0 + 0.7 * k, 1) for k in range(80)], 1500.0, 1.0), (INH_TIMES, -100.0, 1.5)]
    compare({"t_ref": 6.0}, spikes=spikes, t_ms=60.0, min_spikes=3)


def test_given_initial_gating_variables_and_parameters():
    """Act_m, Inact_h, Act_n, V_m set at creation, and non-default parameters."""
    compare({"V_m": -60.0, "Act_m": 0.2, "Inact_h": 0.3, "Act_n": 0.4, "C_m": 150.0, "g_Na": 10000.0,
             "g_K": 4000.0, "g_L": 20.0, "E_Na": 55.0, "E_K": -80.0, "E_L": -60.0, "tau_syn_ex": 0.5,
             "tau_syn_in": 3.0, "I_e": 900.0}, spikes=[(EXC_TIMES, 800.0, 1.0), (INH_TIMES, -300.0, 1.0)],
            t_ms=80.0, min_spikes=3)


@pytest.mark.parametrize("h", [0.01, 0.05, 0.25, 0.5])
def test_other_resolutions(h):
    """Finer and coarser grids: more (or fewer) internal RKF45 steps per simulation step;
    spike trains of both signs on the grid, DC drive."""
    spikes = [([2.0, 5.0, 11.0, 15.0, 15.0, 22.0, 30.0, 31.0, 44.0], 1500.0, 1.0),
              ([3.0, 9.0, 12.0, 20.0, 33.0, 40.0], -150.0, 2.0)]
    compare({"I_e": 700.0}, spikes=spikes, t_ms=80.0, min_spikes=3, h=h)


def test_dt_1ms_misses_spikes_as_nest_does():
    """At dt = 1 ms a spike is above 0 mV for less than a step, so NEST's rule (V >= 0 mV
    and lower than a step before) sees few of them; we see the same ones."""
    ns, _ = compare({"I_e": 1000.0}, t_ms=100.0, min_spikes=1, h=1.0)
    assert ns.size <= 2


def test_blow_up_to_nan_is_nest_s():
    """dt = 1 ms and I_e = 4000 pA: the first trial step of 1 ms overflows, GSL's control
    takes a NaN error as no error (NaN > x is false) and accepts it; V_m is -1.3e7 mV after
    one step and NaN from then on, in NEST and in our step kernel, step for step. NEST goes on
    and exits normally with NaN traces; the engine stops at the slice where V_m became NaN
    (sampled at 2 ms) and raises NonFiniteState naming the neuron and the time."""
    from distsim.engine.simulation import NonFiniteState

    ns, nv = run_nest({"I_e": 4000.0}, [], [], 20.0, 1.0)
    assert np.isnan(nv["V_m"][1]) and not np.isnan(nv["V_m"][0]) and ns.size == 0
    ds, dv = run_kernel({"I_e": 4000.0}, [], [], 20.0, 1.0)
    assert ds.size == 0
    for k, v in nv.items():
        np.testing.assert_array_equal(dv[k][: v.size], v)
    with pytest.raises(NonFiniteState) as e:
        run_engine({"I_e": 4000.0}, [], [], 20.0, 1.0)
    info = e.value.info
    assert info["model"] == MODEL and info["gid"] == 0 and not np.isfinite(info["value"])
    assert info["t_from_ms"] < 2.0 <= info["t_ms"], info
