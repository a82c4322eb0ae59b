"""Potjans & Diesmann (2014) cortical microcircuit (seed 004), as in NEST's PyNEST example.

Eight ``iaf_psc_exp`` populations L23E L23I L4E L4I L5E L5I L6E L6I; every parameter comes
from ``microcircuit_params.derive`` (which reads ``microcircuit.toml``). Following
``pynest/examples/Potjans_2014/network.py``:

* recurrent projections ``fixed_total_number`` (autapses and multapses allowed) with the
  derived synapse totals; pairs with zero synapses are left out;
* weights ``redraw(normal(mean, |mean| * 0.1), min=0)`` for excitatory and ``max=0`` for
  inhibitory sources (pA);
* delays ``redraw(normal(mean, 0.5 * mean), min=dt - 0.5 * dt)`` (ms), so that the smallest
  delay rounds to one step;
* background: one ``poisson_generator`` per population with rate ``bg_rate * K_ext``
  (spikes/s), weight ``PSC_ext`` (pA), delay ``delay_poisson`` (1.5 ms); or, with
  ``poisson_input=False``, the equivalent DC as ``I_e`` (pA);
* ``K_scaling < 1``: weights divided by ``sqrt(K_scaling)`` and a compensating DC in ``I_e``.

Thalamic pulse (``thalamic=True``): NEST uses 902 ``parrot_neuron`` s fed by one
``poisson_generator`` (independent trains per parrot) and connects them with
``fixed_total_number`` to L4 and L6. Here the parrots are a population ``TC`` of 902
``iaf_psc_delta`` relay neurons (``E_L = V_reset = V_m = 0``, ``V_th = 1 mV``, ``t_ref = 0``)
driven by a ``poisson_generator`` of weight 2 mV: a relay fires in exactly the steps in which
its Poisson input has at least one event (spike stamp = arrival step + 1, as a parrot), with the
NEST default delay 1 ms from the generator. The only difference to a parrot is that two input
events in the same 0.1 ms step give one relay spike instead of a spike of multiplicity 2
(about 0.6 % of the thalamic spikes at 120 Hz). ``TC`` is not spike-recorded; the relays get
no other input, so they are silent outside the pulse and the mean-field ignores them.
Optional transient DC stimulus (``dc_stimulus=True``): ``dc_amp * K_ext`` pA from ``dc_start``
for ``dc_dur`` ms (``stimulus_params.py``), connected with NEST's default delay of 1 ms as in
the example (so it acts on the neurons 1 ms later).

Units: ms, mV, pA, pF, spikes/s.
"""
from ..spec import Device, Network, Population, Projection, SpecError
from ..spec.declare import NetParam, check_args
from .microcircuit_params import derive

#: name of the thalamic relay population (only present with ``thalamic=True``)
THALAMUS = "TC"
#: delay (ms) of the poisson_generator -> relay connection: NEST's default synapse delay
TC_INPUT_DELAY_MS = 1.0
#: delay (ms) of the dc_generator -> population connections: NEST's example connects them
#: with the default synapse delay too
DC_INPUT_DELAY_MS = 1.0


