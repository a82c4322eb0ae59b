"""Single-neuron protocols side by side with NEST 3.10: spike times and V_m traces to 1e-9."""
import numpy as np
import pytest

from distsim.spec import Device, Network, Population

nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytestmark = pytest.mark.validation

H = 0.1
EXC_TIMES = [2.0, 5.3, 5.4, 11.1, 15.0, 15.0, 22.2, 30.5, 31.0, 31.1, 31.2, 44.4]
INH_TIMES = [3.3, 8.8, 12.0, 20.0, 30.8, 33.3, 40.0]


def run_nest(model, params, inputs, t_ms):
    """Spike times (ms) and (times, V_m) of one NEST neuron with spike_generator inputs."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = H
    n = nest.Create(model, params=params)
    for times, w, d in inputs:
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, n, syn_spec={"weight": w, "delay": d})
    sr = nest.Create("spike_recorder")
    vm = nest.Create("voltmeter", params={"interval": H})
    nest.Connect(n, sr)
    nest.Connect(vm, n)
    nest.Simulate(t_ms)
    return np.asarray(sr.events["times"]), np.asarray(vm.events["times"]), np.asarray(vm.events["V_m"])


def run_ours(model, params, inputs, t_ms):
    from conftest import run_network

    devs = [Device("spike_generator", ["n"], {"spike_times_ms": list(t), "weight": w, "delay_ms": d})
            for t, w, d in inputs]
    devs += [Device("spike_recorder", ["n"]), Device("voltmeter", ["n"], {"interval_ms": H})]
    _, (g, s), samples = run_network(Network([Population("n", model, 1, dict(params))], [], devs, dt_ms=H), t_ms)
    _, st, v = samples["n"]
    return s * H, st * H, v[:, 0]


def compare(model, params, inputs, t_ms=60.0, min_spikes=1):
    ns, nt, nv = run_nest(model, params, inputs, t_ms)
    ds, dt_, dv = run_ours(model, params, inputs, t_ms)
    assert ns.size >= min_spikes, "the protocol must make the neuron fire"
    assert np.allclose(ds, ns, rtol=0, atol=1e-9), (ds, ns)
    # NEST's voltmeter stops one min-delay short of the end of Simulate; compare what it has
    assert nt.size >= 0.9 * dt_.size
    assert np.allclose(dt_[: nt.size], nt, rtol=0, atol=1e-9)
    dv = dv[: nt.size]
    scale = max(1.0, np.max(np.abs(nv - params.get("E_L", -70.0))))
    assert np.max(np.abs(dv - nv)) / scale < 1e-9, np.max(np.abs(dv - nv))


DELTA = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0,
         "V_m": -70.0}
EXP = dict(DELTA, tau_syn_ex=2.0, tau_syn_in=0.5)
ALPHA = dict(DELTA, tau_syn_ex=2.0, tau_syn_in=0.5)
# gif_psc_exp with certain firing: lambda_0 (1/s) so large and Delta_V (mV) so small that the
# firing probability per step is 1 above E_sfa and below 1e-30 a few uV under it, so NEST and
# distsim make the same decisions with any random numbers; adaptation of both kinds
GIF = {"E_L": -70.0, "V_reset": -65.0, "g_L": 4.0, "C_m": 80.0, "Delta_V": 1e-4, "lambda_0": 1e12,
       "V_T_star": -55.0, "t_ref": 2.0, "q_sfa": [3.0, 1.0], "tau_sfa": [30.0, 300.0],
       "q_stc": [20.0], "tau_stc": [15.0], "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "V_m": -70.0}


@pytest.mark.parametrize("model,params", [("iaf_psc_delta", DELTA), ("iaf_psc_exp", EXP),
                                          ("iaf_psc_alpha", ALPHA), ("gif_psc_exp", GIF)])
def test_dc_input(model, params):
    compare(model, dict(params, I_e=420.0), [], t_ms=80.0, min_spikes=3)


@pytest.mark.parametrize("model,params,w_ex,w_in", [("iaf_psc_delta", DELTA, 6.0, -4.0),
                                                    ("iaf_psc_exp", EXP, 900.0, -700.0),
                                                    ("iaf_psc_alpha", ALPHA, 500.0, -900.0),
                                                    ("gif_psc_exp", GIF, 300.0, -200.0)])
def test_spike_trains_both_signs(model, params, w_ex, w_in):
    inputs = [(EXC_TIMES, w_ex, 1.0), (INH_TIMES, w_in, 2.5)]
    compare(model, dict(params, I_e=200.0), inputs, t_ms=60.0, min_spikes=2)


@pytest.mark.parametrize("model,params,w", [("iaf_psc_delta", DELTA, 9.0), ("iaf_psc_exp", EXP, 2000.0),
                                            ("iaf_psc_alpha", ALPHA, 1200.0), ("gif_psc_exp", GIF, 400.0)])
def test_refractoriness_with_input_during_refractory_period(model, params, w):
    """t_ref = 5 ms; inputs keep arriving while refractory (delta: discarded, exp: integrated)."""
    times = [round(1.0 + 0.7 * k, 1) for k in range(60)]
    compare(model, dict(params, t_ref=5.0, I_e=300.0), [(times, w, 1.0)], t_ms=60.0, min_spikes=3)


def test_tau_syn_equal_to_tau_m():
    p = dict(EXP, tau_syn_ex=10.0, tau_syn_in=10.0)
    compare("iaf_psc_exp", dict(p, I_e=300.0), [(EXC_TIMES, 500.0, 1.0), (INH_TIMES, -300.0, 1.0)],
            t_ms=60.0, min_spikes=1)


@pytest.mark.parametrize("tau_syn", [10.0, 10.0 + 1e-9, 9.99])
def test_alpha_tau_syn_at_and_near_tau_m(tau_syn):
    """iaf_psc_alpha where NEST switches P31/P32 to their limit forms (tau_syn = tau_m and
    within 1e-7 tau_m^2 / h of it) and just outside."""
    p = dict(ALPHA, tau_syn_ex=tau_syn, tau_syn_in=tau_syn)
    compare("iaf_psc_alpha", dict(p, I_e=300.0), [(EXC_TIMES, 300.0, 1.0), (INH_TIMES, -200.0, 1.0)],
            t_ms=60.0, min_spikes=1)


def test_alpha_lower_bound_V_min():
    """iaf_psc_alpha's V_min: strong inhibition drives V_m onto the bound and it stays there."""
    p = dict(ALPHA, V_min=-72.0, I_e=200.0)
    ns, nt, nv = run_nest("iaf_psc_alpha", p, [(INH_TIMES, -20000.0, 1.0), (EXC_TIMES, 1500.0, 1.0)], 60.0)
    assert np.any(nv == -72.0), "the protocol must reach V_min"
    compare("iaf_psc_alpha", p, [(INH_TIMES, -20000.0, 1.0), (EXC_TIMES, 1500.0, 1.0)], t_ms=60.0, min_spikes=1)


