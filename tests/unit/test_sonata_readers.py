"""distsim's output read by the reference SONATA reader (libsonata, pip), for a serial run and
a 2-rank mpirun run of ``distsim run``: every spike population and every voltmeter report
must read exactly as with h5py, with population-local node ids (global gid = gid_start +
node_id), and the two files must hold the same spikes.

The same spike files are also read with bmtk's ``SpikeTrains`` (in a subprocess: bmtk's MPI
and HDF5 handles are torn down in an order that makes a clean interpreter exit fail)."""
import json
import os
import textwrap
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

libsonata = pytest.importorskip("libsonata")

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")
ARGS = ["brunel", "--seed", "3", "--t-sim", "60", "--t-presim", "10", "--set", "order=50",
        "--set", "voltmeter=4", "--flush-interval", "20", "-q", "--overwrite"]


def _env():
    """Environment for child processes: this checkout first, no enclosing MPI job."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI", "HYDRA", "MPIR", "MPICH", "OMPI"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _distsim_run(path, n_ranks):
    cmd = [sys.executable, "-m", "mpi4py", "-m", "distsim", "run", *ARGS, "-o", str(path)]
    if n_ranks > 1:
        cmd = [MPIRUN, "-n", str(n_ranks), *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(), cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Output files of the same run, serial and on 2 ranks (mpio when h5py has MPI)."""
    d = tmp_path_factory.mktemp("sonata")
    files = {"serial": d / "serial.h5"}
    _distsim_run(files["serial"], 1)
    if MPIRUN is not None:
        files["mpi2"] = d / "mpi2.h5"
        _distsim_run(files["mpi2"], 2)
    return files


BMTK_READER = textwrap.dedent("""
    import os, sys
    import numpy as np
    from bmtk.utils.reports.spike_trains import SpikeTrains
    st = SpikeTrains.load(sys.argv[1])
    df = st.to_dataframe()  # (bmtk 1.2 ignores to_dataframe(population=...): filter here)
    out = {}
    for p in st.populations:
        d = df[df["population"] == p]
        out[p + "/node_ids"] = d["node_ids"].to_numpy()
        out[p + "/timestamps"] = d["timestamps"].to_numpy()
        out[p + "/n_spikes"] = np.array(st.n_spikes(population=p))
    np.savez(sys.argv[2], **out)
    sys.stdout.flush()
    os._exit(0)  # skip bmtk's teardown (h5py objects released after MPI_Finalize)
""")


def _h5_spikes(path):
    """pop -> (node_ids, timestamps, size, gid_start) read with plain h5py."""
    out = {}
    with h5py.File(path, "r") as f:
        for p, g in f["spikes"].items():
            out[p] = (g["node_ids"][()], g["timestamps"][()], int(g.attrs["size"]),
                      int(g.attrs["gid_start"]))
    return out


@pytest.mark.parametrize("which", ["serial", "mpi2"])
def test_libsonata_reads_every_spike_population(outputs, which):
    if which not in outputs:
        pytest.skip("mpirun not found")
    path = str(outputs[which])
    ref = _h5_spikes(path)
    reader = libsonata.SpikeReader(path)
    assert sorted(reader.get_population_names()) == sorted(ref) == ["E", "I"]
    for name, (ids, ts, size, gid0) in ref.items():
        pop = reader[name]
        assert pop.sorting == "none"
        d = pop.get_dict()
        assert ids.size > 0
        np.testing.assert_array_equal(np.asarray(d["node_ids"], np.uint64), ids)
        np.testing.assert_array_equal(np.asarray(d["timestamps"]), ts)
        # SONATA: node ids are local to the population
        assert int(ids.max()) < size
        assert pop.times == (float(ts.min()), float(ts.max()))
        # a node selection returns exactly that neuron's spikes
        nid = int(ids[0])
        got = pop.get(node_ids=[nid])
        assert sorted(t for _, t in got) == sorted(ts[ids == nid].tolist())
    with h5py.File(path, "r") as f:
        g = f["spikes/E"]
        assert h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype) == \
            {"none": 0, "by_id": 1, "by_time": 2}


