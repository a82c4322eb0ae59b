"""Round-robin placement of neurons on ranks: ``rank = gid % n_ranks``.

Pure functions, the same on every rank. A neuron's local index on its rank is
``gid // n_ranks``; the local neurons of any contiguous gid range are a contiguous range of
local indices.
"""
import numpy as np


def rank_of(gid, n_ranks):
    """Rank (int or int array) that owns neuron ``gid``."""
    return gid % n_ranks


def local_index(gid, n_ranks):
    """Index of ``gid`` among the local neurons of its rank."""
    return gid // n_ranks


def n_local(n_total, rank, n_ranks):
    """Number of the first ``n_total`` gids that live on ``rank``."""
    return max(0, (n_total - rank + n_ranks - 1) // n_ranks)


def local_gids(lo, hi, rank, n_ranks):
    """int64 array of the gids in [lo, hi) that live on ``rank``, increasing."""
    first = lo + ((rank - lo) % n_ranks)
    return np.arange(first, hi, n_ranks, dtype=np.int64)


def local_range(lo, hi, rank, n_ranks):
    """(first, stop) local indices on ``rank`` of the gids in [lo, hi)."""
    g = local_gids(lo, hi, rank, n_ranks)
    if g.size == 0:
        start = local_index(lo + ((rank - lo) % n_ranks), n_ranks)
        return start, start
    return int(g[0] // n_ranks), int(g[-1] // n_ranks) + 1
