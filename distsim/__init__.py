"""distsim: a distributed spiking neural network simulator.

Neurons are placed round-robin on MPI ranks, updated by numba kernels, and exchange spikes
with Alltoallv every min-delay interval; results are bit-identical for any number of ranks.
"""
import os as _os

__version__ = "0.1.0"


def _numba_cache_setup():
    """Choose the numba cache directory before numba is imported.

    Ranks compiling into one shared cache at once corrupt it (seen here: wrong numbers, or
    "can't unbox array"). So a serial process uses ``~/.cache/distsim/numba/shared`` (which
    ``distsim warm`` fills during set-up), and under MPI every rank gets its own directory,
    seeded with a copy of the warm shared cache so that no rank compiles.
    """
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    base = _os.environ.get("DISTSIM_CACHE_DIR",
                           _os.path.join(_os.path.expanduser("~"), ".cache", "distsim", "numba"))
    shared = _os.path.join(base, "shared")
    rank = size = None
    for rv, sv in (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                   ("PMIX_RANK", "PMIX_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rv in _os.environ:
            rank, size = _os.environ[rv], _os.environ.get(sv, "2")
            break
    if rank is None or size == "1":
        _os.environ["NUMBA_CACHE_DIR"] = shared
        return
    mine = _os.path.join(base, f"rank{rank}")
    if _os.path.isdir(shared):
        # a fresh, complete copy: merging file by file pairs one writer's index with another
        # writer's code files, and numba then reloads a wrong entry on every call
        import shutil
        try:
            shutil.rmtree(mine, ignore_errors=True)
            shutil.copytree(shared, mine)
        except OSError:
            pass  # a cold cache only costs compile time
    _os.environ["NUMBA_CACHE_DIR"] = mine


_numba_cache_setup()
