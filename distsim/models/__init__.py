"""Neuron models, by NEST name."""
from .gif_pop_psc_exp import GifPopPscExp
from .gif_psc_exp import GifPscExp
from .iaf_psc_delta import IafPscDelta
from .iaf_psc_exp import IafPscExp

MODELS = {m.name: m for m in (IafPscDelta, IafPscExp, GifPscExp, GifPopPscExp)}
