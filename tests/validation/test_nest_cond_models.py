"""iaf_cond_exp, iaf_cond_alpha and aeif_cond_exp side by side with NEST 3.10: single neurons
with DC, step currents, spike trains of both signs and refractoriness. Target: the same spike
steps, and V_m (and g_ex, g_in, w) within 1e-6 of NEST's.

Each protocol runs twice on our side: through the engine (devices, ring buffers, driver,
multimeter), and as the bare kernel driven step by step with the input NEST's ring buffers
hold per step (a spike_generator spike at t (ms) with delay d reaches the neuron in step
t/dt - 1 + d/dt; a current generator's amplitude sent in step e is read at the end of step
e + d/dt and acts in the following step), which isolates the integrator from the plumbing.
"""
import numpy as np
import pytest

from distsim.kernels import cond

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

H = 0.1
TOL_MV = 1e-6
EXC_TIMES = [2.0, 5.3, 5.4, 11.1, 15.0, 15.0, 22.2, 30.5, 31.0, 31.1, 31.2, 44.4]
INH_TIMES = [3.3, 8.8, 12.0, 20.0, 30.8, 33.3, 40.0]

RECORD = {"iaf_cond_exp": ("V_m", "g_ex", "g_in"), "iaf_cond_alpha": ("V_m", "g_ex", "g_in"),
          "aeif_cond_exp": ("V_m", "g_ex", "g_in", "w")}
# state index of each recordable
INDEX = {"iaf_cond_exp": {"V_m": 0, "g_ex": 1, "g_in": 2},
         "iaf_cond_alpha": {"V_m": 0, "g_ex": 2, "g_in": 4},
         "aeif_cond_exp": {"V_m": 0, "g_ex": 1, "g_in": 2, "w": 3}}
DEFAULTS = {m: None for m in RECORD}  # filled from NEST


def nest_defaults(model):
    """NEST's default parameters of ``model`` (the kernels must use the same)."""
    if DEFAULTS[model] is None:
        nest.ResetKernel()
        DEFAULTS[model] = nest.GetDefaults(model)
    return DEFAULTS[model]


