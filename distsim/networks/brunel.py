"""Brunel (2000) balanced random network of iaf_psc_delta neurons (seeds 000, 002).

Populations ``E`` (4*order) and ``I`` (order); fixed in-degrees CE = epsilon*NE from E (weight
J mV) and CI = epsilon*NI from I (weight -g*J mV), one delay; each neuron gets independent
Poisson input of rate eta*nu_th*CE with weight J. Parameters are derived in
``brunel_params.derive``.
"""
import math

from ..spec import Device, Network, Population, Projection, SpecError
from .brunel_params import derive


def brunel(order=2500, g=5.0, eta=2.0, J=0.1, delay=1.5, epsilon=0.1, V_reset=0.0, dt=0.1,
           record_spikes=True, n_record=0, voltmeter=0):
    """The Brunel network as a :class:`Network`.

    order: NI (int); g: relative inhibition; eta: external rate / threshold rate; J: weight (mV);
    delay: ms; n_record: record spikes of the first n neurons of each population (0 = all);
    voltmeter: record V_m of the first n neurons of each population every dt (0 = none).
    """
    if not (isinstance(order, int) and order >= 1):
        raise SpecError("order", order, "must be an integer >= 1")
    if not (isinstance(epsilon, (int, float)) and 0.0 < epsilon <= 1.0):
        raise SpecError("epsilon", epsilon, "must be in (0, 1]")
    for k, v in (("g", g), ("eta", eta), ("J", J), ("delay", delay), ("dt", dt)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)) or (k != "g" and v < 0) or (k in ("J", "delay", "dt") and v <= 0):
            raise SpecError(k, v, "must be a finite number > 0" if k in ("J", "delay", "dt") else "must be a finite number >= 0")
    P = derive(order=order, g=g, eta=eta, J=J, delay=delay, epsilon=epsilon, V_reset=V_reset)
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