def test_gif_subthreshold_with_escape_switched_off():
    """lambda_0 = 0: the membrane, synaptic and adaptation-free dynamics alone."""
    inputs = [(EXC_TIMES, 300.0, 1.0), (INH_TIMES, -250.0, 2.5)]
    ns, _, _ = run_nest("gif_psc_exp", dict(GIF, lambda_0=0.0, I_e=50.0), inputs, 60.0)
    assert ns.size == 0
    compare("gif_psc_exp", dict(GIF, lambda_0=0.0, I_e=50.0), inputs, t_ms=60.0, min_spikes=0)


@pytest.mark.parametrize("model,params", [("iaf_psc_delta", DELTA), ("iaf_psc_exp", EXP),
                                          ("iaf_psc_alpha", ALPHA), ("gif_psc_exp", GIF)])
@pytest.mark.parametrize("window", [{"start": 5.0, "stop": 30.0}, {}, {"stop": H}, {"start": H, "stop": 3 * H}],
                         ids=["5-30", "default", "stop-dt", "dt-3dt"])
def test_dc_and_step_current_generators(model, params, window):
    """Current devices: NEST delivers their current with the connection delay and the neuron
    reads it at the end of a step, so it acts from the next step on. The default window
    (start 0) acts as start = dt: NEST sends nothing before its first step."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = H
    n = nest.Create(model, params=params)
    dc = nest.Create("dc_generator", params=dict(window, amplitude=500.0))
    sc = nest.Create("step_current_generator", params={"amplitude_times": [H, 10.0, 20.0, 35.0],
                                                       "amplitude_values": [150.0, 200.0, -100.0, 300.0]})
    nest.Connect(dc, n, syn_spec={"delay": H})
    nest.Connect(sc, n, syn_spec={"delay": H})
    vm = nest.Create("voltmeter", params={"interval": H})
    sr = nest.Create("spike_recorder")
    nest.Connect(vm, n)
    nest.Connect(n, sr)
    nest.Simulate(60.0)
    nt, nv = np.asarray(vm.events["times"]), np.asarray(vm.events["V_m"])
    from conftest import run_network
    dc_params = {f"{k}_ms": v for k, v in window.items()}
    devs = [Device("dc_generator", ["n"], dict(dc_params, amplitude_pA=500.0)),
            Device("step_current_generator", ["n"], {"amplitude_times_ms": [H, 10.0, 20.0, 35.0],
                                                      "amplitude_values_pA": [150.0, 200.0, -100.0, 300.0]}),
            Device("spike_recorder", ["n"]), Device("voltmeter", ["n"], {"interval_ms": H})]
    _, (g, s), samples = run_network(Network([Population("n", model, 1, dict(params))], [], devs, dt_ms=H), 60.0)
    _, st, v = samples["n"]
    dv = v[: nt.size, 0]
    assert np.allclose(st[: nt.size] * H, nt)
    assert np.max(np.abs(dv - nv)) / 15.0 < 1e-9, (np.max(np.abs(dv - nv)), np.argmax(np.abs(dv - nv)))
    assert np.allclose(s * H, np.asarray(sr.events["times"]), atol=1e-9)


def test_gif_pop_input_path_matches_nest():
    """gif_pop_psc_exp with lambda_0 = 0 (no spikes: deterministic): its free membrane
    potential V_m and synaptic currents under spike trains of both signs (weight x
    multiplicity 1, pA) and a step current match NEST's to 1e-9."""
    prm = {"N": 500, "lambda_0": 0.0, "tau_m": 20.0, "C_m": 250.0, "tau_syn_ex": 3.0,
           "tau_syn_in": 6.0, "E_L": -2.0, "I_e": 100.0, "V_reset": 0.0, "V_T_star": 15.0,
           "t_ref": 4.0, "q_sfa": [1.0], "tau_sfa": [100.0]}
    h = 0.5
    exc = [2.0, 5.5, 5.5, 11.0, 15.0, 22.5, 30.5, 31.0, 44.5]
    inh = [3.5, 8.5, 12.0, 20.0, 33.0, 40.0]
    steps = {"amplitude_times_ms": [10.0, 25.0], "amplitude_values_pA": [150.0, -80.0]}
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = h
    n = nest.Create("gif_pop_psc_exp", params=dict(prm, V_m=-2.0))
    for times, w in ((exc, 400.0), (inh, -300.0)):
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, n, syn_spec={"weight": w, "delay": 1.0})
    sc = nest.Create("step_current_generator", params={"amplitude_times": steps["amplitude_times_ms"],
                                                       "amplitude_values": steps["amplitude_values_pA"]})
    nest.Connect(sc, n, syn_spec={"delay": h})
    mm = nest.Create("multimeter", params={"interval": h, "record_from": ["V_m", "I_syn_ex", "I_syn_in", "n_events"]})
    nest.Connect(mm, n)
    nest.Simulate(60.0)
    ev = mm.events
    from conftest import run_network
    devs = [Device("spike_generator", ["n"], {"spike_times_ms": exc, "weight": 400.0, "delay_ms": 1.0}),
            Device("spike_generator", ["n"], {"spike_times_ms": inh, "weight": -300.0, "delay_ms": 1.0}),
            Device("step_current_generator", ["n"], steps),
            Device("multimeter", ["n"], {"interval_ms": h, "record_from": ["V_m", "I_syn_ex", "I_syn_in", "n_events"]})]
    net = Network([Population("n", "gif_pop_psc_exp", 1, dict(prm, V_m=-2.0))], [], devs, dt_ms=h)
    _, _, samples = run_network(net, 60.0)
    nt = np.asarray(ev["times"])
    for var, key in (("V_m", "n"), ("I_syn_ex", "n:I_syn_ex"), ("I_syn_in", "n:I_syn_in"), ("n_events", "n:n_events")):
        _, st, v = samples[key]
        assert np.allclose(st[: nt.size] * h, nt, atol=1e-9)
        ref = np.asarray(ev[var], dtype=np.float64)
        ours = v[: nt.size, 0]
        scale = max(1.0, np.max(np.abs(ref)))
        assert np.max(np.abs(ours - ref)) / scale < 1e-9, (var, np.max(np.abs(ours - ref)))
    assert np.ptp(np.asarray(ev["I_syn_ex"])) > 100 and np.ptp(np.asarray(ev["I_syn_in"])) > 100