def run_nest(model, params, spikes, currents, t_ms):
    """(spike times ms, {recordable: trace}) of one NEST neuron. spikes: [(times, weight nS,
    delay ms)]; currents: [(device, params, delay ms)]."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = H
    n = nest.Create(model, params=params)
    for times, w, d in spikes:
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, n, syn_spec={"weight": w, "delay": d})
    for dev, dp, d in currents:
        nest.Connect(nest.Create(dev, params=dp), n, syn_spec={"delay": d})
    sr = nest.Create("spike_recorder")
    mm = nest.Create("multimeter", params={"interval": H, "record_from": list(RECORD[model])})
    nest.Connect(n, sr)
    nest.Connect(mm, n)
    nest.Simulate(t_ms)
    ev = mm.events
    times = np.asarray(ev["times"])
    assert np.allclose(times, H * np.arange(1, times.size + 1))
    return np.asarray(sr.events["times"]), {k: np.asarray(ev[k]) for k in RECORD[model]}


def step_inputs(n_steps, spikes, currents):
    """Per-step input NEST's ring buffers give the neuron: (exc nS, inh nS (magnitude),
    current read at the end of the step pA)."""
    gex, gin, cur = np.zeros(n_steps), np.zeros(n_steps), np.zeros(n_steps)
    for times, w, d in spikes:
        for t in times:
            s = int(round(t / H)) - 1 + int(round(d / H))
            if s < n_steps:
                if w > 0:
                    gex[s] += w
                else:
                    gin[s] += -w
    for dev, dp, d in currents:
        dd = int(round(d / H))
        for e in range(n_steps):  # sending step e
            if dev == "dc_generator":
                t_min, t_max = round(dp.get("start", 0.0) / H), round(dp.get("stop", 1e9) / H)
                amp = dp["amplitude"] if t_min < e + 2 <= t_max else 0.0
            else:  # step_current_generator: last change with stamp <= e + 1
                amp = 0.0
                for t, v in zip(dp["amplitude_times"], dp["amplitude_values"]):
                    if round(t / H) <= e + 1:
                        amp = v
            if e + dd < n_steps:
                cur[e + dd] += amp
    return gex, gin, cur


def run_kernel(model, params, spikes, currents, t_ms):
    """(spike times ms, {recordable: trace}, internal steps per dt step) of our kernel."""
    p = dict(nest_defaults(model))
    p.update(params)
    n_steps = int(round(t_ms / H))
    gex, gin, cur = step_inputs(n_steps, spikes, currents)
    keys = ("C_m", "g_L", "E_L", "E_ex", "E_in", "V_th", "V_reset", "tau_syn_ex", "tau_syn_in", "I_e")
    if model == "aeif_cond_exp":
        pt = cond.aeif_params(**{k: p[k] for k in keys + ("a", "b", "Delta_T", "tau_w", "V_peak")})
        ctl = cond.aeif_control(p["gsl_error_tol"])
        step, dim = cond.aeif_cond_exp_step, cond.AEIF_DIM
    else:
        ctl = cond.CTL_IAF_COND
        cls, step, dim = ((cond.IafCondExpParams, cond.iaf_cond_exp_step, cond.COND_EXP_DIM)
                          if model == "iaf_cond_exp" else
                          (cond.IafCondAlphaParams, cond.iaf_cond_alpha_step, cond.COND_ALPHA_DIM))
        pt = cls(**{k: float(p[k]) for k in keys})
    ref_steps = int(round(p["t_ref"] / H))
    y = (float(p["V_m"]),) + (0.0,) * (dim - 1)
    r, h, I_stim = 0, H, 0.0
    out = {k: np.zeros(n_steps) for k in RECORD[model]}
    spk = []
    for s in range(n_steps):
        y, r, h, ns = step(y, r, h, I_stim, gex[s], gin[s], pt, ref_steps, H, ctl)
        assert ns >= 0, "numerical instability"
        spk += [(s + 1) * H] * ns
        I_stim = cur[s]
        for k in RECORD[model]:
            out[k][s] = y[INDEX[model][k]]
    return np.array(spk), out


CURRENT_PARAMS = {"amplitude": "amplitude_pA", "start": "start_ms", "stop": "stop_ms",
                  "amplitude_times": "amplitude_times_ms", "amplitude_values": "amplitude_values_pA"}


def run_engine(model, params, spikes, currents, t_ms):
    """(spike times ms, {recordable: trace}) of one neuron simulated by the engine."""
    from conftest import run_network
    from distsim.spec import Device, Network, Population

    devs = [Device("spike_generator", ["n"], {"spike_times_ms": list(t), "weight": w, "delay_ms": d})
            for t, w, d in spikes]
    devs += [Device(dev, ["n"], dict({CURRENT_PARAMS[k]: v for k, v in dp.items()}, delay_ms=d))
             for dev, dp, d in currents]
    devs += [Device("spike_recorder", ["n"]),
             Device("multimeter", ["n"], {"interval_ms": H, "record_from": list(RECORD[model])})]
    net = Network([Population("n", model, 1, dict(params))], [], devs, dt_ms=H)
    _, (_, stamps), samples = run_network(net, t_ms)
    out = {}
    for k in RECORD[model]:
        _, st, v = samples["n" if k == "V_m" else f"n:{k}"]
        assert np.array_equal(st, np.arange(1, st.size + 1))
        out[k] = v[:, 0]
    return stamps * H, out


def engine_has(model):
    """True when the engine runs ``model`` (the model files are registered)."""
    from distsim.models import MODELS
    return model in MODELS


def compare(model, params, spikes=(), currents=(), t_ms=100.0, min_spikes=1):
    """Run NEST, our kernel and (when registered) our engine; assert equal spike steps and
    traces within TOL_MV; return max |diff| per runner and recordable."""
    ns, nv = run_nest(model, params, spikes, currents, t_ms)
    assert ns.size >= min_spikes, f"the protocol must make the neuron fire ({ns.size} spikes)"
    runners = {"kernel": run_kernel}
    if engine_has(model):
        runners["engine"] = run_engine
    diffs = {}
    for name, run in runners.items():
        ds, dv = run(model, params, spikes, currents, t_ms)
        assert np.array_equal(np.rint(ds / H), np.rint(ns / H)), (name, ds, ns)
        diffs[name] = {k: float(np.max(np.abs(dv[k][: v.size] - v))) for k, v in nv.items()}
        assert all(v.size >= 0.9 * dv[k].size for k, v in nv.items())
    print(model, diffs, f"{ns.size} spikes")
    for name, d in diffs.items():
        for k, x in d.items():
            assert x <= TOL_MV, (name, k, x)
    return diffs


MODELS = ["iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp"]
DC = {"iaf_cond_exp": 400.0, "iaf_cond_alpha": 400.0, "aeif_cond_exp": 800.0}
# (excitatory, inhibitory) weights in nS that make a difference with the default tau_syn
WEIGHTS = {"iaf_cond_exp": (60.0, -20.0), "iaf_cond_alpha": (25.0, -15.0), "aeif_cond_exp": (60.0, -20.0)}


@pytest.mark.parametrize("model", MODELS)
def test_dc_input(model):
    compare(model, {"I_e": DC[model]}, t_ms=200.0, min_spikes=3)


@pytest.mark.parametrize("model", MODELS)
def test_step_and_dc_current_generators(model):
    amp = DC[model]
    currents = [("step_current_generator", {"amplitude_times": [H, 10.0, 40.0, 75.0],
                                            "amplitude_values": [0.5 * amp, 1.3 * amp, -amp, 2.0 * amp]}, H),
                ("dc_generator", {"amplitude": 0.4 * amp, "start": 5.0, "stop": 60.0}, 1.0)]
    compare(model, {}, currents=currents, t_ms=120.0, min_spikes=2)


@pytest.mark.parametrize("model", MODELS)
def test_spike_trains_both_signs(model):
    w_ex, w_in = WEIGHTS[model]
    spikes = [(EXC_TIMES, w_ex, 1.0), (INH_TIMES, w_in, 2.5)]
    compare(model, {"I_e": DC[model]}, spikes=spikes, t_ms=60.0, min_spikes=2)


@pytest.mark.parametrize("model", MODELS)
def test_refractoriness_with_input_during_refractory_period(model):
    """t_ref = 5 ms; conductance jumps keep arriving while refractory."""
    w_ex, w_in = WEIGHTS[model]
    times = [round(1.0 + 0.7 * k, 1) for k in range(80)]
    compare(model, {"t_ref": 5.0, "I_e": DC[model]},
            spikes=[(times, w_ex, 1.0), (times[::3], w_in, 1.5)], t_ms=60.0, min_spikes=3)


def test_aeif_without_exponential_term_spikes_at_V_th():
    """Delta_T = 0: NEST's aeif_cond_exp becomes an adaptive IAF with threshold V_th."""
    compare("aeif_cond_exp", {"Delta_T": 0.0, "I_e": 800.0}, t_ms=200.0, min_spikes=3)


