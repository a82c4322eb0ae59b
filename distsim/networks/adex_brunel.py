"""Brunel-style balanced random network of AdEx neurons (``aeif_cond_exp``, NEST 3.10).

The topology of Brunel (2000) as in NEST's ``brunel_delta_nest`` example (and distsim's
``brunel``): ``NE = 4 order`` excitatory and ``NI = order`` inhibitory neurons, fixed
in-degrees ``CE = int(epsilon NE)`` from E and ``CI = int(epsilon NI)`` from I, one delay,
and per neuron an independent Poisson input of ``p_rate_Hz`` with the excitatory weight.
The neurons are NEST's ``aeif_cond_exp`` with its defaults (Brette & Gerstner 2005:
C_m 281 pF, g_L 30 nS, E_L -70.6 mV, V_th -50.4 mV, Delta_T 2 mV, a 4 nS, b 80.5 pA,
tau_w 144 ms, V_reset -60 mV, V_peak 0 mV, tau_syn_ex 0.2 ms, tau_syn_in 2 ms, E_ex 0 mV,
E_in -85 mV) except t_ref = 2 ms (Brunel's). Weights are conductance jumps: ``J_ex_nS``
from E and from the Poisson input, ``g * J_ex_nS`` (to g_in) from I; initial V_m uniform in
[E_L, V_th). This is not a published network: its parameters (J_ex_nS 10, g 3,
p_rate_Hz 10000) were chosen so that NEST 3.10 runs it in an asynchronous irregular state
(about 14 spikes/s, ISI CV about 0.6 at order 250). scripts/coba_validation.py --network
adex_brunel compares it with NEST.
"""
from ..spec import Device, Network, Population, Projection, SpecError
from ..spec.declare import NetParam, check_args

#: the builder's arguments: what ``--set`` accepts and ``distsim models adex_brunel`` lists
PARAMS = {
    "order": NetParam(250, "neurons", "int", lo=1, doc="NI; NE = 4 order"),
    "epsilon": NetParam(0.1, "", lo=0.0, lo_strict=True, hi=1.0,
                        doc="connection probability: CE = int(epsilon NE) >= 1, CI = int(epsilon NI)"),
    "J_ex_nS": NetParam(10.0, "nS", lo=0.0, lo_strict=True, doc="excitatory conductance jump (E and Poisson input)"),
    "g": NetParam(3.0, "", lo=0.0, doc="inhibitory jump relative to J_ex_nS (to g_in)"),
    "p_rate_Hz": NetParam(10000.0, "spikes/s", lo=0.0, doc="rate of each neuron's Poisson input"),
    "delay_ms": NetParam(1.5, "ms", lo=0.0, lo_strict=True, doc="synaptic delay (a multiple of dt)"),
    "t_ref_ms": NetParam(2.0, "ms", lo=0.0, doc="refractory period"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of E and I"),
}

#: NEST 3.10 aeif_cond_exp defaults used for the initial V_m range
E_L, V_TH = -70.6, -50.4


def adex_brunel(order=250, epsilon=0.1, J_ex_nS=10.0, g=3.0, p_rate_Hz=10000.0, delay_ms=1.5, t_ref_ms=2.0,
                dt=0.1, record_spikes=True):
    """The network as a :class:`Network` (arguments and units: ``PARAMS``; raises SpecError
    naming the argument). Populations ``E`` and ``I``."""
    a = check_args(PARAMS, dict(order=order, epsilon=epsilon, J_ex_nS=J_ex_nS, g=g, p_rate_Hz=p_rate_Hz,
                                delay_ms=delay_ms, t_ref_ms=t_ref_ms, dt=dt, record_spikes=record_spikes))
    NE, NI = 4 * a["order"], a["order"]
    CE, CI = int(a["epsilon"] * NE), int(a["epsilon"] * NI)
    if CE < 1:
        raise SpecError("epsilon", epsilon, f"gives CE = int(epsilon * 4 * order) = 0 excitatory inputs; "
                                            f"needs epsilon >= {1 / NE:g}")
    prm = {"t_ref": a["t_ref_ms"], "V_m": {"dist": "uniform", "low": E_L, "high": V_TH}}
    pops = [Population("E", "aeif_cond_exp", NE, dict(prm)), Population("I", "aeif_cond_exp", NI, dict(prm))]
    projs = []
    for tgt in ("E", "I"):
        projs.append(Projection("E", tgt, "fixed_indegree", weight=a["J_ex_nS"], delay_ms=a["delay_ms"], indegree=CE))
        if CI > 0:
            projs.append(Projection("I", tgt, "fixed_indegree", weight=-a["g"] * a["J_ex_nS"],
                                    delay_ms=a["delay_ms"], indegree=CI))
    devices = []
    if a["p_rate_Hz"] > 0:
        devices.append(Device("poisson_generator", ["E", "I"], name="external",
                              params={"rate_Hz": a["p_rate_Hz"], "weight": a["J_ex_nS"], "delay_ms": a["delay_ms"]}))
    if a["record_spikes"]:
        devices.append(Device("spike_recorder", ["E", "I"], name="spikes"))
    return Network(pops, projs, devices, dt_ms=a["dt"], name="adex_brunel")