#: the builder's arguments: what ``--set`` accepts and ``distsim models microcircuit`` lists
PARAMS = {
    "N_scaling": NetParam(0.1, "", lo=0.0, lo_strict=True, doc="scale of the neuron numbers (1 = 77,169 neurons)"),
    "K_scaling": NetParam(1.0, "", lo=0.0, lo_strict=True,
                          doc="scale of the in-degrees (!= 1: weights / sqrt(K_scaling) plus compensating DC)"),
    "poisson_input": NetParam(True, kind="bool", doc="Poisson background (else the equivalent DC)"),
    "V0_type": NetParam("optimized", kind="choice", choices=("optimized", "original"),
                        doc="initial V_m: population specific (optimized) or one normal (original)"),
    "bg_rate": NetParam(8.0, "spikes/s", lo=0.0, doc="background rate per external input"),
    "thalamic": NetParam(False, kind="bool", doc="add the thalamic pulse (902 relay neurons TC)"),
    "th_start": NetParam(700.0, "ms", lo=0.0, doc="start of the thalamic pulse"),
    "th_duration": NetParam(10.0, "ms", lo=0.0, doc="duration of the thalamic pulse"),
    "th_rate": NetParam(120.0, "spikes/s", lo=0.0, doc="rate of each relay during the pulse"),
    "dc_stimulus": NetParam(False, kind="bool", doc="add NEST's optional transient DC stimulus"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of the eight populations"),
    "n_record": NetParam(0, "neurons", "int", lo=0, doc="record the first n of each population (0 = all)"),
    "voltmeter": NetParam(0, "neurons", "int", lo=0, doc="record V_m of the first n of each population (1 ms)"),
}


def microcircuit(N_scaling=0.1, K_scaling=1.0, poisson_input=True, V0_type="optimized",
                 bg_rate=8.0, thalamic=False, th_start=700.0, th_duration=10.0, th_rate=120.0,
                 dc_stimulus=False, dt=0.1, record_spikes=True, n_record=0, voltmeter=0):
    """The Potjans & Diesmann microcircuit as a :class:`Network` named ``"microcircuit"``.

    N_scaling, K_scaling: scale factors of neuron numbers and in-degrees (K_scaling != 1
    rescales weights by 1/sqrt(K_scaling) and adds a compensating DC);
    poisson_input: Poisson background (True) or equivalent DC (False);
    V0_type: "optimized" (population specific) or "original" initial V_m;
    bg_rate: background rate per external input (spikes/s);
    thalamic: add the thalamic pulse of th_rate (spikes/s) per relay, from th_start (ms) for
    th_duration (ms); dc_stimulus: add NEST's optional transient DC stimulus;
    dt: resolution (ms); n_record: record spikes of the first n neurons of each population
    (0 = all); voltmeter: record V_m of the first n neurons of each population (0 = none).
    Returns the Network (not yet validated); reference_rates are the seed's full-scale NEST
    rates (spikes/s).
    """
    check_args(PARAMS, dict(N_scaling=N_scaling, K_scaling=K_scaling, poisson_input=poisson_input,
                            V0_type=V0_type, bg_rate=bg_rate, thalamic=thalamic, th_start=th_start,
                            th_duration=th_duration, th_rate=th_rate, dc_stimulus=dc_stimulus, dt=dt,
                            record_spikes=record_spikes, n_record=n_record, voltmeter=voltmeter))

    P = derive(N_scaling=N_scaling, K_scaling=K_scaling, poisson_input=poisson_input,
               V0_type=V0_type, overrides={"bg_rate": float(bg_rate)})
    names = P["populations"]
    for name, n, nf in zip(names, P["num_neurons"], P["full_num_neurons"]):
        if n < 1:
            raise SpecError("N_scaling", N_scaling,
                            f"gives {n} neurons in {name} (full size {nf}); must give >= 1")

    pops = []
    for i, name in enumerate(names):
        params = dict(P["neuron_params"])
        params["I_e"] = float(P["DC_amp"][i])
        params["V_m"] = {"dist": "normal", "mean": float(P["V0_mean"][i]),
                         "std": float(P["V0_std"][i])}
        pops.append(Population(name, P["neuron_model"], int(P["num_neurons"][i]), params))

    d_min = dt - 0.5 * dt  # NEST: redraw(..., min=resolution - 0.5 * resolution)
    projs = []
    for i, tgt in enumerate(names):
        for j, src in enumerate(names):
            n_syn = int(P["num_synapses"][i, j])
            if n_syn <= 0:
                continue
            projs.append(Projection(
                src, tgt, "fixed_total_number", n_total=n_syn,
                weight=_weight(float(P["weight_matrix_mean"][i, j]), P["weight_rel_std"]),
                delay_ms=_delay(float(P["delay_matrix_mean"][i, j]),
                                float(P["delay_matrix_std"][i, j]), d_min),
                allow_autapses=True, allow_multapses=True))

    devices = []
    if poisson_input:
        for i, name in enumerate(names):
            devices.append(Device("poisson_generator", [name], name=f"background_{name}",
                                  params={"rate_Hz": float(P["poisson_rates"][i]),
                                          "weight": float(P["weight_ext"]),
                                          "delay_ms": float(P["delay_poisson"])}))
    if dc_stimulus:
        s = P["dc_stimulus"]
        for i, name in enumerate(names):
            devices.append(Device("dc_generator", [name], name=f"dc_stimulus_{name}",
                                  params={"amplitude_pA": float(s["dc_amp"][i]),
                                          "start_ms": s["dc_start"],
                                          "stop_ms": s["dc_start"] + s["dc_dur"],
                                          "delay_ms": DC_INPUT_DELAY_MS}))
    if thalamic:
        th = P["thalamus"]
        pops.append(Population(THALAMUS, "iaf_psc_delta", th["num_th_neurons"],
                               {"E_L": 0.0, "V_reset": 0.0, "V_m": 0.0, "V_th": 1.0,
                                "t_ref": 0.0, "C_m": 250.0, "tau_m": 10.0, "I_e": 0.0}))
        devices.append(Device("poisson_generator", [THALAMUS], name="thalamic_drive",
                              params={"rate_Hz": float(th_rate), "weight": 2.0,
                                      "delay_ms": TC_INPUT_DELAY_MS, "start_ms": float(th_start),
                                      "stop_ms": float(th_start + th_duration)}))
        for i, tgt in enumerate(names):
            n_syn = int(th["num_th_synapses"][i])
            if n_syn <= 0:
                continue
            projs.append(Projection(
                THALAMUS, tgt, "fixed_total_number", n_total=n_syn,
                weight={"dist": "normal", "mean": th["weight_th"], "std": th["weight_th_std"],
                        "min": 0.0},
                delay_ms=_delay(th["delay_th_mean"], th["delay_th_std"], d_min),
                allow_autapses=True, allow_multapses=True))

    if record_spikes:
        devices.append(Device("spike_recorder", list(names), name="spikes",
                              n_per_population=n_record or None))
    if voltmeter:
        interval = dt * max(1, round(1.0 / dt))  # NEST's rec_V_int = 1 ms, on the dt grid
        devices.append(Device("voltmeter", list(names), name="voltmeter",
                              n_per_population=voltmeter, params={"interval_ms": interval}))
    ref = {name: float(r) for name, r in zip(names, P["full_mean_rates"])}
    return Network(pops, projs, devices, dt_ms=dt, name="microcircuit", reference_rates=ref)


def _weight(mean, rel_std):
    """Weight spec (pA): normal(mean, |mean| rel_std) redrawn to keep the sign of ``mean``."""
    std = abs(mean) * rel_std
    if mean >= 0:
        return {"dist": "normal", "mean": mean, "std": std, "min": 0.0}
    return {"dist": "normal", "mean": mean, "std": std, "max": 0.0}


def _delay(mean, std, d_min):
    """Delay spec (ms): normal(mean, std) redrawn below ``d_min``."""
    return {"dist": "normal", "mean": mean, "std": std, "min": d_min}
