"""Under mpirun: plastic networks give the same spikes and the same final weights bit for bit
on any number of ranks, and through a checkpoint written on N ranks and resumed on N and on 1.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi`` with N = 2, 3, 4.
"""
import os
import tempfile

import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import Simulation
from distsim.engine import checkpoint as ckpt
from distsim.recording import MemoryRecorder
from plastic_nets import plastic_net

pytestmark = pytest.mark.timeout(300)


def _weights(sim, comm):
    """Every plastic projection's (key, weight) over all ranks, in a rank-independent order:
    by (source, target), each pair's synapses (multapses) in their row order."""
    out = []
    for t in sim.plastic.tables:
        src, tgt, w = sim.plastic.weights(t.pid)
        parts = comm.allgather((src, tgt, w.copy()))
        src = np.concatenate([p[0] for p in parts])
        tgt = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        key = src * sim.n_neurons + tgt
        o = np.argsort(key, kind="stable")
        out.append((key[o], w[o]))
    return out


def _run(comm, t_ms, seed=21):
    rec = MemoryRecorder()
    sim = Simulation(plastic_net(), seed=seed, comm=comm, recorder=rec)
    sim.run(t_ms)
    return sim, rec.gather_spikes(comm), _weights(sim, comm)


@pytest.mark.mpi(min_size=2)
def test_plastic_network_bit_identical_to_one_rank():
    comm = get_comm()
    sim, spikes, weights = _run(comm, 250.0)
    ref = None
    if comm.rank == 0:
        _, rs, rw = _run(SerialComm(), 250.0)
        ref = (rs, rw)
    rs, rw = comm.bcast(ref)
    assert spikes[0].size > 500
    assert np.array_equal(spikes[0], rs[0]) and np.array_equal(spikes[1], rs[1])
    for (k, w), (rk, rwt) in zip(weights, rw):
        assert np.array_equal(k, rk) and np.array_equal(w, rwt)  # bit for bit
    assert any(np.unique(w).size > 100 for _, w in weights)


def _spikes_after(rec, step, comm):
    g, s = rec.gather_spikes(comm)
    keep = s > step
    return g[keep], s[keep]


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [True, False], ids=["collective", "gathered"])
def test_plastic_checkpoint_resumes_on_any_rank_count(monkeypatch, parallel):
    comm = get_comm()
    if parallel and not ckpt.parallel_mode(comm):
        pytest.skip("h5py without MPI")
    monkeypatch.setattr(ckpt, "GATHER_MAX_BYTES", 0 if parallel else 1 << 60)
    tmp = comm.bcast(tempfile.mkdtemp(prefix="distsim-pl-") if comm.rank == 0 else None)
    path = os.path.join(tmp, "run.h5.ckpt")
    rec = MemoryRecorder()
    sim = Simulation(plastic_net(), seed=4, comm=comm, recorder=rec)
    sim.run(120.0)
    step = ckpt.save(sim, path, {"recording": 0}, run_id="p")
    sim.run(100.0)
    ref = _spikes_after(rec, step, comm)
    ref_w = _weights(sim, comm)
    assert ref[0].size > 100

    rec2 = MemoryRecorder()  # N -> N
    sim2 = Simulation(plastic_net(), seed=4, comm=comm, recorder=rec2)
    ckpt.restore(sim2, path)
    sim2.run(100.0)
    got = _spikes_after(rec2, step, comm)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    for (k, w), (rk, rw) in zip(_weights(sim2, comm), ref_w):
        assert np.array_equal(k, rk) and np.array_equal(w, rw)

    res = None
    if comm.rank == 0:  # N -> 1
        rec3 = MemoryRecorder()
        sim3 = Simulation(plastic_net(), seed=4, comm=SerialComm(), recorder=rec3)
        ckpt.restore(sim3, path)
        sim3.run(100.0)
        g3, s3 = _spikes_after(rec3, step, SerialComm())
        w3 = _weights(sim3, SerialComm())
        res = bool(np.array_equal(g3, ref[0]) and np.array_equal(s3, ref[1])
                   and all(np.array_equal(a[1], b[1]) for a, b in zip(w3, ref_w)))
    assert comm.bcast(res)
    comm.barrier()
    if comm.rank == 0:
        os.unlink(path)
        os.rmdir(tmp)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [None, False], ids=["mpio-if-available", "gathered"])
