"""Run PyNN 0.13.0's own scenario tests (``test/system/scenarios`` of its source
distribution, fetched with pip into a cache, never copied into this repository) with
``sim = distsim.pynn``, every scenario PyNN enables for NEST, and print the count:

    .venv/bin/python scripts/pynn_scenarios.py                    # serially
    mpirun -n 2 .venv/bin/python -m mpi4py scripts/pynn_scenarios.py   # on 2 ranks

Extra arguments go to pytest (e.g. ``-k scenario1``, ``-x``). The last line (rank 0) is
``pynn scenarios: P passed, F failed, S skipped of N (ranks R)``; under MPI a scenario
passes only if it passed on every rank (the lines before name the ranks where one failed).
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
    """Counts outcomes agreed by every rank: a scenario passes when it passed on every rank
    (one allgather per scenario, after its last phase, on every rank)."""

    def __init__(self, comm):
        self.comm = comm
        self.passed = self.failed = self.skipped = 0
        self.failed_on = []  # (test id, ranks where it failed)
        self._outcome = None

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self._outcome = report.outcome
        elif report.when == "teardown" and report.outcome == "failed":
            self._outcome = "failed"

    def pytest_runtest_logfinish(self, nodeid, location):
        outcomes = self.comm.allgather(self._outcome or "failed")
        self._outcome = None
        if any(o == "failed" for o in outcomes):
            self.failed += 1
            self.failed_on.append((nodeid, [r for r, o in enumerate(outcomes) if o == "failed"]))
        elif all(o == "skipped" for o in outcomes):
            self.skipped += 1
        else:
            self.passed += 1


def main(argv):
    import pytest
    from distsim.comm import get_comm
    scen = sdist_dir()
    sys.path.insert(0, HERE)
    comm = get_comm()
    count = _Count(comm)
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
        for nodeid, ranks in count.failed_on:
            if comm.size > 1:
                print(f"failed on rank(s) {ranks}: {nodeid}", flush=True)
        print(f"pynn scenarios: {count.passed} passed, {count.failed} failed, {count.skipped} skipped of {total} "
              f"(ranks {comm.size})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
