"""COBA benchmark: the Vogels & Abbott (2005) network as benchmark 1 of Brette et al. (2007),
4000 ``iaf_cond_exp`` neurons with exponential conductance synapses.

Sources. Neuron and synapse parameters are Brette et al. (2007), benchmark 1, as in Brette's
Brian scripts for the paper (and Brian2's ``COBAHH`` example for the same weights): membrane
area 20000 um^2 with 1 uF/cm^2 and 5e-5 S/cm^2 give ``C_m`` 200 pF and ``g_L`` 10 nS
(tau_m 20 ms); ``E_L`` -60 mV, ``V_th`` -50 mV, ``V_reset`` -60 mV, ``t_ref`` 5 ms;
``E_ex`` 0 mV, ``E_in`` -80 mV, ``tau_syn_ex`` 5 ms, ``tau_syn_in`` 10 ms; conductance jumps
6 nS (from E) and 67 nS (from I); 3200 E and 800 I neurons, every ordered pair connected
with probability 0.02 (``pairwise_bernoulli``, autapses allowed as in both scripts).

Start of activity. The network has no external drive; its activity is self-sustained once
started. Brian's script starts it from random initial conductances (g_ex ~ N(40, 15) nS,
g_in ~ N(200, 120) nS), which distsim cannot set (only V_m has an initial distribution).
We take PyNN's ``examples/VAbenchmarks.py`` (pyNN 0.13.0, COBA) instead, which uses the
same neuron model: V_m uniform in [V_reset, V_th) = [-60, -50) mV, delay 0.2 ms, and 50 ms
of stimulation by 20 Poisson sources of 100 Hz, each connected to each neuron with
probability 0.01 with weight 100 nS. Here each neuron gets an independent Poisson train of
the same mean input, 20 x 0.01 x 100 Hz = 20 spikes/s of 100 nS, for the first 50 ms
(``stim_*``; NEST's ``poisson_generator`` does the same in tests/nest_builders.py). PyNN's
4 nS / 51 nS weights are not used: the issue asks for the 6 / 67 nS of Brette et al.
With these settings NEST 3.10 and distsim run at about 19 spikes/s in both populations, with
an ISI CV of about 1.45 over (200, 1000] ms (slow fluctuations of the population rate;
scripts/coba_validation.py, README).
"""
from ..spec import Device, Network, Population, Projection, SpecError
from ..spec.declare import NetParam, check_args

