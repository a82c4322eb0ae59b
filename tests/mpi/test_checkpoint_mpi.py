"""Under mpirun: checkpoints written collectively (no gather to rank 0) and restored with
each rank reading only its share, bit-identical to an uninterrupted run on any rank count.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi`` with N = 2, 3, 4.
"""
import os
import tempfile

import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import Simulation
from distsim.engine import checkpoint as ckpt
from distsim.networks.brunel import brunel
from distsim.recording import MemoryRecorder
from distsim.spec import Device

pytestmark = pytest.mark.timeout(300)


def _net():
    """Brunel with pending events over 1.5 ms, a current generator (current-input rows) and
    a voltmeter (state read back by gid)."""
    net = brunel(order=40, voltmeter=3)
    net.devices.append(Device("dc_generator", ["E"], {"amplitude_pA": 20.0, "start_ms": 5.0}))
    return net


def _spikes_after(rec, step, comm):
    g, s = rec.gather_spikes(comm)
    keep = s > step  # a spike in step k has stamp k + 1 (NEST)
    return g[keep], s[keep]


@pytest.mark.mpi(min_size=2)
def test_collective_checkpoint_resumes_bit_identically_on_any_rank_count(monkeypatch):
    comm = get_comm()
    if not ckpt.parallel_mode(comm):
        pytest.skip("h5py without MPI: checkpoints are gathered to rank 0")
    monkeypatch.setattr(ckpt, "GATHER_MAX_BYTES", 0)  # this small one collectively too
    tmp = comm.bcast(tempfile.mkdtemp(prefix="distsim-ckpt-") if comm.rank == 0 else None)
    path = os.path.join(tmp, "run.h5.ckpt")

    rec = MemoryRecorder()
    sim = Simulation(_net(), seed=9, comm=comm, recorder=rec)
    sim.run(30.0)

    def no_gather(*a, **k):
        raise AssertionError("a parallel checkpoint gathered state to rank 0")
    with monkeypatch.context() as m:
        m.setattr(comm, "gather", no_gather)
        step = ckpt.save(sim, path, {"recording": 0}, run_id="t")
    sim.run(40.0)
    ref = _spikes_after(rec, step, comm)
    assert ref[0].size > 50

    head = ckpt.read_checked(path)  # fletcher32 of every chunk and the header hash verify
    assert head["step"] == step and head["run_id"] == "t"
    import h5py
    with h5py.File(path, "r") as f:
        n_pending = f["pending/single/gid"].shape[0]
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert all(f[n].fletcher32 for n in names) and "ring/cur" in names
    assert n_pending > 1000

    # restore on the same ranks, counting what each rank reads
    read = {}
    orig = ckpt._read

    def counting(f, name, p, sel=Ellipsis):
        out = orig(f, name, p, sel)
        read[name] = read.get(name, 0) + out.size
        return out
    rec2 = MemoryRecorder()
    sim2 = Simulation(_net(), seed=9, comm=comm, recorder=rec2)
    with monkeypatch.context() as m:
        m.setattr(ckpt, "_read", counting)
        assert ckpt.restore(sim2, path) == step
    share = -(-n_pending // comm.size)
    assert read["pending/single/gid"] <= share  # before: every rank read all n_pending
    assert read["state/E/V"] <= -(-sim2.gid_ranges["E"][1] // comm.size)
    sim2.run(40.0)
    got = _spikes_after(rec2, step, comm)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])

    # and on one rank (N -> 1), in-process on rank 0
    res = None
    if comm.rank == 0:
        rec3 = MemoryRecorder()
        sim3 = Simulation(_net(), seed=9, comm=SerialComm(), recorder=rec3)
        ckpt.restore(sim3, path)
        sim3.run(40.0)
        g3, s3 = _spikes_after(rec3, step, SerialComm())
        res = bool(np.array_equal(g3, ref[0]) and np.array_equal(s3, ref[1]))
    assert comm.bcast(res)
    comm.barrier()
    if comm.rank == 0:
        os.unlink(path)
        os.rmdir(tmp)


def _shared_tmp(comm):
    return comm.bcast(tempfile.mkdtemp(prefix="distsim-ckpt-") if comm.rank == 0 else None)