@pytest.mark.parametrize("which", ["serial", "mpi2"])
def test_libsonata_reads_every_report(outputs, which, tmp_path):
    """The report's SONATA mapping (node ids, index pointers, time) reads with libsonata.
    Its values are float64 (exact V_m) where libsonata 0.2.2 accepts only float32: with the
    values cast to float32 (nothing else changed), libsonata reads every frame as h5py does."""
    if which not in outputs:
        pytest.skip("mpirun not found")
    path = str(outputs[which])
    reader = libsonata.SomaReportReader(path)
    with h5py.File(path, "r") as f:
        names = sorted(f["report"])
        assert sorted(reader.get_population_names()) == names == ["E", "I"]
        for name in names:
            pop = reader[name]
            with pytest.raises(libsonata.SonataError, match="Float32"):
                pop.get()
    f32 = str(tmp_path / "f32.h5")
    shutil.copy(path, f32)
    with h5py.File(f32, "r+") as f:
        for g in f["report"].values():
            d = g["data"][()].astype(np.float32)
            units = g["data"].attrs["units"]
            del g["data"]
            g.create_dataset("data", data=d).attrs["units"] = units
    reader = libsonata.SomaReportReader(f32)
    with h5py.File(path, "r") as f:
        for name in names:
            g = f["report"][name]
            data, times = g["data"][()], g["times"][()]
            local = g["mapping/node_ids"][()]
            assert local.tolist() == [0, 1, 2, 3] and g.attrs["gid_start"] >= 0
            pop = reader[name]
            assert pop.data_units == "mV" and pop.time_units == "ms" and pop.sorted
            t0, t1, step = pop.times
            assert (t0, step) == pytest.approx((times[0], 0.1))
            assert t1 == pytest.approx(times[-1] + step)
            assert data.shape == (times.size, 4) and times.size == 600  # 60 ms after warm-up
            frame = pop.get()
            np.testing.assert_array_equal(np.asarray(frame.ids), local)
            np.testing.assert_allclose(np.asarray(frame.times), times, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(np.asarray(frame.data), data.astype(np.float32))
            sel = pop.get(node_ids=[2], tstart=times[100], tstop=times[199])
            np.testing.assert_array_equal(np.asarray(sel.data)[:, 0],
                                          data[100:200, 2].astype(np.float32))


def test_serial_and_two_rank_files_hold_the_same_spikes(outputs):
    if "mpi2" not in outputs:
        pytest.skip("mpirun not found")
    a, b = _h5_spikes(outputs["serial"]), _h5_spikes(outputs["mpi2"])
    for name in a:
        ka = np.lexsort((a[name][1], a[name][0]))
        kb = np.lexsort((b[name][1], b[name][0]))
        np.testing.assert_array_equal(a[name][0][ka], b[name][0][kb])
        np.testing.assert_array_equal(a[name][1][ka], b[name][1][kb])
        assert a[name][2:] == b[name][2:]
    with h5py.File(outputs["serial"], "r") as f:
        assert json.loads(f["meta"].attrs["spec_json"])["name"] == "brunel"


@pytest.mark.parametrize("which", ["serial", "mpi2"])
def test_bmtk_reads_every_spike_population(outputs, which, tmp_path):
    if which not in outputs:
        pytest.skip("mpirun not found")
    try:
        import bmtk  # noqa: F401
    except ImportError:
        pytest.skip("bmtk not installed")
    out = tmp_path / "bmtk.npz"
    r = subprocess.run([sys.executable, "-c", BMTK_READER, str(outputs[which]), str(out)],
                       capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    got = np.load(out)
    ref = _h5_spikes(outputs[which])
    assert sorted({k.split("/")[0] for k in got.files}) == sorted(ref) == ["E", "I"]
    for name, (ids, ts, size, _) in ref.items():
        # bmtk may reorder; compare as sorted (node_id, timestamp) pairs
        a = np.lexsort((ts, ids))
        b_ids, b_ts = got[name + "/node_ids"], got[name + "/timestamps"]
        b = np.lexsort((b_ts, b_ids))
        np.testing.assert_array_equal(b_ids[b].astype(np.uint64), ids[a])
        np.testing.assert_array_equal(b_ts[b], ts[a])
        assert int(b_ids.max()) < size and int(got[name + "/n_spikes"]) == ids.size
