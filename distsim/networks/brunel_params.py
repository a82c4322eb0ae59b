"""Brunel (2000) balanced random network: derived parameters.

Model (seed 000/002, NEST's brunel_delta_nest / siegert_neuron examples):
``NE = 4*order`` excitatory and ``NI = order`` inhibitory ``iaf_psc_delta``
neurons, fixed in-degrees ``CE = int(epsilon*NE)``, ``CI = int(epsilon*NI)``,
weights ``J`` (mV) from E and ``-g*J`` from I, one delay ``delay`` (ms), and
per neuron independent Poisson input of rate
``p_rate = 1000 * eta * nu_th * CE`` spikes/s with weight ``J``, where
``nu_th = V_th / (J * CE * tau_m)`` (spikes/ms) is the external rate per input
that brings the mean free membrane potential to threshold.

Units: ms, mV, pF, spikes/s.  Pure numpy.
"""

from __future__ import annotations

import numpy as np

#: The four regimes of Brunel 2000, Fig. 8, as (g, eta).
REGIMES = {"SR": (3.0, 2.0), "SI-fast": (6.0, 4.0), "AI": (5.0, 2.0), "SI-slow": (4.5, 0.9)}


def derive(
    order: int = 2500,
    g: float = 5.0,
    eta: float = 2.0,
    J: float = 0.1,
    delay: float = 1.5,
    epsilon: float = 0.1,
    V_reset: float = 0.0,
) -> dict:
    """Return the Brunel network parameters as a dict.

    Keys (units in brackets): populations ``["E", "I"]``; NE, NI, CE, CI
    (ints); J_ex, J_in [mV]; g, eta, epsilon; delay [ms];
    nu_th [spikes/ms per external input], nu_ex [spikes/ms per external input],
    p_rate [spikes/s, rate of each neuron's Poisson generator];
    neuron_params (NEST iaf_psc_delta names: C_m [pF], tau_m [ms], t_ref [ms],
    E_L, V_th, V_reset, V_m [mV], I_e [pA]);
    mean-field arrays (targets x sources): num_neurons (2,), K (2x2 in-degrees),
    J (2x2 weights [mV]), K_ext (2,) = CE inputs per neuron of rate
    nu_ext = 1000*nu_ex [spikes/s] and weight J_ext [mV];
    regimes: the Brunel 2000 Fig. 8 (g, eta) pairs.
    """
    NE = 4 * int(order)
    NI = int(order)
    CE = int(epsilon * NE)
    CI = int(epsilon * NI)
    neuron_params = {
        "C_m": 1.0,
        "tau_m": 20.0,
        "t_ref": 2.0,
        "E_L": 0.0,
        "V_th": 20.0,
        "V_reset": float(V_reset),
        "V_m": 0.0,
        "I_e": 0.0,
    }
    J_ex = float(J)
    J_in = -float(g) * J_ex
    nu_th = neuron_params["V_th"] / (J_ex * CE * neuron_params["tau_m"])
    nu_ex = eta * nu_th
    p_rate = 1000.0 * nu_ex * CE
    return {
        "populations": ["E", "I"],
        "order": int(order),
        "NE": NE,
        "NI": NI,
        "CE": CE,
        "CI": CI,
        "g": float(g),
        "eta": float(eta),
        "epsilon": float(epsilon),
        "J_ex": J_ex,
        "J_in": J_in,
        "delay": float(delay),
        "nu_th": nu_th,
        "nu_ex": nu_ex,
        "p_rate": p_rate,
        "neuron_params": neuron_params,
        "num_neurons": np.array([NE, NI]),
        "K": np.array([[CE, CI], [CE, CI]], dtype=float),
        "J": np.array([[J_ex, J_in], [J_ex, J_in]], dtype=float),
        "delay_matrix": np.full((2, 2), float(delay)),
        "K_ext": np.array([CE, CE], dtype=float),
        "J_ext": J_ex,
        "nu_ext": 1000.0 * nu_ex,
        "regimes": dict(REGIMES),
    }
