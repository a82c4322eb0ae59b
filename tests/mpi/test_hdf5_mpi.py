"""HDF5Recorder under MPI (pytest-mpi). Run with
``mpirun -n 2 .venv/bin/python -m mpi4py -m pytest --with-mpi -p no:cacheprovider tests/mpi/test_hdf5_mpi.py``
(and -n 4): one file written by all ranks equals a serial in-process run on rank 0."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import traceback
import warnings

import h5py
import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import Simulation
from distsim.networks.brunel import brunel
from distsim.recording import MemoryRecorder
from distsim.recording import TeeRecorder as _Tee
from distsim.recording import hdf5 as hdf5_mod
from distsim.recording.hdf5 import HDF5Recorder, read_report, read_spikes
from distsim.spec import Device, SpecError

SEED = 11
T_SIM = 40.0




@pytest.fixture
def shared_dir():
    """A fresh directory made by rank 0, the same on every rank; removed afterwards.

    (Not pytest's tmp_path: the ranks' pytest processes would race on its numbered dirs.)
    """
    comm = get_comm()
    d = comm.bcast(tempfile.mkdtemp(prefix="distsim-h5-") if comm.rank == 0 else None)
    yield d
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(d, ignore_errors=True)


def _on_root(comm, fn):
    """Run fn() on rank 0; a failure there fails the test on every rank (none left waiting)."""
    msg = None
    if comm.rank == 0:
        try:
            fn()
        except BaseException:
            msg = traceback.format_exc()
    msg = comm.bcast(msg)
    if msg is not None:
        pytest.fail(f"on rank 0:\n{msg}")


def _run(path, comm, **kw):
    """Run the small Brunel network writing ``path``; returns (MemoryRecorder, Simulation)."""
    mem = MemoryRecorder()
    rec = HDF5Recorder(path, flush_interval_ms=10.0, **kw)
    sim = Simulation(brunel(order=50, voltmeter=3), seed=SEED, comm=comm,
                     recorder=_Tee([mem, rec]))
    sim.run(T_SIM)
    rec.close(sim)
    return mem, sim, rec


def _gathered(mem, sim):
    """Everything a run recorded, on every rank (collective): spikes and voltmeter samples."""
    g, s = mem.gather_spikes(sim.comm)
    samples = {pop: mem.gather_samples(sim.comm, pop) for pop in ("E", "I")}
    return g, s, samples, sim.net.gid_ranges(), sim.dt


def _check_file(path, gathered):
    """The file's spikes (sorted by gid, time) and voltmeter data equal ``gathered``."""
    g, s, samples, ranges, dt = gathered
    got = read_spikes(path)
    assert sorted(got) == ["E", "I"]
    for pop, (a, b) in ranges.items():
        ids, ts = got[pop]
        order = np.lexsort((ts, ids))
        m = (g >= a) & (g < b)
        np.testing.assert_array_equal(ids[order], g[m].astype(np.uint64))
        np.testing.assert_array_equal(ts[order], s[m] * dt)
    with h5py.File(path, "r") as f:  # SONATA layout: local node ids, enum sorting, mapping
        for pop, (a, b) in ranges.items():
            grp = f["spikes"][pop]
            assert grp.attrs["gid_start"] == a and grp.attrs["sorting"] == 0
            assert h5py.check_enum_dtype(grp.attrs.get_id("sorting").dtype) == hdf5_mod.SORTING
            ids = grp["node_ids"][()]
            assert ids.size == 0 or int(ids.max()) < b - a
            rt = f["report"][pop]["mapping/time"][()]
            assert rt[1] == pytest.approx(rt[0] + f["report"][pop]["times"].shape[0] * rt[2])
    rep = read_report(path)
    assert sorted(rep) == ["E", "I"]
    for pop, (ids, times, data) in rep.items():
        gg, st, v = samples[pop]
        np.testing.assert_array_equal(ids, gg.astype(np.uint64))
        np.testing.assert_array_equal(times, st * dt)
        np.testing.assert_array_equal(data, v)


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(120)
def test_one_file_equals_serial_run(shared_dir):
    comm = get_comm()
    path = os.path.join(shared_dir, "run.h5")
    mem, sim, rec = _run(path, comm)
    assert rec.mode == "mpio"
    mine = _gathered(mem, sim)
    _on_root(comm, lambda: _check_file(path, mine))  # what this run produced

    def serial_reference():
        smem, ssim, _ = _run(os.path.join(shared_dir, "serial.h5"), SerialComm())
        _check_file(path, _gathered(smem, ssim))  # rank-count independent
        with h5py.File(path, "r") as f:
            assert f["meta"].attrs["n_ranks"] == comm.size
            assert f["meta"].attrs["t_flushed_ms"] == T_SIM
    _on_root(comm, serial_reference)


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(120)
def test_file_readable_with_plain_h5py(shared_dir):
    comm = get_comm()
    path = os.path.join(shared_dir, "plain.h5")
    _run(path, comm)

    def plain():
        code = textwrap.dedent(f"""
            import sys, h5py
            with h5py.File({path!r}, "r") as f:
                n = sum(f["spikes"][p]["node_ids"].shape[0] for p in f["spikes"])
                print(n, f["report/I/data"].shape[0], f["meta"].attrs["n_ranks"])
            assert "distsim" not in sys.modules
        """)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PMI", "HYDRA", "MPIR", "MPICH", "OMPI"))}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env=env, cwd="/")
        assert r.returncode == 0, r.stderr
        n = sum(v[0].size for v in read_spikes(path).values())
        assert r.stdout.split() == [str(n), str(int(round(T_SIM / 0.1))), str(comm.size)]
    _on_root(comm, plain)


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(120)
def test_gather_fallback_same_content(shared_dir, monkeypatch):
    comm = get_comm()
    a, b = os.path.join(shared_dir, "mpio.h5"), os.path.join(shared_dir, "gather.h5")
    _run(a, comm)
    monkeypatch.setattr(hdf5_mod, "h5py_has_mpi", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, rec = _run(b, comm)
    assert rec.mode == "gather"
    msgs = [str(w.message) for w in caught if "lacks MPI" in str(w.message)]
    assert len(msgs) == (1 if comm.rank == 0 else 0)

    def same():
        sa, sb = read_spikes(a), read_spikes(b)
        for pop in sa:  # identical, including the order within the file
            np.testing.assert_array_equal(sa[pop][0], sb[pop][0])
            np.testing.assert_array_equal(sa[pop][1], sb[pop][1])
        ra, rb = read_report(a), read_report(b)
        for pop in ra:
            for x, y in zip(ra[pop], rb[pop]):
                np.testing.assert_array_equal(x, y)
    _on_root(comm, same)


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(120)
def test_never_overwrite_on_every_rank(shared_dir):
    comm = get_comm()
    path = os.path.join(shared_dir, "exists.h5")
    if comm.rank == 0:
        with open(path, "wb") as fh:
            fh.write(b"keep me")
    comm.barrier()
    with pytest.raises(SpecError, match="exists; pass --overwrite"):
        _run(path, comm)
    comm.barrier()
    _on_root(comm, lambda: open(path, "rb").read() == b"keep me" or pytest.fail("overwritten"))
    _, sim, _ = _run(path, comm, overwrite=True)
    _on_root(comm, lambda: h5py.File(path, "r").close())


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(120)
def test_voltmeter_irregular_columns(shared_dir):
    """Recorded neurons that give each rank an irregular set of columns."""
    comm = get_comm()

    def net():
        n = brunel(order=10)
        n.devices.append(Device("voltmeter", ["E"], name="vm", neuron_ids=[0, 2, 3, 8, 9, 13],
                                params={"interval_ms": 0.5}))
        return n

    path = os.path.join(shared_dir, "cols.h5")
    rec = HDF5Recorder(path, flush_interval_ms=3.0)
    sim = Simulation(net(), seed=3, comm=comm, recorder=rec)
    sim.run(20.0)
    rec.close(sim)

    def check():
        mem = MemoryRecorder()
        ssim = Simulation(net(), seed=3, comm=SerialComm(), recorder=mem)
        ssim.run(20.0)
        g, st, v = mem.gather_samples(ssim.comm, "E")
        ids, times, data = read_report(path)["E"]
        np.testing.assert_array_equal(ids, [0, 2, 3, 8, 9, 13])
        np.testing.assert_array_equal(times, st * 0.1)
        assert data.shape == (40, 6) and np.abs(data).max() > 0
        np.testing.assert_array_equal(data, v)
    _on_root(comm, check)
