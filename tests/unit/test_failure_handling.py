"""One rank failing ends the whole mpirun job promptly, naming the rank and the error."""
import os
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent("""
    import sys
    import distsim.engine.simulation as S
    where = sys.argv[1]
    if where == "build":
        orig = S.Simulation._build_devices
        def patched(self):
            if self.rank == 1:
                raise RuntimeError("injected failure on rank 1 during build")
            return orig(self)
        S.Simulation._build_devices = patched
    else:
        orig = S.Simulation._slice
        def patched(self, t0, M):
            if self.rank == 1 and t0 >= 300:
                raise RuntimeError("injected failure on rank 1 at step %d" % t0)
            return orig(self, t0, M)
        S.Simulation._slice = patched
    from distsim.cli import main
    sys.exit(main(["run", "brunel", "--set", "order=100", "--t-sim", "100000", "-q"]))
""")


@pytest.mark.parametrize("where", ["build", "loop"])
def test_exception_on_rank_1_aborts_job(tmp_path, where):
    script = tmp_path / "fail.py"
    script.write_text(SCRIPT)
    t0 = time.monotonic()
    p = subprocess.run(["mpirun", "-n", "2", sys.executable, str(script), where],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    elapsed = time.monotonic() - t0
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert elapsed < 10.0, f"took {elapsed:.1f} s"
    assert "rank 1 of 2 failed" in out and "injected failure on rank 1" in out, out
