"""Never exit 0 with wrong data around output files and checkpoints (issue 13, items 1, 2, 5,
13, 14): a resumed run only continues its own output file, two runs never share an output
file, a corrupted checkpoint is refused, bad output settings fail before the build, and a
failed checkpoint write leaves no temporary file."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = ["brunel", "--set", "order=50", "--set", "voltmeter=2"]
BUILT = "built in"  # printed on rank 0 right after the build (without -q)


def distsim(args, n=1, timeout=300, **kw):
    """Run ``distsim run ARGS`` (serial, or under mpirun with n ranks); CompletedProcess."""
    cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
    return subprocess.run(cmd + ["-m", "distsim", "run"] + args, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def copy_run(src, dst):
    """Copy an output file and its checkpoint to ``dst`` (and ``dst``.ckpt)."""
    shutil.copyfile(src, dst)
    if os.path.exists(f"{src}.ckpt"):
        shutil.copyfile(f"{src}.ckpt", f"{dst}.ckpt")
    return dst


def refused(p, *words):
    """True when a run ended with exit 2, a named error, no traceback, and every word in it."""
    return (p.returncode == 2 and "distsim: error:" in p.stderr and "Traceback" not in p.stderr
            and all(w in p.stderr for w in words))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A checkpointed run ("base": seed 1, checkpoint at 20 ms of 40 recorded), the same model
    with another seed, and another model; each output file with its checkpoint."""
    d = tmp_path_factory.mktemp("runs")
    out = {}
    for name, args in (("base", MODEL + ["--seed", "1"]), ("seed2", MODEL + ["--seed", "2"]),
                       ("other", ["brunel", "--set", "order=40", "--seed", "1"])):
        path = str(d / f"{name}.h5")
        p = distsim(args + ["--t-sim", "40", "--checkpoint-every", "20", "-q", "-o", path])
        assert p.returncode == 0, p.stderr
        assert os.path.exists(path + ".ckpt")
        out[name] = path
    return out


# ---------------------------------------------------------------- item 1: run identity
def test_output_and_checkpoint_carry_the_same_run_identity(runs):
    from distsim.engine.checkpoint import read_checked

    ids = set()
    for path in runs.values():
        head = read_checked(path + ".ckpt")
        with h5py.File(path, "r") as f:
            m = f["meta"].attrs
            assert m["run_id"] == head["run_id"] and len(head["run_id"]) == 32
            assert m["spec_sha256"] == head["spec_sha256"] and int(m["seed"]) == head["seed"]
        ids.add(head["run_id"])
    assert len(ids) == len(runs)  # every run its own id, also with the same spec and seed


@pytest.mark.parametrize("foreign,n", [("seed2", 1), ("other", 2)])
def test_resume_refuses_the_output_of_another_run(runs, tmp_path, foreign, n):
    """Another model's (or another seed's) file beside this run's checkpoint; under mpirun
    every rank gets the error (exit 2, no hang)."""
    out = copy_run(runs["base"], str(tmp_path / "x.h5"))
    shutil.copyfile(runs[foreign], out)
    before = open(out, "rb").read()
    p = distsim(["--resume", out, "--t-sim", "60"], n=n, timeout=120)
    assert refused(p, "--resume", "belongs to run", "refusing to mix"), p.stderr
    assert BUILT not in p.stderr  # refused before the build
    assert open(out, "rb").read() == before  # and the file is untouched


