"""MPI test session: only rank 0 writes the JUnit report (path from DISTSIM_JUNIT)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
os.environ.setdefault("NUMBA_NUM_THREADS", "4")  # ranks x threads tests, before numba is imported


def pytest_configure(config):
    rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK") or "0"
    path = os.environ.get("DISTSIM_JUNIT")
    if path and rank == "0" and not config.option.xmlpath:
        config.option.xmlpath = path
