"""A PyNN 0.13 backend on distsim: ``import distsim.pynn as sim``.

Laid out as PyNN's own backends (``pyNN.nest``): ``simulator`` (state: one
:class:`distsim.Network` per ``setup``), ``control`` (setup, run, reset, end),
``populations``, ``projections``, ``recording``, ``standardmodels``. Under ``mpirun`` every
rank runs the script; each builds its own neurons and synapses, and every result is the
same for any number of processes (distsim's streams are keyed by the seed, never the rank).

What exists: IF_curr_exp, IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha,
EIF_cond_exp_isfa_ista, SpikeSourceArray and SpikeSourcePoisson (one rate per population);
DCSource and StepCurrentSource; StaticSynapse; AllToAll, OneToOne, FixedProbability, FixedNumberPre (integer n) and
FixedTotalNumber (with replacement) connectors between whole Populations; weights and
delays as numbers or uniform/normal/normal_clipped RandomDistributions (drawn by distsim);
recording of spikes and state variables into Neo (get_data, write_data). Missing: see
README ("PyNN backend").
"""
from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import (AllToAllConnector, ArrayConnector, CloneConnector, CSAConnector,  # noqa: F401
                             DisplacementDependentProbabilityConnector, DistanceDependentProbabilityConnector,
                             FixedNumberPostConnector, FixedNumberPreConnector, FixedProbabilityConnector,
                             FixedTotalNumberConnector, FromFileConnector, FromListConnector,
                             IndexBasedProbabilityConnector, OneToOneConnector, SmallWorldConnector)
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401, F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from .control import (end, get_current_time, get_max_delay, get_min_delay, get_time_step,  # noqa: F401
                      initialize, num_processes, rank, reset, run, run_for, run_until, setup)
from .electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels import (AdditivePotentiationMultiplicativeDepression, AdditiveWeightDependence,  # noqa: F401
                             EIF_cond_exp_isfa_ista, GutigWeightDependence, IF_cond_alpha, IF_cond_exp,
                             IF_curr_alpha, IF_curr_delta, IF_curr_exp, MultiplicativeWeightDependence,
                             SpikePairRule, SpikeSourceArray, SpikeSourcePoisson, StaticSynapse, STDPMechanism)


def list_standard_models():
    """The StandardCellType classes available in distsim."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType) and obj is not StandardCellType]
