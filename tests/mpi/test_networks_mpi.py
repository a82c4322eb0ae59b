"""Under mpirun: the built-in conductance-based networks give bit-identical spikes for any number
of ranks (``coba`` at full size, ``adex_brunel`` small), against a 1-rank run of the same seed
computed in-process on rank 0. Run with N = 2, 3, 4 as the other tests in tests/mpi."""
import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import Simulation
from distsim.networks import build_builtin
from distsim.recording import MemoryRecorder

pytestmark = pytest.mark.timeout(600)


def _spikes(name, sets, t_ms, seed, comm):
    rec = MemoryRecorder()
    Simulation(build_builtin(name, sets), seed=seed, comm=comm, recorder=rec).run(t_ms)
    return rec.gather_spikes(comm)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("name, sets, t_ms, min_spikes", [
    ("coba", {}, 120.0, 4000),  # the 50 ms stimulation, then self-sustained activity
    ("adex_brunel", {"order": "50"}, 100.0, 200),
])
def test_network_bit_identical_to_one_rank(name, sets, t_ms, min_spikes):
    comm = get_comm()
    gids, stamps = _spikes(name, sets, t_ms, 7, comm)
    ref = _spikes(name, sets, t_ms, 7, SerialComm()) if comm.rank == 0 else None
    ref = comm.bcast(ref)
    assert gids.size > min_spikes  # active, so the comparison means something
    assert np.array_equal(gids, ref[0]) and np.array_equal(stamps, ref[1])
