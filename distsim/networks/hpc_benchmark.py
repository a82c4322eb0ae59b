"""NEST's HPC benchmark (pynest/examples/hpc_benchmark.py of NEST 3.10; Morrison et al. 2007,
Helias et al. 2012, Kunkel et al. 2014, Jordan et al. 2018): a balanced random network of
``9000 scale`` excitatory and ``2250 scale`` inhibitory ``iaf_psc_alpha`` neurons with power-law
STDP (``stdp_pl_synapse_hom``) on the E->E connections.

As NEST's script: fixed in-degrees CE = int(NE / scale) = 9000 and CI = int(NI / scale) = 2250
(no autapses, multapses allowed), every delay 1.5 ms; the PSC time constant tau_syn =
0.32582722403722841 ms; the excitatory weight JE = 0.14 mV converted to pA by the peak of the
PSP of an alpha current (``convert_synapse_weight``), inhibitory ones g JE (g = -5); each
neuron gets Poisson input of rate eta nu_th CE (nu_th: the rate per input that brings the mean
membrane potential to threshold) with weight JE_pA and delay 1.5 ms; V_m drawn from
normal(5.7, 7.2) mV; E->E synapses start at JE_pA with alpha = 0.0513, lambda = 0.1, mu = 0.4,
tau_plus = 15 ms and the neurons' tau_minus = 30 ms.

``indegree_scale`` (not NEST's; 1 = NEST) multiplies CE and CI for small test runs, with the
same weights: the network then gets less input and is no longer NEST's benchmark.
"""
import math

import numpy as np

from ..spec import Device, Network, Population, Projection
from ..spec.declare import NetParam, check_args

#: NEST's tau_syn of hpc_benchmark.py (ms)
TAU_SYN = 0.32582722403722841

