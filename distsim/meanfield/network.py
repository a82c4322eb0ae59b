r"""Mean-field parameters from a distsim :class:`~distsim.spec.Network`.

:func:`params_from_network` turns the same network description the spiking engine builds
into the parameter dict :func:`distsim.meanfield.firing_rates` (and the linear-response
functions) accept, so that mean-field and simulation cannot drift apart.

Per pair (target i, source j) of populations, every projection contributes its mean in-degree
``K`` and the mean ``J`` of its weight distribution (in mV-equivalents: ``w tau_syn / C_m``
for ``iaf_psc_exp``, ``w`` for ``iaf_psc_delta``):

==================== ==========================================
rule                 K
==================== ==========================================
fixed_indegree       ``indegree``
fixed_total_number   ``n_total / N_target``
pairwise_bernoulli   ``p * N_source`` (``p * (N - 1)`` without autapses)
all_to_all           ``N_source`` (``N - 1`` without autapses)
one_to_one           ``1`` (``0`` without autapses on a self-projection)
==================== ==========================================

Several projections between the same pair, and all stationary external Poisson inputs of a
population, are merged into one equivalent input with the same mean and variance of the
membrane drive (``K J = sum K_k J_k``, ``K J^2 = sum K_k J_k^2``) -- exact for the diffusion
approximation. External input is then expressed with ``nu_ext = 1`` spikes/s, i.e. ``K_ext``
is the total external event rate (spikes/s) of one neuron.

Stationary inputs only: ``poisson_generator`` and ``dc_generator`` without a finite
``stop_ms``, and the last amplitude of a ``step_current_generator``; ``spike_generator``\ s and
transient generators are ignored. Populations that receive no stationary input at all (no DC,
no stationary Poisson input, no projection from a driven population, e.g. the thalamic relays
of the microcircuit) fire at 0 spikes/s in the stationary state; they are left out of the
mean-field system and listed under ``silent_populations``.

Limitations (of the dict forms ``network_arrays`` reads): the driven populations must share
one model and its neuron parameters (``I_e`` may differ for ``iaf_psc_exp``); for
``iaf_psc_delta`` the total DC and the equivalent external weight must also be the same in
every population, and delays enter as fixed (their mean).

Units: ms, mV, pA, pF, spikes/s.
"""
from __future__ import annotations

import math

import numpy as np

from ..spec import SpecError, validate
from ..spec.values import parse_value

#: neuron parameters that must agree across the populations of one mean-field system
_SHARED = {"iaf_psc_exp": ("C_m", "tau_m", "t_ref", "E_L", "V_th", "V_reset", "tau_syn_ex", "tau_syn_in"),
           "iaf_psc_delta": ("C_m", "tau_m", "t_ref", "E_L", "V_th", "V_reset")}


def _param(pop, model, key):
    """Mean value of a population parameter (NEST default where not given), model units."""
    v = pop.params.get(key)
    if v is None:
        return float(model.params[key].default)
    return float(parse_value(f"populations[{pop.name}].params.{key}", v).mean())


def _std(v):
    """Standard deviation of a Value (untruncated for normal), in its unit."""
    if v.kind == 1:
        return float(v.b)
    if v.kind == 2:
        return float(v.b - v.a) / math.sqrt(12.0)
    return 0.0


def _indegree(pr, n_src, n_tgt):
    """Mean number of synapses a target neuron receives from ``pr`` (dimensionless)."""
    self_proj = pr.source == pr.target
    if pr.rule == "fixed_indegree":
        return float(pr.indegree)
    if pr.rule == "fixed_total_number":
        return pr.n_total / n_tgt
    avail = n_src - (1 if self_proj and not pr.allow_autapses else 0)
    if pr.rule == "pairwise_bernoulli":
        return pr.p * avail
    if pr.rule == "all_to_all":
        return float(avail)
    if pr.rule == "one_to_one":
        return 0.0 if self_proj and not pr.allow_autapses else 1.0
    raise SpecError("projection.rule", pr.rule, "not supported by the mean-field")


