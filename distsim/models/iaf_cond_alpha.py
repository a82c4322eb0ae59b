"""iaf_cond_alpha: leaky integrate-and-fire neuron with alpha-shaped synaptic conductances
(NEST 3.10).

C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim,
d(dg_x)/dt = -dg_x / tau_syn_x, dg_x/dt = dg_x - g_x / tau_syn_x; a spike of weight w (nS)
adds w e / tau_syn_ex to dg_ex (w > 0) or -w e / tau_syn_in to dg_in (w < 0), so g_x peaks
at |w| after tau_syn_x. Integrated like NEST with adaptive RKF45 (absolute error 1e-3,
relative 0; distsim.kernels.rkf45). Per step: integrate, refractoriness (V held at V_reset
for t_ref) or threshold (V >= V_th: spike, V = V_reset), then the step's spikes.
"""
import numpy as np
from numba import njit

from ..kernels.cond import CTL_IAF_COND, iaf_cond_alpha_rhs, iaf_cond_alpha_step
from ..kernels.driver import params_at
from ..kernels.rkf45 import register_rhs
from .base import NeuronModel, Var
from .cond_common import IAF_COND_PARAMS, calibrate_cond, init_state_cond


@njit  # not cached itself: compiled into run_group, whose cache key covers every kernel and model source
def iaf_cond_alpha_block(n, S, P, shared, x, spk):
    """Advance the n iaf_cond_alpha neurons of a group by one step; spk[j] = 1 where neuron j
    fired. Conductance input (nS): x.rex + x.pex excitatory, -(x.rin + x.pin) inhibitory."""
    V, dg_ex, g_ex, dg_in, g_in = S.V, S.dg_ex, S.g_ex, S.dg_in, S.g_in
    refr, h, i0 = S.refr, S.h, S.i0
    rex, rin, pex, pin = x.rex, x.rin, x.pex, x.pin
    for j in range(n):
        p = params_at(P, 0 if shared else j)
        y, r, hj, spikes = iaf_cond_alpha_step((V[j], dg_ex[j], g_ex[j], dg_in[j], g_in[j]), refr[j], h[j],
                                               i0[j], rex[j] + pex[j], -(rin[j] + pin[j]), p, p.ref_steps,
                                               p.dt, CTL_IAF_COND)
        V[j], dg_ex[j], g_ex[j], dg_in[j], g_in[j] = y
        refr[j] = r
        h[j] = hj
        spk[j] = spikes


class IafCondAlpha(NeuronModel):
    """iaf_cond_alpha with NEST 3.10's defaults and parameter names (weights in nS)."""

    name = "iaf_cond_alpha"
    weight_unit = "nS"
    params = IAF_COND_PARAMS
    # h: the integrator's step size carried between steps (NEST's IntegrationStep_, ms)
    state = {"V": Var("mV", init="V_m"), "dg_ex": Var("nS/ms"), "g_ex": Var("nS"), "dg_in": Var("nS/ms"),
             "g_in": Var("nS"), "refr": Var("steps", np.int64, 0), "h": Var("ms"), "i0": Var("pA")}
    derived = ("ref_steps", "dt")
    recordables = {"V_m": "mV", "g_ex": "nS", "g_in": "nS"}
    record_from_state = {"V_m": "V", "g_ex": "g_ex", "g_in": "g_in"}
    block = iaf_cond_alpha_block

    calibrate = staticmethod(calibrate_cond)
    init_state = classmethod(init_state_cond)


register_rhs(IafCondAlpha.Params, iaf_cond_alpha_rhs)
