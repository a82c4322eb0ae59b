"""Shared test helpers: run a network serially and collect what it recorded."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
# thread tests run up to 3 numba threads on machines with fewer CPUs: numba fixes its pool
# size when it is imported (after this file)
os.environ.setdefault("NUMBA_NUM_THREADS", "4")


def run_network(net, t_ms, seed=1, comm=None):
    """Simulate ``net`` for ``t_ms``; returns (sim, spikes (gids, stamps), samples dict)."""
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.recording import MemoryRecorder

    comm = comm or SerialComm()
    rec = MemoryRecorder()
    sim = Simulation(net, seed=seed, comm=comm, recorder=rec)
    sim.run(t_ms)
    spikes = rec.gather_spikes(comm)
    # every recording: "<pop>" for V_m, "<pop>:<var>" for other multimeter variables
    samples = {name: rec.gather_samples(comm, name) for name in sim.report_variables()}
    return sim, spikes, samples


@pytest.fixture
def run():
    """The :func:`run_network` helper as a fixture."""
    return run_network


def synapse_list(table, n_ranks=1, rank=0):
    """(source gid, target gid, weight, delay steps) arrays of a SynapseTable."""
    src = np.repeat(np.arange(table.row_ptr.size - 1), np.diff(table.row_ptr))
    tgt = table.tgt.astype(np.int64) * n_ranks + rank
    return src, tgt, table.w.copy(), table.d.astype(np.int64)

