"""HDF5Recorder: layout, attributes, never-overwrite, gather fallback, rank-count
independence (mpirun -n 2 / -n 4 against a serial run) and crash safety (SIGKILL)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.networks.brunel import brunel
from distsim.recording import MemoryRecorder
from distsim.recording import TeeRecorder as _Tee
from distsim.recording.hdf5 import HDF5Recorder, read_report, read_spikes
from distsim.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")
SEED = 7
T_SIM = 60.0
needs_mpirun = pytest.mark.skipif(MPIRUN is None, reason="mpirun not found")

# Writes <out>/<mode>.h5 for each mode ("auto" or "gather") from one Brunel run per mode.
WRITER = textwrap.dedent("""
    import sys
    from distsim.engine import Simulation
    from distsim.networks.brunel import brunel
    from distsim.recording.hdf5 import HDF5Recorder
    out, seed, t_sim = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    for mode in sys.argv[4:]:
        rec = HDF5Recorder(f"{out}/{mode}.h5", flush_interval_ms=20.0,
                           parallel=None if mode == "auto" else False)
        sim = Simulation(brunel(order=50, voltmeter=3), seed=seed, recorder=rec)
        sim.run(t_sim)
        rec.close(sim)
        if sim.rank == 0:
            print(mode, rec.mode, flush=True)
""")

# Runs long with flushes every 20 ms; after the 3rd flush, once some spikes are buffered but
# not flushed, rank 0 prints READY and every rank sleeps (the test then SIGKILLs them).
KILLED = textwrap.dedent("""
    import os, sys, time
    from distsim.engine import Simulation
    from distsim.networks.brunel import brunel
    from distsim.recording.hdf5 import HDF5Recorder

    class Stalling(HDF5Recorder):
        n_flushes = 0
        def after_slice(self, sim, step):
            super().after_slice(sim, step)
            if self.n_flushes >= 3 and step >= self.flushed_step + 60:
                if sim.rank == 0:
                    print("READY", step, flush=True)
                time.sleep(120)

    def on_flush(t):
        rec.n_flushes += 1
        if rank == 0:
            print("FLUSH", t, flush=True)

    path, seed = sys.argv[1], int(sys.argv[2])
    rec = Stalling(path, flush_interval_ms=20.0, on_flush=on_flush)
    sim = Simulation(brunel(order=50, voltmeter=3), seed=seed, recorder=rec)
    rank = sim.rank
    with open(os.path.join(os.path.dirname(path), f"pid.{rank}"), "w") as fh:
        fh.write(str(os.getpid()))
    sim.run(10000.0)
