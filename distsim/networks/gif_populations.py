"""The two-population GIF network of seed 001 (NEST example gif_pop_psc_exp; Schwalger et al.
2017): 800 excitatory and 200 inhibitory GIF neurons with threshold adaptation, a step of the
input current at 1500 ms, dt = 0.5 ms.

Three forms: ``micro`` builds N GIF neurons per population (gif_psc_exp, fixed in-degrees
pconn N, as the seed); ``meso`` one gif_pop_psc_exp node per population standing for its N
neurons (weights scaled by the connection probability, as the seed does); ``micro_dense``
GIF neurons connected all-to-all with weights scaled by pconn, the network the mesoscopic
equations describe exactly (every neuron sees the same input, the population's spike
count), without the quenched randomness of the sparse network. Parameter values and unit
conversions are the seed's.
"""
import numpy as np

from ..spec import Device, Network, Population, Projection
from ..spec.declare import NetParam, check_args

NAMES = ("E", "I")

#: the builder's arguments: what ``--set`` accepts and ``distsim models gif_populations`` lists
PARAMS = {
    "form": NetParam("meso", kind="choice", choices=("meso", "micro", "micro_dense"),
                     doc="population nodes (meso), sparse GIF neurons (micro) or all-to-all GIF neurons"),
    "size": NetParam(200, "neurons", "int", lo=1, doc="N_I; N_E = 4 size"),
    "t_step": NetParam(1500.0, "ms", lo=0.0, lo_strict=True, doc="time of the input step"),
    "step_mV": NetParam(20.0, "mV", doc="height of the input step (times g_L gives pA)"),
    "dt": NetParam(0.5, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_interval": NetParam(1.0, "ms", lo=0.0, lo_strict=True, doc="multimeter/voltmeter interval"),
    "binomial": NetParam(True, kind="bool", doc="meso nodes draw binomial (else Poisson) spike numbers"),
    "adaptation": NetParam(1.0, "", lo=0.0, doc="factor on the threshold adaptation q_sfa"),
    "n_voltmeter": NetParam(0, "neurons", "int", lo=0, doc="micro forms: record V_m of the first n E neurons"),
}


def seed_parameters(size=200):
    """The seed's parameters as a dict (times ms, potentials mV, rates 1/s)."""
    N = np.array([4, 1]) * size
    pconn = 0.2
    J, g = 0.3, 5.0
    C0 = np.array([[800, 200], [800, 200]]) * 0.2
    C = np.vstack((N, N)) * pconn
    return {
        "N": N, "t_ref": 4.0, "tau_m": 20.0, "mu": 24.0, "c": 10.0, "Delta_u": 2.5,
        "V_reset": 0.0, "V_th": 15.0, "tau_sfa": [100.0, 1000.0], "J_sfa": [1000.0, 1000.0],
        "pconn": pconn, "delay": 1.0, "J_syn": np.array([[J, -g * J], [J, -g * J]]) * C0 / C,
        "tau_ex": 3.0, "tau_in": 6.0, "step_mV": 20.0, "t_step": 1500.0, "C_m": 250.0,
    }


def gif_populations(form="meso", size=200, t_step=1500.0, step_mV=20.0, dt=0.5,
                    record_interval=1.0, binomial=True, adaptation=1.0, n_voltmeter=0):
    """The seed's network as a :class:`Network`.

    form: "meso" (one gif_pop_psc_exp node per population), "micro" (gif_psc_exp neurons,
    fixed in-degree) or "micro_dense" (gif_psc_exp neurons, all-to-all, weights x pconn);
    size: N_I (N_E = 4 size); t_step (ms) and step_mV: the step of the input (mV, times
    g_L gives pA); record_interval (ms): multimeter interval of the meso nodes (n_events,
    mean); binomial: the meso nodes draw binomial (else Poisson) spike numbers.
    n_voltmeter: micro forms record V_m of the first n E neurons every record_interval.
    Spikes of every population are recorded (a meso node's record has its spike number).
    """
    check_args(PARAMS, dict(form=form, size=size, t_step=t_step, step_mV=step_mV, dt=dt,
                            record_interval=record_interval, binomial=binomial,
                            adaptation=adaptation, n_voltmeter=n_voltmeter))
    P = seed_parameters(size)
    C_m, tau_m = P["C_m"], P["tau_m"]
    g_L = C_m / tau_m  # nS
    q_sfa = [adaptation * j / t for j, t in zip(P["J_sfa"], P["tau_sfa"])]  # mV*ms -> mV
    common = {"C_m": C_m, "I_e": P["mu"] * g_L, "lambda_0": P["c"], "Delta_V": P["Delta_u"],
              "tau_sfa": list(P["tau_sfa"]), "q_sfa": q_sfa, "V_T_star": P["V_th"],
              "V_reset": P["V_reset"], "t_ref": P["t_ref"], "tau_syn_ex": max(P["tau_ex"], dt),
              "tau_syn_in": max(P["tau_in"], dt), "E_L": 0.0}
    g_syn = np.array([C_m / P["tau_ex"], C_m / P["tau_in"]])  # by source population
    pops, projs = [], []
    for i, name in enumerate(NAMES):
        prm = dict(common)
        if form == "meso":
            prm.update({"tau_m": tau_m, "N": int(P["N"][i]), "len_kernel": -1, "BinoRand": bool(binomial)})
            pops.append(Population(name, "gif_pop_psc_exp", 1, prm))
        else:
            prm.update({"g_L": g_L, "V_m": 0.0})
            pops.append(Population(name, "gif_psc_exp", int(P["N"][i]), prm))
    for i, tgt in enumerate(NAMES):
        for j, src in enumerate(NAMES):
            w = float(P["J_syn"][i, j] * g_syn[j])
            if form in ("meso", "micro_dense"):
                projs.append(Projection(src, tgt, "all_to_all", weight=w * P["pconn"], delay_ms=P["delay"]))
            else:
                projs.append(Projection(src, tgt, "fixed_indegree", weight=w, delay_ms=P["delay"],
                                        indegree=int(P["pconn"] * P["N"][j])))
    devices = []
    for i, name in enumerate(NAMES):
        # the seed's step_current_generator: 0 from dt on, step_mV * g_L from t_step on
        devices.append(Device("step_current_generator", [name], name=f"step_{name}",
                              params={"amplitude_times_ms": [dt, float(t_step)],
                                      "amplitude_values_pA": [0.0, step_mV * g_L]}))
    devices.append(Device("spike_recorder", list(NAMES), name="spikes"))
    if form == "meso":
        devices.append(Device("multimeter", list(NAMES), name="mm",
                              params={"interval_ms": record_interval, "record_from": ["n_events", "mean"]}))
    elif n_voltmeter:
        devices.append(Device("voltmeter", ["E"], name="vm", n_per_population=int(n_voltmeter),
                              params={"interval_ms": record_interval}))
    return Network(pops, projs, devices, dt_ms=dt, name=f"gif_populations_{form}")
