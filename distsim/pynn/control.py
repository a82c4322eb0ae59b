"""setup, end, run, reset and the state queries of the distsim PyNN backend."""
from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a new network: ``timestep`` (ms), ``min_delay`` ("auto": the time step; the
    default delay of a projection), ``max_delay``; ``rng_seed`` (or ``seed``): distsim's
    seed, from which every random draw of the network comes (the same for any number of
    MPI processes). Returns the MPI rank."""
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    common.setup(timestep, min_delay, **extra_params)
    st = simulator.state
    st.clear()
    st.dt = timestep
    st.min_delay = timestep if min_delay == "auto" else min_delay
    st.max_delay = max_delay
    st.seed = int(extra_params.get("rng_seed", extra_params.get("seed", 12345)))
    return rank()


def end(compatible_output=True):
    """Write the data requested with ``record(..., to_file)`` and finish the network."""
    st = simulator.state
    for population, variables, filename in st.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    st.write_on_end = []
    if st.net is not None:
        st.net.close()


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