def test_resume_refuses_a_trimmed_output(runs, tmp_path):
    """Shorter than the checkpoint's positions: used to be padded with spikes (gid 0, t = 0)."""
    out = copy_run(runs["base"], str(tmp_path / "t.h5"))
    with h5py.File(out, "r+") as f:
        ids, ts = f["spikes/E/node_ids"], f["spikes/E/timestamps"]
        n = ids.shape[0]
        assert n > 10
        ids.resize((n // 3,))
        ts.resize((n // 3,))
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, "/spikes/E/node_ids", "fewer than", "trimmed"), p.stderr
    assert BUILT not in p.stderr
    with h5py.File(out, "r") as f:
        assert f["spikes/E/node_ids"].shape[0] == n // 3


def test_resume_refuses_an_older_copy_of_its_own_output(tmp_path):
    """The run's own file, but a copy saved before the checkpoint was taken."""
    out = str(tmp_path / "own.h5")
    p = distsim(MODEL + ["--seed", "1", "--t-sim", "20", "--checkpoint-every", "10", "-q", "-o", out])
    assert p.returncode == 0, p.stderr
    older = open(out, "rb").read()
    p = distsim(["--resume", out, "--t-sim", "40", "--checkpoint-every", "10", "-q"])
    assert p.returncode == 0, p.stderr
    open(out, "wb").write(older)
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, "--resume", "fewer than", "older than the checkpoint"), p.stderr
    assert BUILT not in p.stderr and open(out, "rb").read() == older


def test_resume_refuses_an_output_that_lacks_a_population(runs, tmp_path):
    """Used to end in a KeyError traceback after the build (item 13)."""
    out = copy_run(runs["base"], str(tmp_path / "l.h5"))
    with h5py.File(out, "r+") as f:
        del f["spikes/I"]
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, "lacks /spikes/I/node_ids", "population I"), p.stderr
    assert BUILT not in p.stderr


def test_overwrite_removes_the_stale_checkpoint(runs, tmp_path):
    """The common case: a checkpoint left beside a file later replaced with --overwrite."""
    out = copy_run(runs["base"], str(tmp_path / "o.h5"))
    p = distsim(MODEL + ["--seed", "2", "--t-sim", "30", "-q", "-o", out, "--overwrite"])
    assert p.returncode == 0, p.stderr
    assert not os.path.exists(out + ".ckpt")
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, "has no checkpoint"), p.stderr
    with h5py.File(out, "r") as f:
        assert int(f["meta"].attrs["seed"]) == 2 and f["meta"].attrs["t_flushed_ms"] == 30.0


def test_a_checkpoint_without_its_output_is_not_replaced_silently(runs, tmp_path):
    out = copy_run(runs["base"], str(tmp_path / "c.h5"))
    os.unlink(out)
    p = distsim(MODEL + ["--t-sim", "10", "-q", "-o", out])
    assert refused(p, "-o", ".ckpt", "--resume", "--overwrite"), p.stderr
    assert not os.path.exists(out)


def test_resume_continues_its_own_output(runs, tmp_path):
    """The checks refuse nothing legitimate: resume with the same model, --set, seed and -o."""
    out = copy_run(runs["base"], str(tmp_path / "ok.h5"))
    p = distsim(["--resume", out, "-o", out, "--seed", "1", "--t-sim", "60", "-q"] + MODEL)
    assert p.returncode == 0, p.stderr
    ref = str(tmp_path / "ref.h5")
    p = distsim(MODEL + ["--seed", "1", "--t-sim", "60", "-q", "-o", ref])
    assert p.returncode == 0, p.stderr
    from distsim.recording.hdf5 import read_spikes
    a, b = read_spikes(out), read_spikes(ref)
    for pop in ("E", "I"):
        oa, ob = np.lexsort(a[pop][::-1]), np.lexsort(b[pop][::-1])
        assert a[pop][0].size > 0
        assert np.array_equal(a[pop][0][oa], b[pop][0][ob]) and np.array_equal(a[pop][1][oa], b[pop][1][ob])


# ---------------------------------------------------------------- item 14: --resume arguments
@pytest.mark.parametrize("extra,words", [
    (["--seed", "3"], ["--seed", "differs from the seed 1"]),
    (["-o", "OTHER"], ["-o", "differs from --resume"]),
    (["--overwrite"], ["--overwrite", "cannot be combined with --resume"]),
    (["--set", "order=60"], ["--set", "needs the model"]),
    (["brunel", "--set", "order=60", "--set", "voltmeter=2"], ["model", "not the network of the checkpoint"]),
    (["--t-presim", "5"], ["--t-presim", "differs"]),
])
def test_resume_refuses_arguments_it_would_ignore(runs, tmp_path, extra, words):
    out = copy_run(runs["base"], str(tmp_path / "a.h5"))
    extra = [str(tmp_path / "other.h5") if a == "OTHER" else a for a in extra]
    before = open(out, "rb").read()
    p = distsim(["--resume", out, "--t-sim", "60"] + extra)
    assert refused(p, *words), p.stderr
    assert BUILT not in p.stderr
    assert open(out, "rb").read() == before and not os.path.exists(out + ".lock")


