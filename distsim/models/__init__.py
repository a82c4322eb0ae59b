"""Neuron models, by NEST name. A model is ONE file here (plus its kernel module if it keeps
the numba code apart); adding the class to ``MODELS`` below is its registration.

How a model file declares itself (see iaf_psc_alpha.py for a complete small example):

    class IafPscAlpha(NeuronModel):              # distsim.models.base.NeuronModel
        name = "iaf_psc_alpha"                   # the NEST name (TOML, --set, errors)
        weight_unit = "pA"
        params = {"C_m": Param(250.0, "pF", "positive"), ...}   # NEST names, units, checks
        # optional: list_params (ListParam), list_pairs, bool_params, relations + check_relations
        state = {"V": Var("mV", init="V_m"), "refr": Var("steps", np.int64, 0), ...}
        # state names are the checkpoint's dataset names; Var(width="q_sfa") makes a 2-D
        # [neuron, component] variable; override init_state() for anything else
        recordables = {"V_m": "mV", "I_syn_ex": "pA"}           # NEST name -> unit
        record_from_state = {"V_m": "V", "I_syn_ex": "I_syn_ex"}  # 1-D float64 state arrays
        current_input = "i0"      # state variable dc/step generators write (pA, next step on)
        derived = ("P22", ...)    # what calibrate() returns, in kernel order
        neuron = my_neuron        # @njit(inline="always", cache=True) neuron(j, S, p, x)
        # or: block = my_block    # @njit(cache=True) block(n, S, P, shared, x, spk)

        @staticmethod
        def calibrate(p, dt):     # parameter arrays (per neuron or length 1) -> derived arrays
            return {"P22": libm.exp(-dt / p["tau_m"]), ...}  # kernels.libm, not np.exp

``neuron(j, S, p, x)`` advances neuron j by one step and returns its spike multiplicity
(0/1, or a population node's spike count): ``S`` is the state (named tuple of arrays, write
``S.V[j]``), ``p`` its parameters and derived constants by name (``p.tau_m``, ``p.P22``),
``x`` the step input (``x.s`` step, ``x.rex``/``x.rin`` network input, ``x.pex``/``x.pin``
Poisson input: read only; ``x.keys[j]`` its random stream). The generic driver
(``distsim.kernels.driver``) does the rest: Poisson drive, input rows, current input,
spike output, recording, hoisting shared parameters. Refractoriness is the model's own
state (a ``refr`` counter in steps, as NEST: what happens to V and to input while
refractory differs between NEST models). Use ``block`` for updates with branches or inner
loops (an ODE solver, adaptation components), binding every array before the loop over
neurons (see the driver's docstring for why)::

    @njit(cache=True)
    def my_block(n, S, P, shared, x, spk):
        V, g_ex, rex, pex = S.V, S.g_ex, x.rex, x.pex      # arrays: bind once, here
        tau, E_ex = P.tau_syn_ex, P.E_ex                   # parameter arrays (length 1 if shared)
        for j in range(n):
            k = 0 if shared else j
            ...                                            # V[j], tau[k], rex[j] + pex[j]
            spk[j] = 1 if fired else 0

The class statement builds the kernel's named tuple types and registers the function with
the driver; nothing else is needed. The engine shares the group's state arrays with the
kernel arguments: change them in place (``arr[...] = ...``), never rebind them. Numba's
cache of the driver is keyed by the sources of distsim/models and distsim/kernels, so an
edited model recompiles; put a model's numba helpers in one of those two directories.
"""
from .aeif_cond_exp import AeifCondExp
from .gif_pop_psc_exp import GifPopPscExp
from .gif_psc_exp import GifPscExp
from .hh_psc_alpha import HhPscAlpha
from .iaf_cond_alpha import IafCondAlpha
from .iaf_cond_exp import IafCondExp
from .iaf_psc_alpha import IafPscAlpha
from .iaf_psc_delta import IafPscDelta
from .iaf_psc_exp import IafPscExp
from .parrot_neuron import ParrotNeuron

MODELS = {m.name: m for m in (IafPscDelta, IafPscExp, IafPscAlpha, GifPscExp, GifPopPscExp, IafCondExp,
                              IafCondAlpha, AeifCondExp, HhPscAlpha, ParrotNeuron)}
