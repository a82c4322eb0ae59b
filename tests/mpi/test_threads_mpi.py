"""Under mpirun: ranks x threads. N ranks x 2 threads give the spikes and traces of 1 rank x
1 thread, bit for bit, for iaf_psc_exp, iaf_psc_alpha, gif_psc_exp, iaf_cond_exp and
gif_pop_psc_exp; and a checkpoint written by N ranks x 1 thread resumes on 1 rank x 2
threads exactly as the uninterrupted run.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi`` with N = 2, 3, 4.
"""
import os
import sys
import tempfile

import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import Simulation
from distsim.engine import checkpoint as ckpt
from distsim.recording import MemoryRecorder

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "unit"))
from test_threads import _mixed  # noqa: E402

pytestmark = [pytest.mark.timeout(600), pytest.mark.max_ranks(3)]


def _run(comm, T, t_ms, d_min=0.1):
    rec = MemoryRecorder()
    sim = Simulation(_mixed(d_min), seed=11, comm=comm, recorder=rec, threads=T)
    sim.run(t_ms)
    spikes = rec.gather_spikes(comm)
    samples = {k: rec.gather_samples(comm, k) for k in sorted(sim.report_variables())}
    return sim, spikes, samples


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("d_min", [0.1, 1.0])
def test_ranks_x_2_threads_bit_identical_to_1_rank_1_thread(d_min):
    comm = get_comm()
    sim, spikes, samples = _run(comm, 2, 50.0, d_min)
    assert sim.threads == 2 and sim.info()["n_threads"] == 2
    ref = None
    if comm.rank == 0:
        _, rs, rv = _run(SerialComm(), 1, 50.0, d_min)
        ref = (rs, rv)
    ref = comm.bcast(ref)
    assert ref[0][0].size > 1000
    assert np.array_equal(spikes[0], ref[0][0]) and np.array_equal(spikes[1], ref[0][1])
    assert samples.keys() == ref[1].keys() and len(samples) == 10
    for k in samples:
        for a, b in zip(samples[k], ref[1][k]):
            assert np.array_equal(a, b), k


@pytest.mark.mpi(min_size=2)
def test_checkpoint_of_ranks_x_1_thread_resumes_on_1_rank_x_2_threads():
    comm = get_comm()
    tmp = comm.bcast(tempfile.mkdtemp(prefix="distsim-thr-") if comm.rank == 0 else None)
    path = os.path.join(tmp, "run.h5.ckpt")
    rec = MemoryRecorder()
    sim = Simulation(_mixed(0.1), seed=11, comm=comm, recorder=rec, threads=1)
    sim.run(25.0)
    step = ckpt.save(sim, path, {"recording": 0}, run_id="t")
    sim.run(25.0)  # the uninterrupted run
    g, s = rec.gather_spikes(comm)
    keep = s > step
    ref = (g[keep], s[keep])
    assert ref[0].size > 500
    res = None
    if comm.rank == 0:
        import h5py
        with h5py.File(path, "r") as f:
            written = (int(f.attrs["n_ranks_written"]), int(f.attrs["n_threads_written"]))
        rec2 = MemoryRecorder()
        sim2 = Simulation(_mixed(0.1), seed=11, comm=SerialComm(), recorder=rec2, threads=2)
        assert ckpt.restore(sim2, path) == step
        sim2.run(25.0)
        g2, s2 = rec2.gather_spikes(SerialComm())
        res = (bool(np.array_equal(g2, ref[0]) and np.array_equal(s2, ref[1])), written)
        os.unlink(path)
        os.rmdir(tmp)
    res = comm.bcast(res)
    assert res[1] == (comm.size, 1)  # the header records the layout, as information
    assert res[0], "1 rank x 2 threads resumed differently"