#: the builder's arguments: what ``--set`` accepts and ``distsim models coba`` lists
PARAMS = {
    "N_E": NetParam(3200, "neurons", "int", lo=1, doc="excitatory neurons"),
    "N_I": NetParam(800, "neurons", "int", lo=1, doc="inhibitory neurons"),
    "p_conn": NetParam(0.02, "", lo=0.0, hi=1.0, doc="connection probability of every ordered pair"),
    "w_ex_nS": NetParam(6.0, "nS", lo=0.0, doc="excitatory conductance jump (from E)"),
    "w_in_nS": NetParam(67.0, "nS", lo=0.0, doc="inhibitory conductance jump (from I)"),
    "delay_ms": NetParam(0.2, "ms", lo=0.0, lo_strict=True, doc="synaptic delay (a multiple of dt)"),
    "C_m_pF": NetParam(200.0, "pF", lo=0.0, lo_strict=True, doc="membrane capacitance"),
    "g_L_nS": NetParam(10.0, "nS", lo=0.0, lo_strict=True, doc="leak conductance"),
    "E_L_mV": NetParam(-60.0, "mV", doc="leak reversal potential"),
    "V_th_mV": NetParam(-50.0, "mV", doc="threshold"),
    "V_reset_mV": NetParam(-60.0, "mV", doc="reset potential (< V_th_mV)"),
    "t_ref_ms": NetParam(5.0, "ms", lo=0.0, doc="refractory period"),
    "E_ex_mV": NetParam(0.0, "mV", doc="excitatory reversal potential"),
    "E_in_mV": NetParam(-80.0, "mV", doc="inhibitory reversal potential"),
    "tau_syn_ex_ms": NetParam(5.0, "ms", lo=0.0, lo_strict=True, doc="excitatory conductance decay"),
    "tau_syn_in_ms": NetParam(10.0, "ms", lo=0.0, lo_strict=True, doc="inhibitory conductance decay"),
    "stim_rate_Hz": NetParam(20.0, "spikes/s", lo=0.0, doc="initial Poisson stimulation per neuron (0 = none)"),
    "stim_weight_nS": NetParam(100.0, "nS", lo=0.0, doc="weight of a stimulation spike (to g_ex)"),
    "stim_stop_ms": NetParam(50.0, "ms", lo=0.0, doc="end of the initial stimulation"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of E and I"),
    "n_record": NetParam(0, "neurons", "int", lo=0, doc="record the first n of each population (0 = all)"),
}


def neuron_params(a):
    """NEST iaf_cond_exp parameters from the checked builder arguments ``a`` (V_m: the
    initial uniform distribution in [V_reset, V_th))."""
    return {"C_m": a["C_m_pF"], "g_L": a["g_L_nS"], "E_L": a["E_L_mV"], "V_th": a["V_th_mV"],
            "V_reset": a["V_reset_mV"], "t_ref": a["t_ref_ms"], "E_ex": a["E_ex_mV"], "E_in": a["E_in_mV"],
            "tau_syn_ex": a["tau_syn_ex_ms"], "tau_syn_in": a["tau_syn_in_ms"], "I_e": 0.0,
            "V_m": {"dist": "uniform", "low": a["V_reset_mV"], "high": a["V_th_mV"]}}


def coba(N_E=3200, N_I=800, p_conn=0.02, w_ex_nS=6.0, w_in_nS=67.0, delay_ms=0.2, C_m_pF=200.0, g_L_nS=10.0,
         E_L_mV=-60.0, V_th_mV=-50.0, V_reset_mV=-60.0, t_ref_ms=5.0, E_ex_mV=0.0, E_in_mV=-80.0,
         tau_syn_ex_ms=5.0, tau_syn_in_ms=10.0, stim_rate_Hz=20.0, stim_weight_nS=100.0, stim_stop_ms=50.0,
         dt=0.1, record_spikes=True, n_record=0):
    """The COBA benchmark as a :class:`Network` (arguments and units: ``PARAMS``; raises
    SpecError naming the argument). Populations ``E`` and ``I``."""
    args = dict(locals())
    a = check_args(PARAMS, args)
    if not a["V_reset_mV"] < a["V_th_mV"]:
        raise SpecError("V_reset_mV", a["V_reset_mV"], f"must be < V_th_mV ({a['V_th_mV']} mV)")
    prm = neuron_params(a)
    pops = [Population("E", "iaf_cond_exp", a["N_E"], dict(prm)),
            Population("I", "iaf_cond_exp", a["N_I"], dict(prm))]
    projs = []
    for src, w in (("E", a["w_ex_nS"]), ("I", -a["w_in_nS"])):  # a negative weight is a g_in jump
        for tgt in ("E", "I"):
            projs.append(Projection(src, tgt, "pairwise_bernoulli", weight=w, delay_ms=a["delay_ms"],
                                    p=a["p_conn"], allow_autapses=True))
    devices = []
    if a["stim_rate_Hz"] > 0 and a["stim_stop_ms"] > 0 and a["stim_weight_nS"] > 0:
        devices.append(Device("poisson_generator", ["E", "I"], name="stimulus",
                              params={"rate_Hz": a["stim_rate_Hz"], "weight": a["stim_weight_nS"],
                                      "stop_ms": a["stim_stop_ms"]}))
    if a["record_spikes"]:
        devices.append(Device("spike_recorder", ["E", "I"], name="spikes", n_per_population=a["n_record"] or None))
    return Network(pops, projs, devices, dt_ms=a["dt"], name="coba")