def test_edges_written_in_parallel_equal_one_rank(parallel):
    """/edges of an N-rank run hold the same synapses and weights as the 1-rank run."""
    from distsim.recording.hdf5 import HDF5Recorder, read_edges

    comm = get_comm()
    tmp = comm.bcast(tempfile.mkdtemp(prefix="distsim-edges-") if comm.rank == 0 else None)
    path = os.path.join(tmp, "out.h5")
    rec = HDF5Recorder(path, parallel=parallel)
    sim = Simulation(plastic_net(), seed=8, comm=comm, recorder=rec)
    sim.run(80.0)
    rec.close(sim)
    comm.barrier()
    ok = None
    if comm.rank == 0:
        ref = Simulation(plastic_net(), seed=8, comm=SerialComm()).run(80.0)
        edges = read_edges(path)
        ok = len(edges) == 3
        n = ref.n_neurons
        for t in ref.plastic.tables:
            e = next(v for v in edges.values() if v["attrs"]["projection"] == t.pid)
            pr = ref.net.projections[t.pid]
            r = ref.net.gid_ranges()
            key = (e["source_node_id"].astype(np.int64) + r[pr.source][0]) * n \
                + e["target_node_id"].astype(np.int64) + r[pr.target][0]
            src, tgt, w = ref.plastic.weights(t.pid)
            rk = src * n + tgt
            a, b = np.argsort(key, kind="stable"), np.argsort(rk, kind="stable")
            ok = ok and np.array_equal(key[a], rk[b]) and np.array_equal(e["weight"][a], w[b])
        os.unlink(path)
        os.rmdir(tmp)
    assert comm.bcast(ok)


def _edge_datasets(path):
    """{"<projection>/<dataset>": array} of every /edges dataset of a file."""
    import h5py

    with h5py.File(path, "r") as f:
        return {f"{n}/{k}": g[k][()] for n, g in f["edges"].items() for k in g if isinstance(g[k], h5py.Dataset)}


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [None, False], ids=["mpio-if-available", "gathered"])
def test_weight_snapshots_same_bytes_for_any_rank_count_and_through_resume(parallel):
    """With ``weights_every_ms`` the /edges columns (ids, final weights, weight_t<ms>
    snapshots) of an N-rank run equal the 1-rank run's element for element (one target-major
    order for any rank count); a file checkpointed on N ranks at 20 ms and resumed on 1 rank
    (snapshots before the checkpoint kept, later ones written by the resumed run) equals them
    too."""
    import shutil

    from distsim.recording.hdf5 import HDF5Recorder

    comm = get_comm()
    tmp = comm.bcast(tempfile.mkdtemp(prefix="distsim-snap-") if comm.rank == 0 else None)
    a, b, c = (os.path.join(tmp, x) for x in ("a.h5", "b.h5", "c.h5"))
    ck = os.path.join(tmp, "a.ckpt")
    rec = HDF5Recorder(a, parallel=parallel, weights_every_ms=7.3)
    sim = Simulation(plastic_net(), seed=9, comm=comm, recorder=rec)
    sim.run(20.0)
    rec.flush(sim.step)
    pos = rec.positions()
    ckpt.save(sim, ck, {"recording": 1}, run_id=rec.run_id)
    comm.barrier()
    if comm.rank == 0:
        shutil.copy(a, b)  # the file as a run stopped at the checkpoint leaves it
    comm.barrier()
    sim.run(20.0)
    rec.close(sim)
    comm.barrier()
    ok = None
    if comm.rank == 0:
        rc = HDF5Recorder(c, weights_every_ms=7.3)
        ref = Simulation(plastic_net(), seed=9, comm=SerialComm(), recorder=rc).run(40.0)
        rc.close(ref)
        sim3 = Simulation(plastic_net(), seed=9, comm=SerialComm())
        ckpt.restore(sim3, ck)
        rb = HDF5Recorder(b, resume=pos, run_id=rec.run_id)  # weights_every_ms from the file
        sim3.set_recorder(rb)
        sim3.run_until(400)
        rb.close(sim3)
        ea, eb, ec = _edge_datasets(a), _edge_datasets(b), _edge_datasets(c)
        snaps = sorted(k for k in ec if "/weight_t" in k)
        ok = []  # what differs
        if len(snaps) != 3 * 5 or "E->E#0/weight_t21.9" not in ec:
            ok.append(("snapshots", snaps))
        for name, e in (("N ranks", ea), ("resumed on 1", eb)):
            if sorted(e) != sorted(ec):
                ok.append((name, sorted(e)))
            ok += [(name, k) for k in ec if k in e and not np.array_equal(e[k], ec[k])]
        if np.array_equal(ec["E->E#0/weight_t7.3"], ec["E->E#0/weight"]):
            ok.append("the weights did not move")
        shutil.rmtree(tmp)
    assert comm.bcast(ok) == []
