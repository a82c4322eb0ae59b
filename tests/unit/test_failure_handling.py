"""One rank failing ends the whole mpirun job promptly, naming the rank and the error."""
import os
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent("""
    import os, sys, time
    import distsim.engine.simulation as S
    where = sys.argv[1]
    if where == "compiled":
        # rank 1's compiled loop gets a send buffer of one record from its 4th call on: the
        # check inside the compiled code raises there, while rank 0 waits in the exchange
        import distsim.engine.exchange as X
        orig = X.SpikeExchange.compiled
        calls = [0]
        def patched(self):
            h = orig(self)
            calls[0] += 1
            if self.rank == 1 and calls[0] > 3:
                if calls[0] == 4:
                    with open(os.environ["ARMED"], "w") as f:
                        f.write(repr(time.time()))
                h = h._replace(sendbuf=h.sendbuf[:4])
            return h
        X.SpikeExchange.compiled = patched
    elif where == "build":
        orig = S.Simulation._build_devices
        def patched(self):
            if self.rank == 1:
                raise RuntimeError("injected failure on rank 1 during build")
            return orig(self)
        S.Simulation._build_devices = patched
    else:
        os.environ["DISTSIM_LOOP"] = "python"  # the Python per-slice path
        orig = S.Simulation._slice
        def patched(self, t0, M):
            if self.rank == 1 and t0 >= 300:
                raise RuntimeError("injected failure on rank 1 at step %d" % t0)
            return orig(self, t0, M)
        S.Simulation._slice = patched
    from distsim.cli import main
    sys.exit(main(["run", "brunel", "--set", "order=100", "--t-sim", "100000", "-q"]))
""")


@pytest.mark.parametrize("where", ["build", "loop", "compiled"])
def test_exception_on_rank_1_aborts_job(tmp_path, where):
    """Also inside the compiled loop (issue 14): the exception raised in numba code on rank 1
    ends the job, naming the rank, within 10 s of that compiled call starting."""
    script = tmp_path / "fail.py"
    script.write_text(SCRIPT)
    armed = tmp_path / "armed"
    t0 = time.monotonic()
    p = subprocess.run(["mpirun", "-n", "2", sys.executable, str(script), where],
                       capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env=dict(os.environ, ARMED=str(armed)))
    elapsed = time.monotonic() - t0
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    if where == "compiled":
        elapsed = time.time() - float(armed.read_text())  # compiling the loop is not counted
        assert "rank 1 of 2 failed" in out and "more spike records than the send buffer" in out, out
    else:
        assert "rank 1 of 2 failed" in out and "injected failure on rank 1" in out, out
    assert elapsed < 10.0, f"took {elapsed:.1f} s"
