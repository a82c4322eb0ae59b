"""Run PyNN 0.13.0's own scenario tests (``test/system/scenarios`` of its source
distribution, fetched with pip into a cache, never copied into this repository) with
``sim = distsim.pynn``, every scenario PyNN enables for NEST, and print the count:

    .venv/bin/python scripts/pynn_scenarios.py                    # serially
    mpirun -n 2 .venv/bin/python -m mpi4py scripts/pynn_scenarios.py   # on 2 ranks

Extra arguments go to pytest (e.g. ``-k scenario1``, ``-x``). The last line (rank 0) is
``pynn scenarios: P passed, F failed, S skipped of N (ranks R)``.
"""
import glob
import os
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "0.13.0"


def sdist_dir():
    """The unpacked sdist (fetched on first use; rank 0 fetches, the others wait)."""
    base = os.environ.get("DISTSIM_PYNN_SDIST",
                          os.path.join(os.path.expanduser("~"), ".cache", "distsim", f"pynn-{VERSION}-sdist"))
    src = os.path.join(base, f"pynn-{VERSION}")
    from distsim.comm import get_comm
    comm = get_comm()
    if comm.rank == 0 and not os.path.isdir(os.path.join(src, "test", "system", "scenarios")):
        os.makedirs(base, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", f"PyNN=={VERSION}", "--no-deps",
                        "--no-binary", ":all:", "-d", base, "-q"], check=True)
        tgz = glob.glob(os.path.join(base, "*.tar.gz"))[0]
        with tarfile.open(tgz) as t:
            t.extractall(base, filter="data")
    comm.barrier()
    return os.path.join(src, "test", "system", "scenarios")


class _Count:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.outcome == "passed":
                self.passed += 1
            elif report.outcome == "skipped":
                self.skipped += 1
            else:
                self.failed += 1


def main(argv):
    import pytest
    from distsim.comm import get_comm
    scen = sdist_dir()
    sys.path.insert(0, HERE)
    count = _Count()
    comm = get_comm()
    args = [scen, "-p", "pynn_scenarios_plugin", "-p", "no:cacheprovider", "-q", "--rootdir", os.path.dirname(scen),
            "-o", "python_files=test_*.py"] + argv
    work = os.path.abspath(os.path.join(scen, "..", "..", "..", "..", "run"))  # beside the sdist, not here
    os.makedirs(work, exist_ok=True)
    os.chdir(work)  # PyNN's scenarios write Results/ into the working directory
    out = sys.stdout
    if comm.rank != 0:  # one report: the other ranks run the same tests quietly
        sys.stdout = open(os.devnull, "w")
    try:
        pytest.main(args, plugins=[count])
    finally:
        sys.stdout = out
    total = count.passed + count.failed + count.skipped
    if comm.rank == 0:
        print(f"pynn scenarios: {count.passed} passed, {count.failed} failed, {count.skipped} skipped of {total} "
              f"(ranks {comm.size})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