PARAMS = {
    "scale": NetParam(1.0, "", lo=0.0, lo_strict=True, doc="network size factor: 11250 scale neurons"),
    "eta": NetParam(1.685, "", lo=0.0, doc="external rate relative to threshold rate"),
    "JE": NetParam(0.14, "mV", lo=0.0, doc="peak of the excitatory PSP"),
    "g": NetParam(-5.0, "", doc="inhibitory weight relative to JE (negative)"),
    "delay": NetParam(1.5, "ms", lo=0.0, lo_strict=True, doc="delay of every connection"),
    "alpha": NetParam(0.0513, "", doc="STDP asymmetry (stdp_pl_synapse_hom)"),
    "lambda_": NetParam(0.1, "", doc="STDP step size lambda (stdp_pl_synapse_hom)"),
    "mu": NetParam(0.4, "", doc="STDP weight dependence exponent of potentiation"),
    "tau_plus": NetParam(15.0, "ms", lo=0.0, lo_strict=True, doc="STDP potentiation time constant"),
    "tau_minus": NetParam(30.0, "ms", lo=0.0, lo_strict=True, doc="STDP depression time constant (neurons)"),
    "randomize_Vm": NetParam(True, kind="bool", doc="draw V_m from normal(5.7, 7.2) mV"),
    "indegree_scale": NetParam(1.0, "", lo=0.0, lo_strict=True, hi=1.0,
                               doc="factor on CE and CI (1 = NEST's; smaller only for tests)"),
    "plastic": NetParam(True, kind="bool", doc="E->E stdp_pl_synapse_hom (false: static)"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of every neuron of E and I"),
}

NEURON = {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
          "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN}


def convert_synapse_weight(tau_m, tau_syn, C_m):
    """pA per mV of PSP peak for an alpha current into a neuron at rest (NEST's function of
    the same name: the peak time from the W_{-1} branch of Lambert's function)."""
    from scipy.special import lambertw

    a = tau_m / tau_syn
    b = 1.0 / tau_syn - 1.0 / tau_m
    t_rise = 1.0 / b * (-lambertw(-math.exp(-1.0 / a) / a, -1).real - 1.0 / a)
    v_max = (math.exp(1.0) / (tau_syn * C_m * b)
             * ((math.exp(-t_rise / tau_m) - math.exp(-t_rise / tau_syn)) / b - t_rise * math.exp(-t_rise / tau_syn)))
    return 1.0 / v_max


def derive(scale=1.0, eta=1.685, JE=0.14, indegree_scale=1.0):
    """NE, NI, CE, CI, JE_pA (pA) and the Poisson rate p_rate (spikes/s) of each neuron."""
    NE, NI = int(9000 * scale), int(2250 * scale)
    CE = max(1, int(int(1.0 * NE / scale) * indegree_scale))
    CI = max(1, int(int(1.0 * NI / scale) * indegree_scale))
    JE_pA = convert_synapse_weight(NEURON["tau_m"], NEURON["tau_syn_ex"], NEURON["C_m"]) * JE
    nu_thresh = NEURON["V_th"] / (CE * NEURON["tau_m"] / NEURON["C_m"] * JE_pA * np.exp(1.0) * TAU_SYN)
    return {"NE": NE, "NI": NI, "CE": CE, "CI": CI, "JE_pA": JE_pA,
            "p_rate": nu_thresh * eta * CE * 1000.0}


def hpc_benchmark(scale=1.0, eta=1.685, JE=0.14, g=-5.0, delay=1.5, alpha=0.0513, lambda_=0.1, mu=0.4,
                  tau_plus=15.0, tau_minus=30.0, randomize_Vm=True, indegree_scale=1.0, plastic=True,
                  dt=0.1, record_spikes=True):
    """NEST's hpc_benchmark network as a :class:`Network` (see the module docstring)."""
    a = check_args(PARAMS, dict(scale=scale, eta=eta, JE=JE, g=g, delay=delay, alpha=alpha, lambda_=lambda_,
                                mu=mu, tau_plus=tau_plus, tau_minus=tau_minus, randomize_Vm=randomize_Vm,
                                indegree_scale=indegree_scale, plastic=plastic, dt=dt,
                                record_spikes=record_spikes))
    P = derive(a["scale"], a["eta"], a["JE"], a["indegree_scale"])
    v0 = {"dist": "normal", "mean": 5.7, "std": 7.2} if a["randomize_Vm"] else 5.7
    params = dict(NEURON, tau_minus=a["tau_minus"], V_m=v0)
    pops = [Population("E", "iaf_psc_alpha", P["NE"], dict(params)),
            Population("I", "iaf_psc_alpha", P["NI"], dict(params))]
    JE_pA, JI_pA = P["JE_pA"], a["g"] * P["JE_pA"]
    stdp = {"model": "stdp_pl_synapse_hom", "alpha": a["alpha"], "lambda": a["lambda_"], "mu": a["mu"],
            "tau_plus": a["tau_plus"]} if a["plastic"] else None
    kw = dict(delay_ms=a["delay"], allow_autapses=False, allow_multapses=True)
    projs = [Projection("E", "E", "fixed_indegree", weight=JE_pA, indegree=P["CE"], synapse=stdp, **kw),
             Projection("I", "E", "fixed_indegree", weight=JI_pA, indegree=P["CI"], **kw),
             Projection("E", "I", "fixed_indegree", weight=JE_pA, indegree=P["CE"], **kw),
             Projection("I", "I", "fixed_indegree", weight=JI_pA, indegree=P["CI"], **kw)]
    devices = [Device("poisson_generator", ["E", "I"], name="E_stimulus",
                      params={"rate_Hz": float(P["p_rate"]), "weight": JE_pA, "delay_ms": a["delay"]})]
    if a["record_spikes"]:
        devices.append(Device("spike_recorder", ["E", "I"], name="spikes"))
    return Network(pops, projs, devices, dt_ms=a["dt"], name="hpc_benchmark")
