"""PyNN's standard cell types and StaticSynapse on distsim's NEST-named models.

Units are converted as PyNN's NEST backend does: capacitance nF -> pF, currents nA -> pA,
conductances uS -> nS (factor 1000); a membrane time constant of a conductance-based model
becomes NEST's g_L = cm / tau_m. Weights are converted by the projection (nA -> pA, uS -> nS;
mV for IF_curr_delta). ``distsim_model`` names the distsim model; ``variable_map`` and
``scale_factors`` convert recorded variables back to PyNN's units.
"""
import numpy as np
from pyNN.standardmodels import build_translations, cells, synapses

_LIF = (("v_rest", "E_L"), ("v_reset", "V_reset"), ("cm", "C_m", 1000.0), ("tau_refrac", "t_ref"),
        ("v_thresh", "V_th"), ("i_offset", "I_e", 1000.0))
_SYN_TAUS = (("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"))
_COND = (("tau_m", "g_L", "cm/tau_m*1000.0", "C_m/g_L"), ("e_rev_E", "E_ex"), ("e_rev_I", "E_in"))
_CURR_VARS = {"v": "V_m", "isyn_exc": "I_syn_ex", "isyn_inh": "I_syn_in"}
_CURR_SCALE = {"v": 1.0, "isyn_exc": 0.001, "isyn_inh": 0.001}  # pA -> nA
_COND_VARS = {"v": "V_m", "gsyn_exc": "g_ex", "gsyn_inh": "g_in"}
_COND_SCALE = {"v": 1.0, "gsyn_exc": 0.001, "gsyn_inh": 0.001}  # nS -> uS


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = build_translations(*_LIF, ("tau_m", "tau_m"), *_SYN_TAUS)
    distsim_model = "iaf_psc_exp"
    variable_map, scale_factors = _CURR_VARS, _CURR_SCALE
    weight_scale = 1000.0  # nA -> pA


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = build_translations(*_LIF, ("tau_m", "tau_m"), *_SYN_TAUS)
    distsim_model = "iaf_psc_alpha"
    variable_map, scale_factors = _CURR_VARS, _CURR_SCALE
    weight_scale = 1000.0


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = build_translations(*_LIF, ("tau_m", "tau_m"))
    distsim_model = "iaf_psc_delta"
    variable_map, scale_factors = {"v": "V_m"}, {"v": 1.0}
    weight_scale = 1.0  # weights are in mV


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = build_translations(*_LIF, *_COND, *_SYN_TAUS)
    distsim_model = "iaf_cond_exp"
    variable_map, scale_factors = _COND_VARS, _COND_SCALE
    weight_scale = 1000.0  # uS -> nS