""")


def _env():
    """Environment for child processes: no MPI launcher variables of any enclosing job."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI", "HYDRA", "MPIR", "MPICH", "OMPI"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _mpirun(n, script, *args, timeout=90):
    cmd = [MPIRUN, "-n", str(n), sys.executable, "-m", "mpi4py", str(script), *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r.stdout


def _sorted(gids, times):
    order = np.lexsort((times, gids))
    return gids[order], times[order]


def _serial_run(path=None, t_sim=T_SIM, seed=SEED, **kw):
    """(MemoryRecorder, Simulation) of a serial Brunel run, optionally also writing ``path``."""
    mem = MemoryRecorder()
    recs = [mem]
    if path is not None:
        recs.append(HDF5Recorder(path, flush_interval_ms=20.0, **kw))
    sim = Simulation(brunel(order=50, voltmeter=3), seed=seed, comm=SerialComm(),
                     recorder=_Tee(recs))
    sim.run(t_sim)
    for r in recs:
        r.close(sim)
    return mem, sim




def _expected_spikes(mem, sim, max_stamp=None):
    """pop -> (gids uint64, times float64 ms) sorted by (gid, time) from a MemoryRecorder."""
    g, s = mem.gather_spikes(sim.comm)
    if max_stamp is not None:
        keep = s <= max_stamp
        g, s = g[keep], s[keep]
    out = {}
    for pop, (a, b) in sim.net.gid_ranges().items():
        m = (g >= a) & (g < b)
        out[pop] = (g[m].astype(np.uint64), s[m] * sim.dt)
    return out


def _assert_same_spikes(path, expected):
    got = read_spikes(path)
    assert sorted(got) == sorted(expected)
    for pop, (g, t) in expected.items():
        gg, tt = _sorted(*got[pop])
        assert gg.dtype == np.uint64 and tt.dtype == np.float64
        np.testing.assert_array_equal(gg, g)
        np.testing.assert_array_equal(tt, t)


def _assert_same_report(path, mem, sim):
    rep = read_report(path)
    assert sorted(rep) == ["E", "I"]
    for pop, (ids, times, data) in rep.items():
        g, st, v = mem.gather_samples(sim.comm, pop)
        np.testing.assert_array_equal(ids, g.astype(np.uint64))
        np.testing.assert_array_equal(times, st * sim.dt)
        np.testing.assert_array_equal(data, v)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A serial run: its MemoryRecorder, Simulation and the HDF5 file it wrote."""
    d = tmp_path_factory.mktemp("ref")
    mem, sim = _serial_run(d / "serial.h5")
    return mem, sim, d / "serial.h5"


# ------------------------------------------------------------------ serial
def test_layout_and_attributes(reference):
    mem, sim, path = reference
    with h5py.File(path, "r") as f:
        assert set(f) == {"meta", "spikes", "report"}
        m = f["meta"].attrs
        assert m["dt_ms"] == 0.1 and m["seed"] == SEED and m["n_ranks"] == 1
        assert m["model"] == "brunel"
        assert json.loads(m["spec_json"]) == json.loads(json.dumps(sim.net.to_dict(), default=str))
        v = json.loads(m["versions_json"])
        assert {"distsim", "numpy", "h5py"} <= set(v)
        assert m["t_presim_ms"] == 0.0
        assert m["t_sim_ms"] == T_SIM and m["t_flushed_ms"] == T_SIM
        info = sim.info()
        assert m["n_synapses"] == info["n_synapses"] > 0
        for k in ("build_time_s", "sim_time_s", "rtf", "peak_rss_bytes"):
            assert k in m and m[k] > 0
        for pop, (a, b) in (("E", (0, 200)), ("I", (200, 250))):
            g = f["spikes"][pop]
            assert g.attrs["sorting"] == 0 and h5py.check_enum_dtype(
                g.attrs.get_id("sorting").dtype) == {"none": 0, "by_id": 1, "by_time": 2}
            assert (g.attrs["size"], g.attrs["gid_start"], g.attrs["gid_stop"]) == (b - a, a, b)
            assert g["node_ids"].dtype == np.uint64 and g["timestamps"].dtype == np.float64
            assert g["timestamps"].attrs["units"] == "ms"
            assert g["node_ids"].chunks is not None and g["node_ids"].maxshape == (None,)
            # SONATA: node ids local to the population (gid = gid_start + node_id)
            ids = g["node_ids"][()]
            assert ids.size > 0 and int(ids.max()) < b - a
            r = f["report"][pop]
            assert r.attrs["variable"] == "V_m" and r.attrs["units"] == "mV"
            assert r.attrs["gid_start"] == a
            assert r["data"].shape == (int(round(T_SIM / 0.1)), 3)
            mp = r["mapping"]
            assert mp["node_ids"][()].tolist() == [0, 1, 2] and mp["node_ids"].attrs["sorted"] == 1
            assert mp["index_pointers"][()].tolist() == [0, 1, 2, 3]
            assert mp["element_ids"][()].tolist() == [0, 0, 0]
            assert mp["time"][()] == pytest.approx([0.1, T_SIM + 0.1, 0.1])
            assert mp["time"].attrs["units"] == "ms"
            assert r["times"][0] == pytest.approx(0.1)
    _assert_same_spikes(path, _expected_spikes(mem, sim))
    _assert_same_report(path, mem, sim)


def test_reference_rates_and_presim(tmp_path):
    net = brunel(order=10)
    net.reference_rates = {"E": 30.0, "I": 31.0}
    rec = HDF5Recorder(tmp_path / "r.h5", t_presim_ms=50.0)
    sim = Simulation(net, seed=1, comm=SerialComm(), recorder=rec)
    sim.run(10.0)
    rec.close(sim)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert json.loads(f["meta"].attrs["reference_rates_json"]) == {"E": 30.0, "I": 31.0}
        assert f["meta"].attrs["t_presim_ms"] == 50.0
        assert "report" in f and len(f["report"]) == 0  # no voltmeter: empty group


def test_only_recorded_populations(tmp_path):
    """A spike recorder on part of one population: only that group, only those neurons."""
    from distsim.spec import Device
    net = brunel(order=10, record_spikes=False)
    net.devices.append(Device("spike_recorder", ["I"], name="some", n_per_population=5))
    rec = HDF5Recorder(tmp_path / "i.h5", flush_interval_ms=5.0)
    sim = Simulation(net, seed=2, comm=SerialComm(), recorder=rec)
    sim.run(50.0)
    rec.close(sim)
    with h5py.File(tmp_path / "i.h5", "r") as f:
        assert list(f["spikes"]) == ["I"]
        a = f["spikes/I"].attrs
        assert (a["size"], a["gid_start"], a["gid_stop"]) == (10, 40, 50)
        ids = f["spikes/I/node_ids"][()]                  # population-local ids
        assert ids.size > 0 and set(ids.tolist()) <= set(range(0, 5))


def test_two_runs_append(tmp_path):
    """Two sim.run calls on one recorder give the same file as one run of the total time."""
    mem = MemoryRecorder()
    rec = HDF5Recorder(tmp_path / "two.h5", flush_interval_ms=7.0)
    sim = Simulation(brunel(order=50, voltmeter=3), seed=SEED, comm=SerialComm(),
                     recorder=_Tee([mem, rec]))
    sim.run(25.0)
    sim.run(35.0)
    rec.close(sim)
    mem.close(sim)
    with h5py.File(tmp_path / "two.h5", "r") as f:
        assert f["meta"].attrs["t_sim_ms"] == 60.0
        for pop in ("E", "I"):  # SONATA report time [start, stop), stop after the last row
            assert f[f"report/{pop}/mapping/time"][()] == pytest.approx([0.1, 60.1, 0.1])
    _assert_same_spikes(tmp_path / "two.h5", _expected_spikes(mem, sim))
    _assert_same_report(tmp_path / "two.h5", mem, sim)


def test_never_overwrite(tmp_path):
    path = tmp_path / "exists.h5"
    path.write_bytes(b"precious")
    rec = HDF5Recorder(path)
    sim = Simulation(brunel(order=10), seed=1, comm=SerialComm(), recorder=rec)
    with pytest.raises(SpecError, match="exists; pass --overwrite to replace it"):
        sim.run(5.0)
    assert path.read_bytes() == b"precious"
    rec = HDF5Recorder(path, overwrite=True)
    sim = Simulation(brunel(order=10), seed=1, comm=SerialComm(), recorder=rec)
    sim.run(5.0)
    rec.close(sim)
    with h5py.File(path, "r") as f:
        assert f["meta"].attrs["t_sim_ms"] == 5.0


def test_valid_file_before_first_flush(tmp_path):
    """Structure and /meta are on disk as soon as the run begins."""
    path, copy = tmp_path / "early.h5", tmp_path / "copy.h5"
    seen = {}

    class Peek(HDF5Recorder):
        def after_slice(self, sim, step):
            if not seen:  # before any data flush: what is on disk is already a valid file
                shutil.copy(path, copy)
                with h5py.File(copy, "r") as f:
                    seen["groups"] = sorted(f["spikes"]), sorted(f["report"])
                    seen["t"] = f["meta"].attrs["t_flushed_ms"]
            super().after_slice(sim, step)

    rec = Peek(path, flush_interval_ms=1000.0)
    sim = Simulation(brunel(order=10, voltmeter=1), seed=1, comm=SerialComm(), recorder=rec)
    sim.run(5.0)
    rec.close(sim)
    assert seen == {"groups": (["E", "I"], ["E", "I"]), "t": 0.0}


# ------------------------------------------------------------------ mpirun
@pytest.fixture(scope="module")
def mpi_files(tmp_path_factory):
    """Files written by mpirun -n 2 (mpio and gather paths) and -n 4 (mpio)."""
    d = tmp_path_factory.mktemp("mpi")
    script = d / "writer.py"
    script.write_text(WRITER)
    (d / "n2").mkdir()
    (d / "n4").mkdir()
    out2 = _mpirun(2, script, d / "n2", SEED, T_SIM, "auto", "gather")
    out4 = _mpirun(4, script, d / "n4", SEED, T_SIM, "auto")
    return {"out": out2 + out4, "n2_auto": d / "n2" / "auto.h5",
            "n2_gather": d / "n2" / "gather.h5", "n4_auto": d / "n4" / "auto.h5"}


@needs_mpirun
@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["n2_auto", "n2_gather", "n4_auto"])
def test_mpi_files_equal_serial(reference, mpi_files, which):
    mem, sim, serial = reference
    path = mpi_files[which]
    assert "auto mpio" in mpi_files["out"] and "gather gather" in mpi_files["out"]
    _assert_same_spikes(path, _expected_spikes(mem, sim))
    _assert_same_report(path, mem, sim)
    with h5py.File(path, "r") as f, h5py.File(serial, "r") as g:
        assert f["meta"].attrs["n_ranks"] == (4 if which.startswith("n4") else 2)
        for k in ("dt_ms", "seed", "model", "spec_json", "t_sim_ms", "t_flushed_ms",
                  "n_synapses"):
            assert f["meta"].attrs[k] == g["meta"].attrs[k], k
        for grp in ("spikes/E", "spikes/I"):
            assert dict(f[grp].attrs) == dict(g[grp].attrs)


@needs_mpirun
@pytest.mark.timeout(120)
def test_mpi_gather_path_identical_to_mpio(mpi_files):
    """Same ranks, same seed: the gather-to-rank-0 file is value-identical to the mpio one
    (including spike order within the file)."""
    a, b = read_spikes(mpi_files["n2_auto"]), read_spikes(mpi_files["n2_gather"])
    for pop in a:
        np.testing.assert_array_equal(a[pop][0], b[pop][0])
        np.testing.assert_array_equal(a[pop][1], b[pop][1])
    ra, rb = read_report(mpi_files["n2_auto"]), read_report(mpi_files["n2_gather"])
    for pop in ra:
        for x, y in zip(ra[pop], rb[pop]):
            np.testing.assert_array_equal(x, y)


@needs_mpirun
def test_mpi_file_readable_without_distsim(mpi_files):
    code = textwrap.dedent(f"""
        import sys, json, h5py
        with h5py.File({str(mpi_files['n4_auto'])!r}, "r") as f:
            n = {{p: int(f["spikes"][p]["node_ids"].shape[0]) for p in f["spikes"]}}
            r = f["report/E/data"].shape
            t = float(f["meta"].attrs["t_flushed_ms"])
        assert "distsim" not in sys.modules
        print(json.dumps({{"n": n, "r": list(r), "t": t}}))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, env=_env(), cwd="/")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    exp = {p: int(v[0].size) for p, v in read_spikes(mpi_files["n4_auto"]).items()}
    assert got == {"n": exp, "r": [int(round(T_SIM / 0.1)), 3], "t": T_SIM}