@pytest.mark.mpi(min_size=2)
def test_parallel_and_gathered_checkpoints_hold_the_same_data(monkeypatch):
    """The collective writer and the rank-0 fallback (h5py without MPI) write one layout."""
    import h5py

    comm = get_comm()
    if not ckpt.parallel_mode(comm):
        pytest.skip("h5py without MPI")
    monkeypatch.setattr(ckpt, "GATHER_MAX_BYTES", 0)
    tmp = _shared_tmp(comm)
    sim = Simulation(_net(), seed=2, comm=comm)
    sim.run(40.0)
    a, b = os.path.join(tmp, "a.ckpt"), os.path.join(tmp, "b.ckpt")
    ckpt.save(sim, a, {"recording": 0}, run_id="x")
    with monkeypatch.context() as m:
        m.setattr(ckpt, "parallel_mode", lambda c, n=None: False)
        ckpt.save(sim, b, {"recording": 0}, run_id="x")
    same = None
    if comm.rank == 0:
        with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
            names = []
            fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            nb = []
            fb.visititems(lambda n, o: nb.append(n) if isinstance(o, h5py.Dataset) else None)
            differ = [n for n in names if not np.array_equal(fa[n][()], fb[n][()])]
            same = (names == nb, differ, int(fa["pending/single/gid"].shape[0]),
                    # attributes, dataset names, shapes and types
                    fa.attrs["header_sha256"] == fb.attrs["header_sha256"])
        os.unlink(a)
        os.unlink(b)
        os.rmdir(tmp)
    same = comm.bcast(same)
    assert same[0] and same[1] == [] and same[2] > 100 and same[3], same


@pytest.mark.mpi(min_size=2)
def test_failed_parallel_write_leaves_no_tmp_and_keeps_the_previous(monkeypatch):
    comm = get_comm()
    if not ckpt.parallel_mode(comm):
        pytest.skip("h5py without MPI")
    monkeypatch.setattr(ckpt, "GATHER_MAX_BYTES", 0)
    tmp = _shared_tmp(comm)
    path = os.path.join(tmp, "r.ckpt")
    sim = Simulation(_net(), seed=2, comm=comm)
    sim.run(5.0)
    ckpt.save(sim, path)
    sim.run(5.0)
    calls = []
    orig = ckpt._empty_dataset

    def failing(*a, **k):  # on every rank alike (a full disk fails the collective write)
        calls.append(a[1])
        if len(calls) == 3:
            raise OSError(28, "No space left on device (injected)")
        return orig(*a, **k)
    with monkeypatch.context() as m:
        m.setattr(ckpt, "_empty_dataset", failing)
        with pytest.raises(OSError, match="No space left"):
            ckpt.save(sim, path)
    comm.barrier()
    assert not os.path.exists(path + ".tmp")
    assert ckpt.read_checked(path)["step"] == 50  # the previous checkpoint, intact
    comm.barrier()
    if comm.rank == 0:
        os.unlink(path)
        os.rmdir(tmp)


@pytest.mark.mpi(min_size=2)
def test_checksums_are_verified_in_shares_and_a_corrupt_chunk_stops_every_rank(monkeypatch):
    import h5py

    from distsim.spec import SpecError

    comm = get_comm()
    monkeypatch.setattr(ckpt, "GATHER_MAX_BYTES", 0)
    tmp = _shared_tmp(comm)
    path = os.path.join(tmp, "v.ckpt")
    sim = Simulation(_net(), seed=2, comm=comm)
    sim.run(40.0)
    ckpt.save(sim, path)
    n_chunks = 0
    with h5py.File(path, "r") as f:
        for name in ckpt._dataset_names(f):
            n_chunks += sum(1 for _ in f[name].iter_chunks()) if f[name].size else 0
    mine = ckpt.verify_data(path, comm)
    assert 0 < mine <= -(-n_chunks // comm.size)  # before: rank 0 read all n_chunks
    assert comm.allreduce_sum(mine) == n_chunks
    if comm.rank == 0:  # flip bytes inside the first chunk of state/E/V (not through HDF5)
        with h5py.File(path, "r") as f:
            info = f["state/E/V"].id.get_chunk_info(0)
        with open(path, "r+b") as fh:
            fh.seek(info.byte_offset + info.size // 2)
            b = bytearray(fh.read(4))
            fh.seek(info.byte_offset + info.size // 2)
            fh.write(bytes(x ^ 0x5A for x in b))
    comm.barrier()
    with pytest.raises(SpecError, match="/state/E/V.*corrupt"):
        ckpt.verify_data(path, comm)
    comm.barrier()
    if comm.rank == 0:
        os.unlink(path)
        os.rmdir(tmp)