def test_aeif_bursting_several_spikes_fit_in_refractoriness_free_steps():
    """t_ref = 0 (NEST's default), strong drive, b = 0: fast regular firing; w adapts via a."""
    compare("aeif_cond_exp", {"I_e": 3000.0, "b": 0.0, "a": 20.0}, t_ms=100.0, min_spikes=10)


def test_aeif_several_spikes_in_one_step():
    """t_ref = 0 and a huge current: NEST's aeif_cond_exp fires several times within one
    step (spikes are handled after every internal RKF45 step); we emit as many."""
    ns, _ = run_nest("aeif_cond_exp", {"I_e": 5e5, "b": 0.0}, [], [], 5.0)
    ds, _ = run_kernel("aeif_cond_exp", {"I_e": 5e5, "b": 0.0}, [], [], 5.0)
    steps = np.rint(ns / H).astype(int)
    assert np.max(np.bincount(steps)) >= 2, "the protocol must produce a step with several spikes"
    assert np.array_equal(np.rint(ds / H).astype(int), steps)
    compare("aeif_cond_exp", {"I_e": 5e5, "b": 0.0}, t_ms=20.0, min_spikes=20)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("h", [0.25, 1.0])
def test_other_resolutions(model, h, monkeypatch):
    """dt = 0.25 and 1 ms: more internal RKF45 steps per simulation step, the last one cut
    at the step's end; spike trains of both signs on the coarser grid, DC drive."""
    import sys
    monkeypatch.setattr(sys.modules[__name__], "H", h)
    w_ex, w_in = WEIGHTS[model]
    spikes = [([2.0, 5.0, 11.0, 15.0, 15.0, 22.0, 30.0, 31.0, 44.0], w_ex, 1.0),
              ([3.0, 9.0, 12.0, 20.0, 33.0, 40.0], w_in, 2.0)]
    compare(model, {"I_e": DC[model]}, spikes=spikes, t_ms=80.0, min_spikes=2)