def _merge(terms, field):
    """(K, J) of one input equivalent to ``terms`` [(K_k, J_k)] in mean and variance.

    K dimensionless, J in mV; returns (0, 0) for no input. Raises SpecError when the inputs
    cancel in the mean but not in the variance (not representable by one input).
    """
    terms = [(k, j) for k, j in terms if k != 0.0 and j != 0.0]
    if not terms:
        return 0.0, 0.0
    if len(terms) == 1:
        return terms[0]
    m1 = sum(k * j for k, j in terms)
    m2 = sum(k * j * j for k, j in terms)
    if m1 == 0.0:
        raise SpecError(field, terms, "excitatory and inhibitory inputs cancel in the mean; "
                                      "the mean-field dict cannot represent them as one input")
    return m1 * m1 / m2, m2 / m1


def _covers_population(dv, pop_n):
    """True when a device reaches every neuron of its target populations."""
    if dv.neuron_ids is not None:
        return len(dv.neuron_ids) == pop_n
    return dv.n_per_population is None or dv.n_per_population >= pop_n


def params_from_network(net) -> dict:
    """Return the mean-field parameter dict of ``net`` (validated here, in place).

    For ``iaf_psc_exp`` populations the dict has the form of ``microcircuit_params.derive()``
    (weights in pA), for ``iaf_psc_delta`` that of ``brunel_params.derive()`` (weights in mV);
    both are accepted by ``firing_rates``, ``working_point``, ``power_spectra`` etc. Rates in
    spikes/s, delays in ms, DC in pA. Extra keys: ``name``, ``model``,
    ``silent_populations`` (left out, 0 spikes/s), ``reference_rates``. Raises SpecError for
    networks outside the limitations in the module docstring.
    """
    from ..models import MODELS

    validate(net)
    sizes = {p.name: p.n for p in net.populations}
    for p in net.populations:
        if p.model not in _SHARED:
            raise SpecError(f"populations[{p.name}].model", p.model,
                            f"the mean-field supports {', '.join(_SHARED)}")

    # stationary external input and DC per population
    ext = {p.name: [] for p in net.populations}  # (rate spikes/s, weight model unit)
    dc = {p.name: _param(p, MODELS[p.model], "I_e") for p in net.populations}
    from ..devices import DEVICES
    for i, dv in enumerate(net.devices):
        inp = DEVICES[dv.type].meanfield(dv.params)  # ("poisson", rate, w), ("dc", pA) or None
        if inp is None:
            continue
        for t in dv.targets:
            if not _covers_population(dv, sizes[t]):
                raise SpecError(f"devices[{i}]({dv.type}).targets", t,
                                "the mean-field needs stationary stimulators on whole populations")
            if inp[0] == "poisson":
                ext[t].append((inp[1], inp[2]))
            else:
                dc[t] += inp[1]

    # driven populations: DC, stationary Poisson input, or input from a driven population
    driven = {p for p in sizes if dc[p] != 0.0 or any(r * w != 0.0 for r, w in ext[p])}
    changed = True
    while changed:
        changed = False
        for pr in net.projections:
            if pr.source in driven and pr.target not in driven and \
                    _indegree(pr, sizes[pr.source], sizes[pr.target]) > 0 and pr.weight.mean() != 0.0:
                driven.add(pr.target)
                changed = True
    pops = [p for p in net.populations if p.name in driven]
    silent = [p.name for p in net.populations if p.name not in driven]
    if not pops:
        raise SpecError("network", net.name, "no population receives stationary input")
    models = {p.model for p in pops}
    if len(models) > 1:
        raise SpecError("populations.model", sorted(models),
                        "the mean-field needs one neuron model for all driven populations")
    model_name = pops[0].model
    model = MODELS[model_name]
    shared = {}
    for key in _SHARED[model_name]:
        vals = {p.name: _param(p, model, key) for p in pops}
        if len(set(vals.values())) > 1:
            raise SpecError(f"populations.params.{key}", vals,
                            "the mean-field needs the same value in all driven populations")
        shared[key] = next(iter(vals.values()))
    C_m = shared["C_m"]
    exp = model_name == "iaf_psc_exp"

    def to_mV(w):
        """Charge-equivalent PSP (mV) of weight w (model unit)."""
        if not exp:
            return w
        return w * (shared["tau_syn_ex"] if w >= 0 else shared["tau_syn_in"]) / C_m

    def from_mV(J):
        """Model-unit weight of a charge-equivalent PSP J (mV)."""
        if not exp:
            return J
        return J * C_m / (shared["tau_syn_ex"] if J >= 0 else shared["tau_syn_in"])

    names = [p.name for p in pops]
    idx = {n: k for k, n in enumerate(names)}
    n = len(names)
    terms = [[[] for _ in range(n)] for _ in range(n)]
    delays = [[[] for _ in range(n)] for _ in range(n)]  # (K |J|, mean, std)
    for pr in net.projections:
        if pr.source not in idx or pr.target not in idx:
            continue
        i, j = idx[pr.target], idx[pr.source]
        K = _indegree(pr, sizes[pr.source], sizes[pr.target])
        J = to_mV(pr.weight.mean())
        terms[i][j].append((K, J))
        delays[i][j].append((K * abs(J), pr.delay_ms.mean(), _std(pr.delay_ms)))
    Kmat, Jmat = np.zeros((n, n)), np.zeros((n, n))
    d_mean, d_std = np.full((n, n), float(net.dt_ms)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            Kmat[i, j], Jmat[i, j] = _merge(terms[i][j], f"projections({names[j]}->{names[i]})")
            if delays[i][j]:
                wts = np.array([x[0] for x in delays[i][j]])
                wts = wts / wts.sum() if wts.sum() > 0 else np.full(wts.size, 1.0 / wts.size)
                d_mean[i, j] = float(np.dot(wts, [x[1] for x in delays[i][j]]))
                d_std[i, j] = float(np.dot(wts, [x[2] for x in delays[i][j]]))

    # external input as K_ext inputs of nu_ext = 1 spikes/s and weight J_ext (mV)
    K_ext, J_ext = np.zeros(n), np.zeros(n)
    for name in names:
        K_ext[idx[name]], J_ext[idx[name]] = _merge([(r, to_mV(w)) for r, w in ext[name]],
                                                    f"devices(poisson_generator -> {name})")
    I_e = np.array([dc[name] for name in names])
    N = np.array([sizes[name] for name in names])
    out = {"name": net.name, "model": model_name, "populations": names, "num_pops": n,
           "num_neurons": N, "silent_populations": silent,
           "reference_rates": dict(net.reference_rates or {})}
    neuron_params = dict(shared)
    if exp:
        W = np.vectorize(from_mV, otypes=[float])(Jmat) if n else Jmat
        w_ext = J_ext * C_m / shared["tau_syn_ex"]  # network_arrays converts with tau_syn_ex
        out.update({
            "neuron_params": neuron_params, "indegrees": Kmat, "weight_matrix_mean": W,
            "poisson_input": True, "K_ext": K_ext, "weight_ext": w_ext, "bg_rate": 1.0,
            "DC_amp": I_e, "delay_matrix_mean": d_mean, "delay_matrix_std": d_std,
        })
        return out
    # iaf_psc_delta (brunel_params.derive form): one DC and one external weight
    if np.ptp(I_e) != 0.0:
        raise SpecError("populations.params.I_e", dict(zip(names, I_e.tolist())),
                        "iaf_psc_delta mean-field needs the same DC (I_e + dc_generator) everywhere")
    has_ext = K_ext > 0
    J_e = J_ext[has_ext]
    if J_e.size and np.ptp(J_e) > 1e-12 * np.max(np.abs(J_e)):
        raise SpecError("devices(poisson_generator).weight", dict(zip(names, J_ext.tolist())),
                        "iaf_psc_delta mean-field needs one equivalent external weight (mV) "
                        "for all populations")
    neuron_params["I_e"] = float(I_e[0])
    out.update({
        "neuron_params": neuron_params, "CE": None, "K": Kmat, "J": Jmat,
        "K_ext": K_ext, "J_ext": float(J_e[0]) if J_e.size else 0.0, "nu_ext": 1.0,
        "delay_matrix": d_mean,
    })
    return out
