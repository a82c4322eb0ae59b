"""numba threads of one rank: how many, and the check that they can be had.

The count comes from ``distsim run --threads T``, else the environment (``DISTSIM_THREADS``),
else 1. One thread runs the plain kernels and never starts numba's thread pool; T > 1 runs
the ``*_threads`` / ``*_parts`` kernels (``parallel=True``) on T numba threads. numba starts
at most ``NUMBA_NUM_THREADS`` threads, fixed when numba is imported (default: the CPUs this
process may use; ``distsim/__init__`` raises it to ``DISTSIM_THREADS`` when that is larger).
The threading layer is numba's choice (tbb, else omp, else workqueue).
"""
import os

ENV = "DISTSIM_THREADS"


def default_threads(environ=None):
    """The thread count of ``DISTSIM_THREADS`` (1 when unset); raises ValueError when it is
    not an integer >= 1."""
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not raw:
        return 1
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV}={raw!r} must be an integer >= 1")
    return n


def max_threads():
    """The most threads numba can run in this process (``numba.config.NUMBA_NUM_THREADS``)."""
    from numba import config
    return int(config.NUMBA_NUM_THREADS)


def use_threads(T):
    """Make numba's parallel kernels called from this (Python) thread run on T threads
    (numba's setting is per calling thread). T = 1 leaves numba's pool unstarted."""
    if T > 1:
        import numba
        numba.set_num_threads(T)


def threading_layer():
    """The numba threading layer in use ('tbb', 'omp', 'workqueue'), or None before any
    parallel kernel ran."""
    import numba
    try:
        return numba.threading_layer()
    except ValueError:
        return None
