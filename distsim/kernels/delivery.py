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

    Arrival step by arrival step: every row is sorted by delay, so a cursor per spike walks
    its row while the arrival steps increase, and all additions of one step go into one ring
    row (n_local values, which stay in cache; spike-by-spike delivery touched a different
    row per delay and missed the cache at full scale). For a given (step, target) the
    additions still come in (stamp, gid) order, so sums do not depend on the number of ranks.
    Returns the number of synaptic events delivered (int64).
    """
    n = order.shape[0]
    cur = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    base = np.empty(n, dtype=np.int64)
    m = np.empty(n, dtype=np.int64)
    first = np.int64(2 ** 62)
    last = np.int64(-1)
    n_events = 0
    for qq in range(n):
        q = order[qq]
        g = gid[q]
        a = row_ptr[g]
        b = row_ptr[g + 1]
        cur[qq] = a
        end[qq] = b
        base[qq] = stamp[q] - 1
        m[qq] = mult[q]
        n_events += b - a
        if b > a:
            first = min(first, base[qq] + d[a])
            last = max(last, base[qq] + d[b - 1])
    for arr in range(first, last + 1):
        slot = arr % R
        rex = ring_ex[slot]
        rin = ring_in[slot]
        for qq in range(n):
            k = cur[qq]
            e = end[qq]
            dd = arr - base[qq]
            if k >= e or d[k] != dd:
                continue
            mq = m[qq]
            while k < e and d[k] == dd:
                v = w[k] * mq if mq != 1 else np.float64(w[k])
                if v >= 0.0:
                    rex[tgt[k]] += v
                else:
                    rin[tgt[k]] += v
                k += 1
            cur[qq] = k
    return n_events