@needs_mpirun
@pytest.mark.timeout(120)
def test_sigkill_leaves_spikes_up_to_last_flush(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    path = tmp_path / "killed.h5"
    cmd = [MPIRUN, "-n", "2", sys.executable, "-m", "mpi4py", str(script), str(path), str(SEED)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(), cwd=ROOT, start_new_session=True)
    lines, flushes, ready = [], [], None
    try:
        deadline = time.monotonic() + 90
        while ready is None and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            flushes += [float(x) for x in re.findall(r"FLUSH ([0-9.]+)", line)]
            m = re.search(r"READY (\d+)", line)
            ready = int(m.group(1)) if m else None
        pids = sorted(int(x.read_text()) for x in tmp_path.glob("pid.*"))
        assert ready is not None and len(pids) == 2 and len(flushes) == 3, (
            lines, pids, p.stderr.read()[-3000:] if p.poll() is not None else "still running")
        for pid in pids:  # the ranks themselves, then the launcher
            os.kill(pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)
        p.stdout.close()
        p.stderr.close()
    t_last = flushes[-1]
    with h5py.File(path, "r") as f:
        assert f["meta"].attrs["t_flushed_ms"] == t_last
        assert "build_time_s" not in f["meta"].attrs  # never closed
    last_step = int(round(t_last / 0.1))
    assert ready > last_step  # killed with unflushed spikes buffered
    mem, sim = _serial_run(t_sim=ready * 0.1)
    exp = _expected_spikes(mem, sim, max_stamp=last_step)
    _assert_same_spikes(path, exp)
    more = _expected_spikes(mem, sim)
    assert sum(v[0].size for v in more.values()) > sum(v[0].size for v in exp.values())
    rep = read_report(path)
    for pop, (ids, times, data) in rep.items():
        g, st, v = mem.gather_samples(sim.comm, pop)
        keep = st <= last_step
        np.testing.assert_array_equal(times, st[keep] * 0.1)
        np.testing.assert_array_equal(data, v[keep])
