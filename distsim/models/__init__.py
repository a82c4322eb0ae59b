"""Neuron models, by NEST name."""
from .iaf_psc_delta import IafPscDelta
from .iaf_psc_exp import IafPscExp

MODELS = {m.name: m for m in (IafPscDelta, IafPscExp)}