# ---------------------------------------------------------------- item 5: checkpoint checksums
def _flip_dataset_bytes(path, name):
    """Flip bytes in the middle of a dataset's raw data in the file (not through HDF5)."""
    with h5py.File(path, "r") as f:
        ds = f[name]
        if ds.chunks is not None:
            info = ds.id.get_chunk_info(0)
            offset, size = info.byte_offset, info.size
        else:
            offset, size = ds.id.get_offset(), ds.id.get_storage_size()
    assert size >= 16
    with open(path, "r+b") as fh:
        fh.seek(offset + size // 2)
        b = bytearray(fh.read(4))
        fh.seek(offset + size // 2)
        fh.write(bytes(x ^ 0x5A for x in b))


def test_corrupted_checkpoint_data_is_refused(runs, tmp_path):
    out = copy_run(runs["base"], str(tmp_path / "k.h5"))
    _flip_dataset_bytes(out + ".ckpt", "state/E/V")
    with h5py.File(out + ".ckpt", "r") as f:  # the header is intact
        assert int(f.attrs["step"]) > 0
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, "--resume", out + ".ckpt", "/state/E/V", "corrupt"), p.stderr
    assert BUILT not in p.stderr


def test_altered_checkpoint_header_is_refused(runs, tmp_path):
    out = copy_run(runs["base"], str(tmp_path / "h.h5"))
    with h5py.File(out + ".ckpt", "r+") as f:
        f.attrs["step"] = int(f.attrs["step"]) + 10
    p = distsim(["--resume", out, "--t-sim", "60"])
    assert refused(p, out + ".ckpt", "header is corrupt"), p.stderr


def test_checkpoint_datasets_carry_fletcher32(runs):
    with h5py.File(runs["base"] + ".ckpt", "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert "state/E/V" in names and "pending/single/gid" in names
        assert all(f[n].fletcher32 for n in names)


# ---------------------------------------------------------------- item 14: no .tmp left
def test_failed_checkpoint_write_leaves_no_tmp_and_keeps_the_previous(tmp_path, monkeypatch):
    from distsim.comm import SerialComm
    from distsim.engine import Simulation, checkpoint
    from distsim.networks.brunel import brunel

    sim = Simulation(brunel(order=20), seed=1, comm=SerialComm())
    sim.run(5.0)
    path = str(tmp_path / "r.h5.ckpt")
    checkpoint.save(sim, path)
    sim.run(5.0)
    calls = []
    orig = h5py.Group.create_dataset

    def failing(self, *a, **kw):
        calls.append(a[0])
        if len(calls) == 3:
            raise OSError(28, "No space left on device (injected)")
        return orig(self, *a, **kw)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(sim, path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert not os.path.exists(path + ".tmp")
    assert checkpoint.read_checked(path)["step"] == 50  # the previous checkpoint, intact


# ---------------------------------------------------------------- item 13: bad output settings
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_bad_flush_interval_fails_before_the_build(tmp_path, value):
    p = distsim(MODEL + ["--t-sim", "10", "-o", str(tmp_path / "f.h5"), f"--flush-interval={value}"])
    assert refused(p, "--flush-interval", "must be a finite number > 0"), p.stderr
    assert BUILT not in p.stderr and not os.path.exists(tmp_path / "f.h5")


def test_output_naming_a_directory_fails_before_the_build(tmp_path):
    for args in (["-o", str(tmp_path)], ["-o", str(tmp_path), "--overwrite"], ["-o", str(tmp_path) + "/"]):
        p = distsim(MODEL + ["--t-sim", "10"] + args)
        assert refused(p, "-o", "is a directory"), p.stderr
        assert BUILT not in p.stderr
    assert os.listdir(tmp_path) == []


def _read_only_folder(tmp_path):
    """A folder this process cannot write into (chmod 555; root writes anyway, so /sys)."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        (d / "probe").write_text("x")
    except OSError:
        return str(d)
    (d / "probe").unlink()
    return "/sys"


def test_read_only_output_folder_fails_before_the_build(tmp_path):
    folder = _read_only_folder(tmp_path)
    p = distsim(MODEL + ["--t-sim", "10", "-o", os.path.join(folder, "out.h5")])
    assert refused(p, "-o", folder), p.stderr
    assert BUILT not in p.stderr


# ---------------------------------------------------------------- item 2: one run per output
LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from distsim.comm import SerialComm
    from distsim.recording.lock import acquire_output_lock
    lock = acquire_output_lock(sys.argv[1], "holder-run", SerialComm())
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def _start_long_run(out, n=1):
    cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
    proc = subprocess.Popen(cmd + ["-m", "distsim", "run"] + MODEL + ["--t-sim", "1000000", "-o", out],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(out):  # recording has begun
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    return proc


def test_second_run_on_the_same_output_is_refused(tmp_path):
    """Two real processes (the first under mpirun with 2 ranks): the second is refused at
    start-up, naming the first; the first's file is untouched and its lock goes with it."""
    out = str(tmp_path / "shared.h5")
    first = _start_long_run(out, n=2)
    try:
        for extra in (["--overwrite"], []):
            p = distsim(MODEL + ["--seed", "2", "--t-sim", "10", "-o", out] + extra)
            assert refused(p, "-o", "is in use by run"), p.stderr
            assert BUILT not in p.stderr
        holder = json.loads(open(out + ".lock").read())
        assert holder["host"] == socket.gethostname()
        assert f"pid {holder['pid']}" in p.stderr and holder["run_id"] in p.stderr
        p = distsim(["--resume", out, "--t-sim", "10"])
        assert refused(p, "--resume", "is in use by run"), p.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    # ranks exit 143 after MPI_Finalize; hydra's mpirun reports 0 for processes it reaps after
    # forwarding a signal (i13-signals, see tests/unit/test_signals.py), never a crash code
    assert first.returncode in (143, 0) and "stopped by SIGTERM" in err, err
    assert not os.path.exists(out + ".lock")  # released at the SIGTERM exit (143)
    with h5py.File(out, "r") as f:
        assert int(f["meta"].attrs["seed"]) == 12345  # the first run's data only
        assert f["meta"].attrs["run_id"] == holder["run_id"]


def test_lock_is_released_at_every_exit(runs, tmp_path):
    """Normal exit and a named error after the build here; SIGTERM (143) in the test above."""
    out = copy_run(runs["base"], str(tmp_path / "rel.h5"))
    p = distsim(["--resume", out, "--t-sim", "10"])  # SpecError after the build
    assert refused(p, "--t-sim", "already at") and BUILT in p.stderr, p.stderr
    assert not os.path.exists(out + ".lock")
    p = distsim(["--resume", out, "--t-sim", "50", "-q"])  # normal exit
    assert p.returncode == 0 and not os.path.exists(out + ".lock"), p.stderr
    script = tmp_path / "boom.py"  # an exception in the loop
    script.write_text(textwrap.dedent("""
        import sys
        import distsim.engine.simulation as S
        def boom(self, t0, M):
            raise RuntimeError("injected failure")
        S.Simulation._slice = boom
        from distsim.cli import main
        sys.exit(main(sys.argv[1:]))
    """))
    # the failure is injected into the Python slice path (the compiled loop does not call _slice)
    p = subprocess.run([sys.executable, str(script), "run"] + MODEL + ["--t-sim", "10", "-o", out, "--overwrite"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env=dict(os.environ, DISTSIM_LOOP="python"))
    assert p.returncode == 1 and "injected failure" in p.stderr, p.stderr
    assert not os.path.exists(out + ".lock")


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = str(tmp_path / "stale.h5")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(out + ".lock", "w") as f:
        json.dump({"pid": dead.pid, "host": socket.gethostname(), "run_id": "gone", "started": "?"}, f)
    p = distsim(MODEL + ["--t-sim", "10", "-q", "-o", out])
    assert p.returncode == 0, p.stderr
    assert "took over the stale lock" in p.stderr and f"pid {dead.pid}" in p.stderr, p.stderr
    assert not os.path.exists(out + ".lock")


def test_lock_of_a_live_process_or_another_host_is_respected(tmp_path):
    out = str(tmp_path / "held.h5")
    # a live holder (a process that holds the lock for 60 s)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, out, "60"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        p = distsim(MODEL + ["--t-sim", "10", "-o", out])
        assert refused(p, "is in use by run holder-run", f"pid {holder.pid}"), p.stderr
    finally:
        holder.kill()
        holder.wait()
    # killed (SIGKILL: no clean-up): its lock is stale now and may be taken over
    assert os.path.exists(out + ".lock")
    p = distsim(MODEL + ["--t-sim", "10", "-q", "-o", out])
    assert p.returncode == 0 and "took over the stale lock" in p.stderr, p.stderr
    # a lock file of a live process of this host that holds no flock (pid reused, or a file
    # system without flock): refused, it may still be a run
    with open(out + ".lock", "w") as f:
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "run_id": "near", "started": "?"}, f)
    p = distsim(MODEL + ["--t-sim", "10", "-o", out, "--overwrite"])
    assert refused(p, "locked by run near", "still running"), p.stderr
    # a lock written on another host cannot be checked from here: refused
    with open(out + ".lock", "w") as f:
        json.dump({"pid": 1, "host": "elsewhere.example", "run_id": "far", "started": "?"}, f)
    p = distsim(MODEL + ["--t-sim", "10", "-o", out, "--overwrite"])
    assert refused(p, "locked by run far", "host elsewhere.example"), p.stderr


def test_a_run_aborted_by_another_rank_never_blocks_the_next(tmp_path):
    """An exception on rank 1 aborts the job (MPI_Abort kills rank 0, the holder, before it
    can clean up): its lock is then stale, and the next run takes it over."""
    out = str(tmp_path / "abort.h5")
    script = tmp_path / "fail1.py"
    script.write_text(textwrap.dedent("""
        import sys
        import distsim.engine.simulation as S
        orig = S.Simulation._slice
        def patched(self, t0, M):
            if self.rank == 1 and t0 >= 100:
                raise RuntimeError("injected failure on rank 1")
            return orig(self, t0, M)
        S.Simulation._slice = patched
        from distsim.cli import main
        sys.exit(main(sys.argv[1:]))
    """))
    p = subprocess.run(["mpirun", "-n", "2", sys.executable, "-m", "mpi4py", str(script), "run"] + MODEL
                       + ["--t-sim", "100000", "-q", "-o", out], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env=dict(os.environ, DISTSIM_LOOP="python"))  # _slice is patched
    assert p.returncode != 0 and "injected failure on rank 1" in p.stderr, p.stderr
    left = os.path.exists(out + ".lock")
    p = distsim(MODEL + ["--t-sim", "10", "-q", "-o", out, "--overwrite"])
    assert p.returncode == 0, p.stderr
    assert ("took over the stale lock" in p.stderr) == left, p.stderr
    assert not os.path.exists(out + ".lock")


def test_resume_from_a_warm_up_checkpoint(runs, tmp_path):
    """A checkpoint taken during --t-presim (nothing recorded yet): the resumed run rewrites
    its own output from the start, but refuses to replace another run's file."""
    out = str(tmp_path / "w.h5")
    args = MODEL + ["--seed", "1", "--t-presim", "30", "-q"]
    p = distsim(args + ["--t-sim", "10", "--checkpoint-every", "25", "-o", out])
    assert p.returncode == 0, p.stderr
    from distsim.engine.checkpoint import read_checked
    assert read_checked(out + ".ckpt")["positions"] is None
    foreign = copy_run(out, str(tmp_path / "f.h5"))
    shutil.copyfile(runs["seed2"], foreign)
    p = distsim(["--resume", foreign, "--t-sim", "20"])
    assert refused(p, "--resume", "not written by the run of"), p.stderr
    p = distsim(["--resume", out, "--t-sim", "20", "-q"])
    assert p.returncode == 0, p.stderr
    ref = str(tmp_path / "ref.h5")
    p = distsim(args + ["--t-sim", "20", "-o", ref])
    assert p.returncode == 0, p.stderr
    from distsim.recording.hdf5 import read_spikes
    a, b = read_spikes(out), read_spikes(ref)
    assert sum(a[pop][0].size for pop in a) > 0
    for pop in a:
        assert np.array_equal(np.sort(a[pop][0] * 1e6 + a[pop][1]), np.sort(b[pop][0] * 1e6 + b[pop][1]))