class IF_cond_alpha(cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = build_translations(*_LIF, *_COND, *_SYN_TAUS)
    distsim_model = "iaf_cond_alpha"
    variable_map, scale_factors = _COND_VARS, _COND_SCALE
    weight_scale = 1000.0


class EIF_cond_exp_isfa_ista(cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = build_translations(
        *_LIF, *_COND, *_SYN_TAUS, ("v_spike", "V_peak"), ("a", "a", 1000.0), ("b", "b", 1000.0),
        ("delta_T", "Delta_T"), ("tau_w", "tau_w"))
    distsim_model = "aeif_cond_exp"
    variable_map = dict(_COND_VARS, w="w")
    scale_factors = dict(_COND_SCALE, w=0.001)  # pA -> nA
    weight_scale = 1000.0


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    """Independent Poisson trains (one rate for the whole population): parrot_neurons fed by
    a distsim poisson_generator."""
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = build_translations(
        ("rate", "rate_Hz"), ("start", "start_ms"), ("duration", "stop_ms", "start+duration", "stop_ms-start_ms"))
    distsim_model = "parrot_neuron"
    variable_map, scale_factors = {}, {}
    weight_scale = 1.0


class SpikeSourceArray(cells.SpikeSourceArray):
    """Given spike times: parrot_neurons fed by distsim spike_generators one step earlier (as
    pyNN.nest shifts by the device-to-parrot delay), so that the spikes leave at the times
    given."""
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = build_translations(("spike_times", "spike_times"))
    distsim_model = "parrot_neuron"
    variable_map, scale_factors = {}, {}
    weight_scale = 1.0


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        """The default delay: setup's min_delay (ms)."""
        from .simulator import state
        return state.min_delay


# ---------------------------------------------------------------- STDP (NEST's stdp_synapse)
def _A_minus_to_alpha(**p):
    """alpha = A_minus / A_plus (NEST's stdp_synapse scales depression by lambda alpha);
    with A_plus = 0 alpha has no effect and keeps A_minus (as pyNN.nest does)."""
    return p["A_minus"] if p["A_plus"] == 0 else p["A_minus"] / p["A_plus"]


def _alpha_to_A_minus(**p):
    return p["alpha"] if p["lambda"] == 0 else p["alpha"] * p["lambda"]


class STDPMechanism(synapses.STDPMechanism):
    """STDP on distsim's stdp_synapse (NEST 3.10's), as pyNN.nest maps it: SpikePairRule
    with an Additive, Multiplicative, AdditivePotentiationMultiplicativeDepression or Gutig
    weight dependence. The whole delay is dendritic (dendritic_delay_fraction = 1, as in
    NEST); w_min must be 0; the parameters are one value per projection (distsim shares
    them); tau_minus is set on the postsynaptic population."""
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                           ("dendritic_delay_fraction", "dendritic_delay_fraction"))

    def __init__(self, timing_dependence=None, weight_dependence=None, voltage_dependence=None,
                 dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        if dendritic_delay_fraction != 1:
            raise ValueError("distsim (as NEST) has dendritic delays only (dendritic_delay_fraction = 1)")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)

    def _build_translations(self):
        self.translations = dict(self.base_translations)  # a copy: PyNN's updates the class's
        for component in (self.timing_dependence, self.weight_dependence, self.voltage_dependence):
            if component:
                self.translations.update(component.translations)

    def _get_minimum_delay(self):
        from .simulator import state
        return state.min_delay

    def _native_values(self):
        out = {}
        for name, v in self.native_parameters.items():
            if name in ("weight", "delay"):
                continue
            if not v.is_homogeneous:
                raise NotImplementedError(f"distsim: STDP parameter {name} must be one value per projection")
            v.shape = (1,)
            out[name] = float(np.asarray(v.evaluate(simplify=True)).flat[0])
        return out

    def distsim_synapse(self, weight_scale, sign):
        """distsim's synapse table of this mechanism (Wmax in the target's weight unit, with
        the weights' sign)."""
        if self.model != "stdp_synapse":
            raise NotImplementedError(f"distsim has no {self.model}")
        p = self._native_values()
        return {"model": "stdp_synapse", "tau_plus": p["tau_plus"], "lambda": p["lambda"],
                "alpha": p["alpha"], "mu_plus": p["mu_plus"], "mu_minus": p["mu_minus"],
                "Wmax": p["Wmax"] * weight_scale * sign}

    def tau_minus(self):
        return self._native_values().get("tau_minus")


class _NoWmin:
    def __init__(self, w_min=0.0, w_max=1.0, **kw):
        if w_min != 0:
            raise ValueError("distsim (as NEST's stdp_synapse) has w_min = 0 only")
        super().__init__(w_min=w_min, w_max=w_max, **kw)


_WD = (("w_max", "Wmax"), ("w_min", "w_min_always_zero_in_NEST"))


class AdditiveWeightDependence(_NoWmin, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = build_translations(*_WD)
    possible_models = {"stdp_synapse"}
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 0.0}


class MultiplicativeWeightDependence(_NoWmin, synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = build_translations(*_WD)
    possible_models = {"stdp_synapse"}
    extra_parameters = {"mu_plus": 1.0, "mu_minus": 1.0}


class AdditivePotentiationMultiplicativeDepression(_NoWmin, synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = build_translations(*_WD)
    possible_models = {"stdp_synapse"}
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 1.0}


class GutigWeightDependence(_NoWmin, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = build_translations(*_WD, ("mu_plus", "mu_plus"), ("mu_minus", "mu_minus"))
    possible_models = {"stdp_synapse"}


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
                                      ("A_plus", "lambda"),
                                      ("A_minus", "alpha", _A_minus_to_alpha, _alpha_to_A_minus))
    possible_models = {"stdp_synapse"}
