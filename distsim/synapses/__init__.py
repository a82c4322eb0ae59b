"""Synapse models, by NEST name. A synapse model is ONE declaration file here (its
parameters with NEST names, defaults, units and checks; see base.SynapseModel); its weight
rule is a branch of the plastic delivery kernel (distsim.kernels.plastic), kept there so
numba's cache (keyed by distsim/kernels and distsim/models) sees it. Adding the class to
``SYNAPSES`` registers it.

A projection chooses its model in TOML or Python::

    synapse = { model = "stdp_synapse", tau_plus = 20.0, lambda = 0.01, Wmax = 100.0 }

Without ``synapse`` (or with ``model = "static_synapse"``) a projection is static: float32
weights in the shared synapse table.
"""
from ..spec.errors import SpecError, unknown_name
from .base import SynapseModel, SynParam
from .stdp_pl_synapse_hom import StdpPlSynapseHom
from .stdp_synapse import StdpSynapse
from .tsodyks2_synapse import Tsodyks2Synapse

SYNAPSES = {m.name: m for m in (StdpSynapse, StdpPlSynapseHom, Tsodyks2Synapse)}
STATIC = "static_synapse"

__all__ = ["SYNAPSES", "STATIC", "SynapseModel", "SynParam", "parse_synapse"]


def parse_synapse(field, raw):
    """A projection's ``synapse`` value -> None (static) or a dict ``{"model": name, <params>}``
    with every parameter checked and defaults filled in. Raises SpecError naming the field."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"model": raw}
    if not isinstance(raw, dict):
        raise SpecError(field, raw, "must be a table {model = \"stdp_synapse\", ...}")
    if "model" not in raw:
        raise SpecError(f"{field}.model", None, f"is required; one of {[STATIC] + sorted(SYNAPSES)}")
    name = raw["model"]
    if name == STATIC:
        if len(raw) > 1:
            extra = sorted(k for k in raw if k != "model")[0]
            raise SpecError(f"{field}.{extra}", raw[extra], "static_synapse has no parameters "
                                                             "(weight and delay_ms are the projection's)")
        return None
    if name not in SYNAPSES:
        raise unknown_name(f"{field}.model", name, [STATIC] + list(SYNAPSES), "synapse model")
    params = SYNAPSES[name].parse(field, {k: v for k, v in raw.items() if k != "model"})
    return {"model": name, **params}
