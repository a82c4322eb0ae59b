"""iaf_psc_delta and iaf_psc_exp against closed-form solutions (1e-9 relative)."""
import math

import mpmath
import numpy as np
import pytest

from distsim.spec import Device, Network, Population

mpmath.mp.dps = 40
H = 0.1  # ms


def single(model, params, devices, t_ms, interval=H):
    """Run one neuron; returns (stamps of its spikes, sample stamps, V_m trace in mV)."""
    from conftest import run_network

    devs = list(devices) + [Device("spike_recorder", ["n"]),
                            Device("voltmeter", ["n"], {"interval_ms": interval})]
    net = Network([Population("n", model, 1, params)], [], devs, dt_ms=H)
    _, (g, s), samples = run_network(net, t_ms)
    _, st, v = samples["n"]
    return s, st, v[:, 0]


def close(v, ref, scale):
    """max |v - ref| relative to the scale of the deviation from rest."""
    return np.max(np.abs(np.asarray(v) - np.asarray(ref))) / scale


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp"])
def test_dc_trace_and_spike_times(model):
    """Constant I_e: exponential approach, threshold crossings, reset, refractoriness."""
    p = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "C_m": 250.0, "tau_m": 10.0,
         "t_ref": 2.0, "I_e": 400.0, "V_m": -70.0}
    spikes, st, v = single(model, p, [], 100.0)
    tau, C, I = mpmath.mpf(10), mpmath.mpf(250), mpmath.mpf(400)
    RI = I * tau / C  # 16 mV: suprathreshold
    # steps from reset to threshold: first k with RI (1 - exp(-k h/tau)) >= 15 mV
    k_up = next(k for k in range(1, 10000) if RI * (1 - mpmath.exp(-k * mpmath.mpf(H) / tau)) >= 15)
    ref = 20
    expected = []
    t = k_up
    while t <= 1000:
        expected.append(t)
        t += ref + k_up
    assert list(spikes) == expected, (list(spikes)[:5], expected[:5])
    # the trace: integrate from -70 between spikes, clamp at reset while refractory
    V = []
    last = None  # stamp of last spike
    for k in st:
        prev = [x for x in expected if x <= k]
        if not prev:
            V.append(-70 + RI * (1 - mpmath.exp(-k * mpmath.mpf(H) / tau)))
            continue
        ks = prev[-1]
        if k == ks or k - ks <= ref:
            V.append(mpmath.mpf(-70))
        else:
            V.append(-70 + RI * (1 - mpmath.exp(-(k - ks - ref) * mpmath.mpf(H) / tau)))
    assert close(v, [float(x) for x in V], 15.0) < 1e-9


@pytest.mark.parametrize("w", [2.0, -3.0])
def test_delta_single_spike(w):
    """One input spike at 10 ms, delay 1.0 ms: V jumps by w at 11 ms and decays with tau_m."""
    p = {"E_L": -70.0, "V_th": -55.0, "V_reset": -70.0, "tau_m": 20.0, "V_m": -70.0}
    sg = Device("spike_generator", ["n"], {"spike_times_ms": [10.0], "weight": w, "delay_ms": 1.0})
    _, st, v = single("iaf_psc_delta", p, [sg], 50.0)
    t = st * H
    ref = np.where(t >= 11.0 - 1e-9,
                   [float(-70 + w * mpmath.exp(-(mpmath.mpf(int(k)) / 10 - 11) / 20)) for k in st], -70.0)
    assert close(v, ref, abs(w)) < 1e-9


def psc_exp_reference(t_rel, w, tau_m, tau_s, C):
    """V - E_L (mV) at time t_rel (ms) after a current jump w (pA) decaying with tau_s."""
    t, tau_m, tau_s, C, w = (mpmath.mpf(x) for x in (t_rel, tau_m, tau_s, C, w))
    if tau_m == tau_s:
        return w * t / C * mpmath.exp(-t / tau_m)
    return w * tau_s * tau_m / (C * (tau_m - tau_s)) * (mpmath.exp(-t / tau_m) - mpmath.exp(-t / tau_s))


@pytest.mark.parametrize("tau_s", [2.0, 0.5, 10.0, 10.0 * (1 + 1e-9), 10.0 * (1 - 1e-6), 9.99])
@pytest.mark.parametrize("w", [100.0, -150.0])
def test_exp_single_spike(tau_s, w):
    """PSP of iaf_psc_exp, including tau_syn equal and very close to tau_m."""
    key = "tau_syn_ex" if w > 0 else "tau_syn_in"
    p = {"E_L": -70.0, "V_th": 0.0, "V_reset": -70.0, "tau_m": 10.0, "C_m": 250.0, key: tau_s,
         "V_m": -70.0}
    sg = Device("spike_generator", ["n"], {"spike_times_ms": [5.0], "weight": w, "delay_ms": 1.0})
    _, st, v = single("iaf_psc_exp", p, [sg], 60.0)
    # current w from t = 6 ms (end of the arrival step) on
    ref = [float(-70 + psc_exp_reference(int(k) / mpmath.mpf(10) - 6, w, 10.0, tau_s, 250.0))
           if k >= 60 else -70.0 for k in st]
    peak = max(abs(x + 70) for x in ref)
    assert close(v, ref, peak) < 1e-9


def test_ring_buffer_wraparound_many_spikes():
    """A spike train much longer than the ring buffer: every input arrives exactly once."""
    times = [round(0.1 * k, 1) for k in range(3, 2000, 7)]
    p = {"E_L": 0.0, "V_th": 1e6, "V_reset": 0.0, "tau_m": 5.0, "V_m": 0.0}
    sg = Device("spike_generator", ["n"], {"spike_times_ms": times, "weight": 0.5, "delay_ms": 2.3})
    _, st, v = single("iaf_psc_delta", p, [sg], 250.0)
    arr = np.array([int(round(t * 10)) + 23 for t in times])  # stamps at which the jump is seen
    ref = [float(sum(0.5 * mpmath.exp(-(int(k) - a) / mpmath.mpf(50)) for a in arr if a <= k)) for k in st]
    assert close(v, ref, 1.0) < 1e-9


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp"])
def test_per_neuron_parameters_in_a_merged_block(model):
    """Populations of one model share a kernel call; per-neuron (drawn) and per-population
    parameters must still act neuron by neuron: each trace equals a lone neuron's."""
    from conftest import run_network

    pa = {"I_e": {"dist": "uniform", "low": 380.0, "high": 520.0}, "tau_m": 10.0, "V_m": -70.0}
    pb = {"I_e": 450.0, "tau_m": 15.0, "t_ref": 3.0, "V_m": -65.0}
    devs = [Device("voltmeter", ["A", "B"], {"interval_ms": H})]
    net = Network([Population("A", model, 3, pa), Population("B", model, 2, pb)], [], devs, dt_ms=H)
    sim, _, samples = run_network(net, 60.0)
    assert len(sim.groups) == 1 and sim.groups[0].p["I_e"].size == 5  # one heterogeneous block
    drawn = sim.groups[0].p["I_e"][:3]
    assert np.unique(drawn).size == 3
    for pop, params, k in [("A", dict(pa, I_e=float(drawn[i])), i) for i in range(3)] + \
                          [("B", pb, i) for i in range(2)]:
        _, st, v = single(model, params, [], 60.0)
        assert np.array_equal(samples[pop][2][:, k], v), (pop, k)
