"""scripts/api_example.py (the README's Python API example) runs, serially and on 2 ranks
with the same output, and its HDF5 file holds what it gathered."""
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "api_example.py")


def _run(n, *args):
    cmd = ([sys.executable] if n == 1 else ["mpirun", "-n", str(n), sys.executable, "-m", "mpi4py"])
    r = subprocess.run(cmd + [SCRIPT, *args], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1, r.stdout  # rank 0 prints, once
    return json.loads(lines[0])


def test_api_example_serial_and_two_ranks_agree(tmp_path):
    from distsim.recording.hdf5 import read_spikes
    out = tmp_path / "example.h5"
    a = _run(1, "--out", str(out))
    b = _run(2)
    assert a.pop("n_ranks") == 1 and b.pop("n_ranks") == 2
    assert a == b
    # raising I_e raised the E rate; the spike source repeats its train one step later
    assert a["rates_after"]["E"] > 2 * a["rates_before"]["E"] > 0
    assert a["source_train_ms"] == (np.array([501, 501, 1201]) * 0.1).tolist()
    assert a["t_ms"] == 200.0
    spikes = read_spikes(str(out))
    assert sum(spikes[p][0].size for p in spikes) == a["n_spikes"]
