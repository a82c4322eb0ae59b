"""Spatially structured E-I ring network of Senk et al. (2020), as analysed in the NNMT paper
(Layer et al. 2022, Figs. 7 and 9; parameters of NNMT's ``Senk2020_network_params.yaml``).

``n_positions`` grid positions on a ring of length ``L`` (mm, periodic), ``e_per_position``
excitatory and one inhibitory ``iaf_psc_exp`` neuron at each. Every neuron draws K_E
excitatory and K_I inhibitory sources (fixed in-degree, multapses allowed, autapses not)
uniformly within a boxcar of half width ``width_E`` / ``width_I`` around itself, weights J
and -g J (pA), one delay. Two external Poisson inputs per neuron (one excitatory of weight
J, one inhibitory of weight -g J) have the rates that put every neuron at the working point
(``mu``, ``sigma``) of its free membrane potential (NNMT's
``external_rates_for_fixed_input``, computed in :func:`derive`).
"""
import numpy as np

from ..spec import Device, Network, Population, Projection, SpecError
from ..spec.declare import NetParam, check_args

#: the builder's arguments: what ``--set`` accepts and ``distsim models ring`` lists
PARAMS = {
    "n_positions": NetParam(1000, "positions", "int", lo=1, doc="grid positions on the ring"),
    "e_per_position": NetParam(4, "neurons", "int", lo=1, doc="excitatory neurons per position (1 inhibitory)"),
    "L": NetParam(1.0, "mm", lo=0.0, lo_strict=True, doc="ring length (periodic extent)"),
    "K_E": NetParam(400, "synapses", "int", lo=0, doc="excitatory in-degree"),
    "K_I": NetParam(100, "synapses", "int", lo=0, doc="inhibitory in-degree"),
    "J": NetParam(87.8, "pA", lo=0.0, lo_strict=True, doc="excitatory PSC amplitude (inhibitory: -g J)"),
    "g": NetParam(5.0, "", lo=0.0, doc="relative strength of inhibition"),
    "width_E": NetParam(0.2, "mm", lo=0.0, lo_strict=True, doc="half width of the excitatory boxcar profile"),
    "width_I": NetParam(0.07, "mm", lo=0.0, lo_strict=True, doc="half width of the inhibitory boxcar profile"),
    "delay": NetParam(1.5, "ms", lo=0.0, lo_strict=True, doc="synaptic delay (a multiple of dt)"),
    "mu": NetParam(10.0, "mV", doc="working point: mean free membrane potential (from E_L)"),
    "sigma": NetParam(10.0, "mV", lo=0.0, lo_strict=True, doc="working point: its standard deviation"),
    "dt": NetParam(0.1, "ms", lo=0.0, lo_strict=True, doc="resolution"),
    "record_spikes": NetParam(True, kind="bool", doc="record spikes of every neuron of E and I"),
}

#: NEST iaf_psc_exp parameters (NNMT Senk2020: V_0 = -65 mV reset = rest, V_th = -50 mV)
NEURON = {"C_m": 250.0, "tau_m": 5.0, "t_ref": 0.0, "E_L": -65.0, "V_reset": -65.0, "V_th": -50.0,
          "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "I_e": 0.0}


def derive(mu=10.0, sigma=10.0, K_E=400, K_I=100, J=87.8, g=5.0):
    """Working-point quantities of the ring: dict with ``rate`` (spikes/s of every neuron at
    (mu, sigma), the Siegert rate with the colored-noise shift), ``J_mV`` (excitatory and
    inhibitory charge-equivalent weights J tau_s / C_m, mV) and ``nu_ext`` (rates of the
    excitatory and inhibitory external Poisson inputs, spikes/s, one of each per neuron).
    Raises SpecError when no non-negative external rates give (mu, sigma)."""
    from ..meanfield.inputs import psc_to_mV
    from ..meanfield.siegert import siegert

    nu = float(siegert(mu, sigma, NEURON))
    Jm = psc_to_mV(np.array([J, -g * J]), NEURON["tau_syn_ex"], NEURON["C_m"])
    K = np.array([K_E, K_I], dtype=float)
    tau = NEURON["tau_m"] * 1e-3  # s: mu = tau sum K J nu
    # mu = tau (K.J nu + J_E x_E + J_I x_I), sigma^2 = tau (K.J^2 nu + J_E^2 x_E + J_I^2 x_I)
    A = tau * np.array([Jm, Jm ** 2])
    b = np.array([mu - tau * (K @ Jm) * nu, sigma ** 2 - tau * (K @ Jm ** 2) * nu])
    x = np.linalg.solve(A, b)
    if np.any(x < 0):
        raise SpecError("mu, sigma", (mu, sigma), f"need negative external rates {x.round(1).tolist()} spikes/s "
                                                  "with these weights; choose another working point")
    return {"rate": nu, "J_mV": Jm, "nu_ext": x}


def ring(n_positions=1000, e_per_position=4, L=1.0, K_E=400, K_I=100, J=87.8, g=5.0, width_E=0.2,
         width_I=0.07, delay=1.5, mu=10.0, sigma=10.0, dt=0.1, record_spikes=True):
    """The Senk et al. (2020) ring network as a :class:`Network` (lengths in mm, times in ms,
    currents in pA, potentials in mV). Ranges: see ``PARAMS``; raises SpecError naming
    the argument."""
    a = check_args(PARAMS, dict(n_positions=n_positions, e_per_position=e_per_position, L=L, K_E=K_E,
                                K_I=K_I, J=J, g=g, width_E=width_E, width_I=width_I, delay=delay, mu=mu,
                                sigma=sigma, dt=dt, record_spikes=record_spikes))
    for key in ("width_E", "width_I"):
        if a[key] > a["L"] / 2:
            raise SpecError(key, a[key], f"must be <= L/2 = {a['L'] / 2:g} mm (the profile would wrap the ring)")
    P = derive(a["mu"], a["sigma"], a["K_E"], a["K_I"], a["J"], a["g"])
    grid = {"kind": "grid", "shape": [a["n_positions"]], "extent": [a["L"]], "edge_wrap": True}
    v0 = {"dist": "uniform", "low": NEURON["V_reset"], "high": NEURON["V_th"]}
    pops = [Population("E", "iaf_psc_exp", a["n_positions"] * a["e_per_position"], dict(NEURON, V_m=v0),
                       positions=dict(grid, per_position=a["e_per_position"])),
            Population("I", "iaf_psc_exp", a["n_positions"], dict(NEURON, V_m=v0), positions=dict(grid))]
    w = {"E": a["J"], "I": -a["g"] * a["J"]}
    K = {"E": a["K_E"], "I": a["K_I"]}
    width = {"E": a["width_E"], "I": a["width_I"]}
    projs = [Projection(src, tgt, "fixed_indegree", weight=w[src], delay_ms=a["delay"], indegree=K[src],
                        allow_autapses=False, p={"profile": "boxcar", "width": width[src]})
             for tgt in ("E", "I") for src in ("E", "I")]
    devices = [Device("poisson_generator", ["E", "I"], name="external_E",
                      params={"rate_Hz": float(P["nu_ext"][0]), "weight": w["E"], "delay_ms": a["dt"]}),
               Device("poisson_generator", ["E", "I"], name="external_I",
                      params={"rate_Hz": float(P["nu_ext"][1]), "weight": w["I"], "delay_ms": a["dt"]})]
    if a["record_spikes"]:
        devices.append(Device("spike_recorder", ["E", "I"], name="spikes"))
    return Network(pops, projs, devices, dt_ms=a["dt"], name="ring",
                   reference_rates={"E": P["rate"], "I": P["rate"]})
