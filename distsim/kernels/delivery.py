"""Spike delivery into ring buffers (pure numba)."""
import numpy as np
from numba import njit


@njit(cache=True)
def sort_spikes(gid, stamp, n_gids):
    """Order (int64 indices) that sorts spikes by (stamp, gid): the delivery order, which is
    the same for any number of ranks, so floating-point sums per target are too."""
    keys = stamp * np.int64(n_gids) + gid
    return np.argsort(keys, kind="mergesort")


@njit(cache=True)
def deliver(gid, stamp, mult, order, row_ptr, tgt, w, d, ring_ex, ring_in, R):
    """Add every synapse of every received spike to the ring buffers.

    Spike q (source ``gid[q]``, stamp ``stamp[q]`` steps, multiplicity ``mult[q]``) reaches
    target ``tgt[k]`` in step ``stamp - 1 + d[k]``; weight >= 0 goes to ring_ex, < 0 to ring_in.
    Returns the number of synaptic events delivered (int64).
    """
    n_events = 0
    for qq in range(order.shape[0]):
        q = order[qq]
        g = gid[q]
        base = (stamp[q] - 1) % R  # one modulo per spike; delays are < R
        m = mult[q]
        a = row_ptr[g]
        b = row_ptr[g + 1]
        n_events += b - a
        for k in range(a, b):
            slot = base + d[k]
            if slot >= R:
                slot -= R
            v = w[k] * m if m != 1 else np.float64(w[k])
            if v >= 0.0:
                ring_ex[slot, tgt[k]] += v
            else:
                ring_in[slot, tgt[k]] += v
    return n_events
