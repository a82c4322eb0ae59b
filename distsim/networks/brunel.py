"""Brunel (2000) balanced random network of iaf_psc_delta neurons (seeds 000, 002).

Populations ``E`` (4*order) and ``I`` (order); fixed in-degrees CE = epsilon*NE from E (weight
J mV) and CI = epsilon*NI from I (weight -g*J mV), one delay; each neuron gets independent
Poisson input of rate eta*nu_th*CE with weight J. Parameters are derived in
``brunel_params.derive``.
"""
from ..spec import Device, Network, Population, Projection, SpecError
from ..spec.declare import NetParam, check_args
from ..spec.network import POISSON_MAX_MEAN_PER_STEP
from .brunel_params import derive

#: the builder's arguments: what ``--set`` accepts and ``distsim models brunel`` lists
PARAMS = {
    "order": NetParam(2500, "neurons", "int", lo=1, doc="NI; NE = 4 order"),
    "g": NetParam(5.0, "", lo=0.0, doc="relative strength of inhibition (weight -g J)"),
    "eta": NetParam(2.0, "", lo=0.0, doc="external rate relative to the threshold rate nu_th"),
    "J": NetParam(0.1, "mV", lo=0.0, lo_strict=True, doc="excitatory weight (PSP amplitude)"),
    "delay": NetParam(1.5, "ms", lo=0.0, lo_strict=True, doc="synaptic delay (a multiple of dt)"),
    "epsilon": NetParam(0.1, "", lo=0.0, lo_strict=True, hi=1.0,
                        doc="connection probability: CE = int(epsilon NE) >= 1, CI = int(epsilon NI)"),
    "V_reset": NetParam(0.0, "mV", doc="reset potential (< V_th = 20 mV)"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of E and I"),
    "n_record": NetParam(0, "neurons", "int", lo=0, doc="record the first n of each population (0 = all)"),
    "voltmeter": NetParam(0, "neurons", "int", lo=0, doc="record V_m of the first n of each population every dt"),
}


def brunel(order=2500, g=5.0, eta=2.0, J=0.1, delay=1.5, epsilon=0.1, V_reset=0.0, dt=0.1,
           record_spikes=True, n_record=0, voltmeter=0):
    """The Brunel network as a :class:`Network`.

    order: NI (int); g: relative inhibition; eta: external rate / threshold rate; J: weight (mV);
    delay: ms; n_record: record spikes of the first n neurons of each population (0 = all);
    voltmeter: record V_m of the first n neurons of each population every dt (0 = none).
    Ranges: see ``PARAMS``; raises SpecError naming the argument.
    """
    a = check_args(PARAMS, dict(order=order, g=g, eta=eta, J=J, delay=delay, epsilon=epsilon,
                                V_reset=V_reset, dt=dt, record_spikes=record_spikes,
                                n_record=n_record, voltmeter=voltmeter))
    order, n_record, voltmeter = a["order"], a["n_record"], a["voltmeter"]
    if int(epsilon * 4 * order) < 1:
        # the external rate is eta * nu_th with nu_th = V_th / (J CE tau_m): undefined for CE = 0
        raise SpecError("epsilon", epsilon, f"gives CE = int(epsilon * 4 * order) = 0 excitatory inputs "
                                            f"(order {order}); needs epsilon >= {1 / (4 * order):g}")
    P = derive(order=order, g=g, eta=eta, J=J, delay=delay, epsilon=epsilon, V_reset=V_reset)
    mean = P["p_rate"] * dt * 1e-3
    if not mean <= POISSON_MAX_MEAN_PER_STEP:
        raise SpecError("J" if eta > 0 else "eta", J if eta > 0 else eta,
                        f"gives an external Poisson rate of {P['p_rate']:g} spikes/s per neuron "
                        f"(eta * V_th / (J * tau_m)), a mean of {mean:g} per step; the sampler "
                        f"supports at most {POISSON_MAX_MEAN_PER_STEP:g} (raise J or lower eta)")
    params = dict(P["neuron_params"])
    pops = [Population("E", "iaf_psc_delta", P["NE"], dict(params)),
            Population("I", "iaf_psc_delta", P["NI"], dict(params))]
    projs = []
    for tgt in ("E", "I"):
        projs.append(Projection("E", tgt, "fixed_indegree", weight=P["J_ex"], delay_ms=delay,
                                indegree=P["CE"]))
        projs.append(Projection("I", tgt, "fixed_indegree", weight=P["J_in"], delay_ms=delay,
                                indegree=P["CI"]))
    devices = [Device("poisson_generator", ["E", "I"], name="external",
                      params={"rate_Hz": P["p_rate"], "weight": P["J_ex"], "delay_ms": delay})]
    if record_spikes:
        devices.append(Device("spike_recorder", ["E", "I"], name="spikes",
                              n_per_population=n_record or None))
    if voltmeter:
        devices.append(Device("voltmeter", ["E", "I"], name="voltmeter",
                              n_per_population=voltmeter, params={"interval_ms": dt}))
    return Network(pops, projs, devices, dt_ms=dt, name="brunel")
